import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { ByteWriter, utf8 } from "./bytes.js";
import { type Command, type Policy, decodeEvent, encodeCommand } from "./messages.js";
import { MSG, MSG_LIMITS } from "./protocol.js";
import { backendEvent } from "../testing/backend.js";

/** A message the C encoder wrote (test/fuzz/corpus/ring_msg, from
 * test/dataplane/ring_msg_samples.h). */
function cBytes(name: string): Uint8Array {
  return new Uint8Array(
    readFileSync(
      fileURLToPath(new URL(`../../test/fuzz/corpus/ring_msg/${name}`, import.meta.url)),
    ),
  );
}

function seq(n: number, from: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => from + i);
}

function thrown(f: () => unknown): PfsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PfsError);
    return err as PfsError;
  }
  throw new Error("expected a PfsError");
}

// The values of ring_msg_samples.h, as TypeScript writes them.
const bbr: Policy = {
  windowBlocks: 512,
  cc: "bbr",
  rateCap: 125000000,
  fixedRate: 0,
  maxPtoBackoff: 6,
  maxRetries: 10,
};

const addSession: Command = {
  type: "ADD_SESSION",
  sessionId: 0x0102030405060708n,
  localConnId: 0x1111222233334444n,
  peerConnId: 0xfedcba9876543210n,
  address: "2021:2223:2425:2627:2829:2a2b:2c2d:2e2f",
  port: 4433,
  aead: "chacha20poly1305",
  txKey: seq(32, 0),
  txIv: seq(12, 0x40),
  rxKey: seq(32, 0x80),
  rxIv: seq(12, 0xc0),
  pairKey: seq(32, 0xa0),
  txLog: {
    id: 7n,
    capacity: 2 ** 34,
    path: "/var/lib/pfs/logs/peer-a.tx",
    epoch: 0x0a0b0c0d0e0f1011n,
    resumeAt: 123456789n,
  },
  rxLog: { id: 8n, capacity: 2 ** 30, path: "/var/lib/pfs/logs/peer-a.rx" },
  policy: bbr,
};

const commands: [string, Command][] = [
  ["valid_add_session", addSession],
  ["valid_remove_session", { type: "REMOVE_SESSION", sessionId: 0x0102030405060708n }],
  [
    "valid_set_policy",
    { type: "SET_POLICY", sessionId: 42n, policy: { ...bbr, cc: "fixed", fixedRate: 1000000 } },
  ],
  [
    "valid_start_transfer",
    {
      type: "START_TRANSFER",
      transferId: 99n,
      sessionId: 42n,
      dest: "incoming/today",
      sources: ["/srv/images/base.qcow2", "/srv/pkgs", "relative/dir with spaces/é"],
    },
  ],
  ["valid_cancel_transfer", { type: "CANCEL_TRANSFER", transferId: 99n }],
  ["valid_shutdown", { type: "SHUTDOWN", mode: "drain" }],
  [
    "valid_set_keys",
    {
      type: "SET_KEYS",
      sessionId: 42n,
      txKey: seq(32, 0x10),
      txIv: seq(12, 0x50),
      rxKey: seq(32, 0x90),
      rxIv: seq(12, 0xd0),
    },
  ],
];

describe("commands", () => {
  it.each(commands)("encode to the bytes the C encoder writes (%s)", (name, cmd) => {
    expect(Buffer.from(encodeCommand(cmd)).toString("hex")).toBe(
      Buffer.from(cBytes(name)).toString("hex"),
    );
  });

  it("encode IPv4 addresses in the first four bytes", () => {
    const bytes = encodeCommand({ ...addSession, address: "198.18.0.2" } as Command);
    expect(bytes[28]).toBe(4); // family
    expect(Array.from(bytes.subarray(29, 45))).toEqual([198, 18, 0, 2, ...Array(12).fill(0)]);
    const mapped = encodeCommand({ ...addSession, address: "::ffff:198.18.0.2" } as Command);
    expect(Array.from(mapped.subarray(29, 45))).toEqual([
      ...Array(10).fill(0),
      0xff,
      0xff,
      198,
      18,
      0,
      2,
    ]);
  });

  it("refuse what the data plane would refuse, with its codes", () => {
    const add = (over: object) => () => encodeCommand({ ...addSession, ...over } as Command);
    expect(thrown(add({ address: "example.org" })).code).toBe("PFS_ERR_INVALID_ARG");
    expect(thrown(add({ port: 0 })).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(add({ aead: "rot13" })).message).toMatch(/auto, aes256gcm, chacha20poly1305/);
    expect(thrown(add({ txKey: seq(16, 0) })).code).toBe("PFS_ERR_INVALID_ARG");
    expect(thrown(add({ txLog: { id: 1n, capacity: 3000, path: "x" } })).message).toMatch(
      /power of two/,
    );
    expect(thrown(add({ rxLog: { id: 1n, capacity: 1024, path: "a\0b" } })).code).toBe(
      "PFS_ERR_MALFORMED",
    );
    expect(thrown(add({ policy: { ...bbr, cc: "fixed" } })).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(add({ policy: { ...bbr, maxPtoBackoff: 17 } })).code).toBe("PFS_ERR_LIMIT");
    expect(thrown(add({ policy: { ...bbr, rateCap: 1.5 } })).code).toBe("PFS_ERR_INVALID_ARG");
    expect(thrown(add({ policy: { ...bbr, windowBlocks: 2 ** 32 } })).message).toMatch(
      /windowBlocks must be a whole number/,
    );
    expect(thrown(add({ sessionId: -1n })).message).toMatch(/sessionId must be a bigint/);
    expect(thrown(add({ peerConnId: 1n << 64n })).code).toBe("PFS_ERR_INVALID_ARG");

    const start =
      (sources: string[], dest = "") =>
      () =>
        encodeCommand({ type: "START_TRANSFER", transferId: 1n, sessionId: 1n, sources, dest });
    expect(thrown(start([])).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(start([""])).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(start(Array(65).fill("a"))).code).toBe("PFS_ERR_LIMIT");
    expect(thrown(start(["a".repeat(MSG_LIMITS.PATH_MAX + 1)])).code).toBe("PFS_ERR_LIMIT");
    // every path in range, the message over PFS_MSG_MAX
    expect(thrown(start(Array(16).fill("p".repeat(MSG_LIMITS.PATH_MAX)))).message).toMatch(
      /at most 65528/,
    );

    const keys = commands.find(([n]) => n === "valid_set_keys")![1];
    const setKeys = (over: object) => () => encodeCommand({ ...keys, ...over } as Command);
    // a key of zeros is one nobody set; C refuses it with the same code
    expect(thrown(setKeys({ txKey: new Uint8Array(32) })).message).toMatch(/txKey is all zeros/);
    expect(thrown(setKeys({ rxKey: new Uint8Array(32) })).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(setKeys({ rxKey: seq(31, 1) })).code).toBe("PFS_ERR_INVALID_ARG");
    expect(thrown(setKeys({ txIv: seq(16, 1) })).message).toMatch(/txIv must be 12 bytes/);
    expect(thrown(setKeys({ sessionId: -1n })).message).toMatch(/sessionId must be a bigint/);
    // IVs of zeros are fine: the packet number makes the nonce
    expect(
      encodeCommand({ ...keys, txIv: new Uint8Array(12), rxIv: new Uint8Array(12) } as Command)
        .length,
    ).toBe(4 + 8 + 2 * (32 + 12));

    expect(
      encodeCommand({
        type: "START_TRANSFER",
        transferId: 1n,
        sessionId: 1n,
        sources: ["a"],
        dest: "",
      }).length,
    ).toBe(4 + 16 + 2 + 2 + 3);
  });
});

describe("events", () => {
  it("decode what the C encoder writes, every field", () => {
    expect(decodeEvent(cBytes("valid_ready"))).toEqual({
      type: "READY",
      layoutVersion: 1,
      workerCount: 4,
      pid: 31337,
    });
    expect(decodeEvent(cBytes("valid_session_state"))).toEqual({
      type: "SESSION_STATE",
      sessionId: 42n,
      state: "failed",
      error: -10019,
      message: "peer 198.18.0.2:4433: 3 packets failed authentication",
    });
    expect(decodeEvent(cBytes("valid_transfer_progress"))).toEqual({
      type: "TRANSFER_PROGRESS",
      transferId: 99n,
      bytesDone: 2 ** 33,
      bytesTotal: 2 ** 35,
      filesDone: 12,
      filesTotal: 300,
      wireBytes: 123456789,
      pointerBytes: 987654321,
      retransmittedBytes: 4242,
    });
    expect(decodeEvent(cBytes("valid_transfer_done"))).toEqual({
      type: "TRANSFER_DONE",
      transferId: 99n,
      status: -10013,
      message: "file 3: pointed-to bytes differ; repaired and resent",
    });
    expect(decodeEvent(cBytes("valid_file_received"))).toEqual({
      type: "FILE_RECEIVED",
      sessionId: 42n,
      size: 5000000000,
      digest: Uint8Array.from({ length: MSG_LIMITS.DIGEST_BYTES }, (_, i) => 0xff - i),
      path: "incoming/today/base.qcow2",
    });
    expect(decodeEvent(cBytes("valid_log"))).toEqual({
      type: "LOG",
      level: "warn",
      message: "worker 2: ring of socket 3 overflowed",
    });
  });

  it("refuse every truncation, trailing bytes, other versions and commands", () => {
    for (const name of ["valid_ready", "valid_session_state", "valid_file_received", "valid_log"]) {
      const b = cBytes(name);
      for (let n = 0; n < b.length; n++) {
        expect(thrown(() => decodeEvent(b.subarray(0, n))).code, `${name} cut at ${n}`).toBe(
          "PFS_ERR_TRUNCATED",
        );
      }
    }
    expect(thrown(() => decodeEvent(cBytes("broken_trailing_byte_log"))).code).toBe(
      "PFS_ERR_MALFORMED",
    );
    const v2 = cBytes("valid_ready");
    v2[2] = 2;
    const e = thrown(() => decodeEvent(v2));
    expect(e.code).toBe("PFS_ERR_MSG_VERSION");
    expect(e.message).toMatch(/version 2, this controller speaks version 1/);
    expect(thrown(() => decodeEvent(cBytes("valid_shutdown"))).code).toBe("PFS_ERR_MALFORMED");
    expect(thrown(() => decodeEvent(new Uint8Array(MSG_LIMITS.MAX + 1))).code).toBe(
      "PFS_ERR_LIMIT",
    );
  });

  it("refuse hostile field values with the C decoder's codes", () => {
    const state = cBytes("valid_session_state");
    state[12] = 0; // FREE is no state of a session event
    expect(thrown(() => decodeEvent(state)).code).toBe("PFS_ERR_MALFORMED");
    const err = cBytes("valid_session_state");
    err.set([1, 0, 0, 0], 13); // positive error code
    expect(thrown(() => decodeEvent(err)).code).toBe("PFS_ERR_MALFORMED");
    const level = cBytes("valid_log");
    level[4] = 9;
    expect(thrown(() => decodeEvent(level)).code).toBe("PFS_ERR_MALFORMED");
    const nul = cBytes("valid_file_received");
    nul[nul.length - 1] = 0;
    expect(thrown(() => decodeEvent(nul)).code).toBe("PFS_ERR_MALFORMED");
    const workers = cBytes("valid_ready");
    workers[8] = 65;
    expect(thrown(() => decodeEvent(workers)).code).toBe("PFS_ERR_LIMIT");
    // a text one byte over its limit
    const long = new Uint8Array(4 + 1 + 2 + MSG_LIMITS.TEXT_MAX + 1).fill(0x61);
    long.set([0x86, 0, 1, 0, 1, (MSG_LIMITS.TEXT_MAX + 1) & 0xff, (MSG_LIMITS.TEXT_MAX + 1) >> 8]);
    expect(thrown(() => decodeEvent(long)).code).toBe("PFS_ERR_LIMIT");
  });
});

/** A BACKEND event's bytes, field by field as ring_msg.c writes them (raw: no checks). */
interface RawBackend {
  kind: number;
  mode: number;
  zeroCopy: number;
  hugepages: number;
  queues: number;
  ifname: Uint8Array;
  counts: [bigint, bigint, bigint, bigint];
  reasons: bigint[];
  refused: bigint[];
}

const udpBackend: RawBackend = {
  kind: 1,
  mode: 0,
  zeroCopy: 0,
  hugepages: 0,
  queues: 4,
  ifname: new Uint8Array(0),
  counts: [0n, 0n, 0n, 0n],
  reasons: [],
  refused: [],
};

const xdpBackend: RawBackend = {
  ...udpBackend,
  kind: 2,
  mode: 1,
  queues: 1,
  ifname: utf8("veth0"),
  reasons: [5n],
  refused: [0n, 1n],
};

function backendBytes(over: Partial<RawBackend> = {}): Uint8Array {
  const b = { ...udpBackend, ...over };
  const w = new ByteWriter();
  w.u16(MSG.BACKEND);
  w.u16(MSG_LIMITS.VERSION);
  w.u8(b.kind);
  w.u8(b.mode);
  w.u8(b.zeroCopy);
  w.u8(b.hugepages);
  w.u32(b.queues);
  w.str(b.ifname);
  for (const c of b.counts) w.u64(c);
  w.u8(b.reasons.length);
  for (const c of b.reasons) w.u64(c);
  w.u8(b.refused.length);
  for (const c of b.refused) w.u64(c);
  return w.result();
}

describe("BACKEND events", () => {
  it("decode what the C encoder writes, every field and every count by name", () => {
    expect(decodeEvent(cBytes("valid_backend"))).toEqual({
      type: "BACKEND",
      kind: "xdp",
      xdpMode: "generic",
      zeroCopy: true,
      hugepages: true,
      queues: 2,
      ifname: "eth0",
      wakeups: 1000001,
      noNeighbour: 7,
      handedOff: 123456789012,
      handoffDropped: 3,
      reasons: {
        redirected: 1,
        pass_no_xsk: 1001,
        not_ip: 2001,
        not_udp: 3001,
        other_port: 4001,
        fragment: 5001,
        truncated: 6001,
        ipv6_ext: 7001,
        bad_ip: 8001,
        vlan_stack: 9001,
      },
      refused: {
        ok: 5,
        truncated: 2 ** 33 + 5,
        not_ip: 2 * 2 ** 33 + 5,
        bad_ip: 3 * 2 ** 33 + 5,
        fragment: 4 * 2 ** 33 + 5,
        not_udp: 5 * 2 ** 33 + 5,
        bad_udp: 6 * 2 ** 33 + 5,
        wrong_dest: 7 * 2 ** 33 + 5,
      },
    });
  });

  it("decode the udp backend: no mode, no interface, no counts", () => {
    expect(decodeEvent(backendBytes())).toEqual(backendEvent());
  });

  it("keep counts of codes this build does not name, as code_N", () => {
    const e = decodeEvent(
      backendBytes({
        ...xdpBackend,
        reasons: Array.from({ length: 13 }, (_, i) => BigInt(i)),
        refused: Array.from({ length: 16 }, () => 1n),
      }),
    );
    expect(e).toMatchObject({ reasons: { vlan_stack: 9, code_10: 10, code_12: 12 } });
    expect(Object.keys((e as { refused: object }).refused)).toHaveLength(16);
    expect(e).toMatchObject({ refused: { wrong_dest: 1, code_8: 1, code_15: 1 } });
  });

  it("refuse every truncation and a trailing byte", () => {
    const b = cBytes("valid_backend");
    for (let n = 0; n < b.length; n++) {
      expect(thrown(() => decodeEvent(b.subarray(0, n))).code, `cut at ${n}`).toBe(
        "PFS_ERR_TRUNCATED",
      );
    }
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(thrown(() => decodeEvent(longer)).code).toBe("PFS_ERR_MALFORMED");
  });

  it.each([
    ["kind 0", { kind: 0 }, "PFS_ERR_MALFORMED"],
    ["kind 3", { ...xdpBackend, kind: 3 }, "PFS_ERR_MALFORMED"],
    ["xdp mode 3", { ...xdpBackend, mode: 3 }, "PFS_ERR_MALFORMED"],
    ["zero copy 2", { ...xdpBackend, zeroCopy: 2 }, "PFS_ERR_MALFORMED"],
    ["hugepages 2", { ...xdpBackend, hugepages: 2 }, "PFS_ERR_MALFORMED"],
    ["udp with an xdp mode", { mode: 2 }, "PFS_ERR_MALFORMED"],
    ["xdp without a mode", { ...xdpBackend, mode: 0 }, "PFS_ERR_MALFORMED"],
    ["udp with an interface", { ifname: utf8("eth0") }, "PFS_ERR_MALFORMED"],
    ["udp with zero copy", { zeroCopy: 1 }, "PFS_ERR_MALFORMED"],
    ["udp with hugepages", { hugepages: 1 }, "PFS_ERR_MALFORMED"],
    ["xdp without an interface", { ...xdpBackend, ifname: new Uint8Array(0) }, "PFS_ERR_MALFORMED"],
    ["xdp without a queue", { ...xdpBackend, queues: 0 }, "PFS_ERR_MALFORMED"],
    [
      "an interface name of 16 bytes",
      { ...xdpBackend, ifname: utf8("a".repeat(16)) },
      "PFS_ERR_LIMIT",
    ],
    [
      "a NUL in the interface name",
      { ...xdpBackend, ifname: utf8("eth\u00000") },
      "PFS_ERR_MALFORMED",
    ],
    ["17 reasons", { ...xdpBackend, reasons: Array<bigint>(17).fill(1n) }, "PFS_ERR_LIMIT"],
    [
      "17 refused verdicts",
      { ...xdpBackend, refused: Array<bigint>(17).fill(1n) },
      "PFS_ERR_LIMIT",
    ],
  ] as const)("refuse %s with the C decoder's code", (_what, over, code) => {
    expect(decodeEvent(backendBytes(xdpBackend)).type).toBe("BACKEND");
    expect(thrown(() => decodeEvent(backendBytes(over as Partial<RawBackend>))).code).toBe(code);
  });

  it("refuse a count over the limit before looking for the counts (C stops reading there)", () => {
    const b = backendBytes(xdpBackend);
    const at = b.length - 1 - 2 * 8 - 1 - 8; // the number of reasons
    expect(b[at]).toBe(1);
    b[at] = 200;
    expect(thrown(() => decodeEvent(b)).code).toBe("PFS_ERR_LIMIT");
    // the limit wins over a truncation after it, as in ring_msg.c
    expect(thrown(() => decodeEvent(b.subarray(0, at + 3))).code).toBe("PFS_ERR_LIMIT");
  });
});
