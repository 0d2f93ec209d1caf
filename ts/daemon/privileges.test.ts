import { describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { capabilitySet, checkXdpPrivileges, mayUseXdp } from "./privileges.js";

/** A /proc/self/status with these capability sets (hex, as the kernel writes them). */
function status(amb: string, eff = amb): string {
  return `Name:\tnode\nUid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\nCapBnd:\t000001ffffffffff\nCapAmb:\t${amb}\n`;
}

const bit = (n: number) => 1n << BigInt(n);
const hex = (v: bigint) => v.toString(16).padStart(16, "0");
const NET_ADMIN = bit(12);
const NET_RAW = bit(13);
const SYS_ADMIN = bit(21);
const BPF = bit(39);

describe("the xdp backend's privileges", () => {
  it("reads capability sets from /proc status text", () => {
    expect(capabilitySet(status(hex(BPF | NET_ADMIN)), "CapAmb")).toBe(BPF | NET_ADMIN);
    expect(capabilitySet("Name:\tx\n", "CapAmb")).toBe(0n);
  });

  it("are root's", () => {
    expect(mayUseXdp({ euid: 0, status: status(hex(0n)) })).toBe(true);
    expect(mayUseXdp({ euid: 0, status: undefined })).toBe(true);
  });

  it("are a service's with ambient CAP_BPF (or CAP_SYS_ADMIN), CAP_NET_ADMIN and CAP_NET_RAW", () => {
    expect(mayUseXdp({ euid: 1000, status: status(hex(BPF | NET_ADMIN | NET_RAW)) })).toBe(true);
    expect(mayUseXdp({ euid: 1000, status: status(hex(SYS_ADMIN | NET_ADMIN | NET_RAW)) })).toBe(
      true,
    );
    expect(mayUseXdp({ euid: 1000, status: status(hex(BPF | NET_ADMIN)) })).toBe(false);
    // effective but not ambient: lost when the daemon execs the data plane
    expect(mayUseXdp({ euid: 1000, status: status(hex(0n), hex(BPF | NET_ADMIN | NET_RAW)) })).toBe(
      false,
    );
  });

  it("are refused to a user with a message that says what to do", () => {
    let err: unknown;
    try {
      checkXdpPrivileges({ euid: 1000, status: status(hex(0n)) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PfsError);
    expect((err as PfsError).code).toBe("PFS_ERR_USAGE");
    expect((err as PfsError).message).toBe(
      "the xdp backend needs root (CAP_BPF, CAP_NET_ADMIN): run with sudo, or use --backend udp",
    );
    expect(() => checkXdpPrivileges({ euid: 0, status: undefined })).not.toThrow();
  });
});
