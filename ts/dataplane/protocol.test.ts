import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { COUNTERS, camel, cNames, nameOf, SSTATE } from "./protocol.js";

/**
 * Every numeric constant of dataplane/control.h: `#define PFS_X 123u` and
 * `PFS_X = 123,` enum members (hex or decimal).
 */
function cConstants(): Map<string, number> {
  const header = readFileSync(
    fileURLToPath(new URL("../../dataplane/control.h", import.meta.url)),
    "utf8",
  );
  const out = new Map<string, number>();
  for (const m of header.matchAll(/^#define\s+(PFS_[A-Z0-9_]+)\s+(0x[0-9a-fA-F]+|\d+)u?\b/gm)) {
    out.set(m[1] as string, Number(m[2]));
  }
  for (const m of header.matchAll(/^\s*(PFS_[A-Z0-9_]+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,/gm)) {
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe("mirror of dataplane/control.h", () => {
  const c = cConstants();
  const ts = cNames();

  it("finds the constants in the header", () => {
    expect(c.size).toBeGreaterThan(80);
    expect(c.get("PFS_MSG_ADD_SESSION")).toBe(1);
  });

  it("has every C constant with the same value", () => {
    for (const [name, value] of c) {
      expect(ts.has(name), `${name} missing from ts/dataplane/protocol.ts`).toBe(true);
      expect(ts.get(name), name).toBe(value);
    }
  });

  it("has no constant the header does not define", () => {
    for (const [name, value] of ts) expect(c.get(name), name).toBe(value);
  });
});

describe("names", () => {
  it("turns counter names into camelCase", () => {
    expect(camel("PACKETS_SENT")).toBe("packetsSent");
    expect(camel("SRTT_NS")).toBe("srttNs");
    expect(COUNTERS.map(camel)).toContain("pointerCheckFailures");
  });

  it("names values of a group in lower case", () => {
    expect(nameOf(SSTATE, 2)).toBe("up");
    expect(nameOf(SSTATE, 99)).toBeUndefined();
  });
});
