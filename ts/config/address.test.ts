import { describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { formatHostPort, isHostname, parseHostPort, tryParseHostPort } from "./address.js";

describe("parseHostPort", () => {
  it.each([
    ["beta", { host: "beta", port: 7443 }],
    ["beta.example.net:8443", { host: "beta.example.net", port: 8443 }],
    ["198.18.0.2", { host: "198.18.0.2", port: 7443 }],
    ["198.18.0.2:1", { host: "198.18.0.2", port: 1 }],
    ["[2001:db8::2]:65535", { host: "2001:db8::2", port: 65535 }],
    ["[2001:db8::2]", { host: "2001:db8::2", port: 7443 }],
    ["2001:db8::2", { host: "2001:db8::2", port: 7443 }],
    ["::", { host: "::", port: 7443 }],
  ])("%s", (text, want) => {
    expect(parseHostPort(text, 7443)).toEqual(want);
  });

  it.each([
    ["beta:0", "port 0 is outside 1..65535"],
    ["beta:65536", "port 65536 is outside 1..65535"],
    ["beta:http", 'port "http" is not a number'],
    ["beta:", 'port "" is not a number'],
    ["[2001:db8::2", 'unclosed "["'],
    ["[beta]:7443", "is not an IPv6 address"],
    ["bad_host", "is not a host name"],
    ["1.2.3", "is not a host name"],
    ["", "the host is empty"],
    ["-beta", "is not a host name"],
  ])("refuses %j: %s", (text, why) => {
    let err: unknown;
    try {
      parseHostPort(text, 7443);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PfsError);
    expect((err as PfsError).code).toBe("PFS_ERR_USAGE");
    expect((err as PfsError).message).toContain(why);
    expect((err as PfsError).hint).toContain("HOST:PORT");
  });

  it("requires a port when there is no default", () => {
    expect(tryParseHostPort("0.0.0.0")).toContain("has no port");
    expect(tryParseHostPort("[::]:7443")).toEqual({ host: "::", port: 7443 });
  });

  it("formats IPv6 in brackets and round-trips", () => {
    for (const t of ["[2001:db8::2]:7443", "198.18.0.2:9", "beta:7443"]) {
      expect(formatHostPort(parseHostPort(t, 1))).toBe(t);
    }
  });

  it("host names follow RFC 1123", () => {
    expect(isHostname("a-b.c9.example")).toBe(true);
    expect(isHostname("a".repeat(64))).toBe(false);
    expect(isHostname("a-.b")).toBe(false);
  });
});
