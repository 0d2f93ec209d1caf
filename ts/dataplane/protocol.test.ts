import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import {
  COUNTERS,
  ETH_VERDICT_NAMES,
  SSTATE,
  XDP_REASON,
  XDP_REASON_NAMES,
  camel,
  cNames,
  codeName,
  nameOf,
} from "./protocol.js";

function source(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8");
}

/**
 * Every numeric constant of dataplane/control.h: `#define PFS_X 123u` and
 * `PFS_X = 123,` enum members (hex or decimal).
 */
function cConstants(): Map<string, number> {
  const header = source("dataplane/control.h");
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

/**
 * The members of `enum name { ... }` in C source, in order, with their values
 * as the compiler gives them (an explicit `= N`, else one more than the last).
 */
function cEnum(text: string, name: string): Map<string, number> {
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(text)?.[1];
  if (body === undefined) throw new Error(`enum ${name} not found`);
  const out = new Map<string, number>();
  let next = 0;
  const bare = body.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  for (const item of bare.split(",")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s*(?:=\s*(0x[0-9a-fA-F]+|\d+))?\s*$/.exec(item);
    if (m === null) {
      if (item.trim() !== "") throw new Error(`enum ${name}: cannot read "${item.trim()}"`);
      continue;
    }
    const value = m[2] === undefined ? next : Number(m[2]);
    out.set(m[1] as string, value);
    next = value + 1;
  }
  return out;
}

describe("mirror of bpf/pfs_xdp.h (enum pfs_xdp_reason)", () => {
  const c = cEnum(source("bpf/pfs_xdp.h"), "pfs_xdp_reason");

  it("has every reason code with the same value, and no other", () => {
    const members = [...c].filter(([k]) => k !== "PFS_XDP_REASON_MAX");
    expect(members.length).toBeGreaterThanOrEqual(10);
    expect(new Map(members)).toEqual(
      new Map(Object.entries(XDP_REASON).map(([k, v]) => [`PFS_XDP_${k}`, v])),
    );
  });

  it("names every code up to PFS_XDP_REASON_MAX after its C name", () => {
    expect(XDP_REASON_NAMES).toHaveLength(c.get("PFS_XDP_REASON_MAX") as number);
    for (const [k, v] of Object.entries(XDP_REASON)) {
      const label = XDP_REASON_NAMES[v] as string;
      // the label is the C name in lower case, with or without "pass_"
      expect([k.toLowerCase(), k.toLowerCase().replace(/^pass_/, "")], k).toContain(label);
    }
  });
});

describe("mirror of dataplane/ethframe.h (enum pfs_eth_verdict)", () => {
  const c = cEnum(source("dataplane/ethframe.h"), "pfs_eth_verdict");

  it("names every verdict as pfs_eth_verdict_name() does", () => {
    const names = new Map<string, string>();
    const table = /pfs_eth_verdict_name\([^)]*\)\s*\{([\s\S]*?)\};/.exec(
      source("dataplane/ethframe.c"),
    )?.[1];
    for (const m of (table ?? "").matchAll(/\[(PFS_ETH_[A-Z0-9_]+)\]\s*=\s*"([^"]*)"/g)) {
      names.set(m[1] as string, m[2] as string);
    }
    expect(names.size).toBeGreaterThanOrEqual(8);
    expect(ETH_VERDICT_NAMES).toHaveLength(c.get("PFS_ETH_VERDICT_MAX") as number);
    for (const [k, v] of c) {
      if (k === "PFS_ETH_VERDICT_MAX") continue;
      expect(ETH_VERDICT_NAMES[v], k).toBe(names.get(k));
    }
  });
});

describe("names", () => {
  it("turns counter names into camelCase", () => {
    expect(camel("PACKETS_SENT")).toBe("packetsSent");
    expect(camel("SRTT_NS")).toBe("srttNs");
    expect(COUNTERS.map(camel)).toContain("pointerCheckFailures");
  });

  it("labels a code a table does not know by its number", () => {
    expect(codeName(XDP_REASON_NAMES, 0)).toBe("redirected");
    expect(codeName(ETH_VERDICT_NAMES, 7)).toBe("wrong_dest");
    expect(codeName(XDP_REASON_NAMES, 12)).toBe("code_12");
  });

  it("names values of a group in lower case", () => {
    expect(nameOf(SSTATE, 2)).toBe("up");
    expect(nameOf(SSTATE, 99)).toBeUndefined();
  });
});
