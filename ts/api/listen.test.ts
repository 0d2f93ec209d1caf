import { describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { formatListen, parseListen } from "./listen.js";

describe("parseListen", () => {
  it.each([
    ["127.0.0.1:7445", { kind: "tcp", host: "127.0.0.1", port: 7445 }],
    ["localhost:0", { kind: "tcp", host: "localhost", port: 0 }],
    ["[::1]:7445", { kind: "tcp", host: "::1", port: 7445 }],
    ["[fe80::1%eth0]:80", { kind: "tcp", host: "fe80::1%eth0", port: 80 }],
    ["unix:/run/packetfs/api.sock", { kind: "unix", path: "/run/packetfs/api.sock" }],
  ])("reads %s", (text, want) => {
    expect(parseListen(text)).toEqual(want);
    expect(formatListen(parseListen(text))).toBe(text);
  });

  it("makes a relative unix path absolute", () => {
    expect(parseListen("unix:api.sock")).toEqual({
      kind: "unix",
      path: `${process.cwd()}/api.sock`,
    });
  });

  it.each([
    ["7445", "is neither ADDR:PORT nor unix:/PATH"],
    ["::1:7445", "is neither"],
    ["host:", "is neither"],
    ["host:123456", "is neither"],
    ["host:70000", "has port 70000, above 65535"],
    ["unix:", "has no socket path"],
    [`unix:/${"d".repeat(120)}`, "longer than 107 bytes"],
  ])("refuses %s", (text, why) => {
    let err: unknown;
    try {
      parseListen(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PfsError);
    expect((err as PfsError).code).toBe("PFS_ERR_USAGE");
    expect((err as PfsError).message).toContain(why);
  });
});
