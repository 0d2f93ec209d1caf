/**
 * Two real pfs-dataplane processes on loopback, driven through their control
 * regions as the daemon will drive them: sessions added on both ends, a
 * directory tree sent, files checked byte for byte, counters read, and the
 * same tree sent again for pointers.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type TestDataPlane, startDataPlane } from "../testing/dataplane.js";
import type { Command, Event } from "./messages.js";

const policy = {
  windowBlocks: 64,
  cc: "bbr",
  rateCap: 0,
  fixedRate: 0,
  maxPtoBackoff: 6,
  maxRetries: 0,
} as const;

function key(fill: number, n = 32): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** ADD_SESSION for one end; the other end gets the mirror image. */
function session(me: TestDataPlane, peer: TestDataPlane, side: 0 | 1, gen = 0): Command {
  return {
    type: "ADD_SESSION",
    sessionId: 1n,
    localConnId: side ? 0xb0b0n : 0xa0a0n,
    peerConnId: side ? 0xa0a0n : 0xb0b0n,
    address: "127.0.0.1",
    port: peer.port,
    aead: "auto",
    txKey: key(0x10 + side + gen * 4),
    txIv: key(0x20 + side, 12),
    rxKey: key(0x10 + (1 - side) + gen * 4),
    rxIv: key(0x20 + (1 - side), 12),
    pairKey: key(0x77),
    txLog: { id: 1n, capacity: 1 << 28, path: join(me.dir, "tx.log") },
    rxLog: { id: 2n, capacity: 1 << 28, path: join(me.dir, "rx.log") },
    policy,
  };
}

const isDone = (id: bigint) => (e: Event) => e.type === "TRANSFER_DONE" && e.transferId === id;

describe("pfs-dataplane, two processes on loopback", { timeout: 60000 }, () => {
  let a: TestDataPlane, b: TestDataPlane;
  let src: string;
  const files: [string, Buffer][] = [
    ["tree/empty", Buffer.alloc(0)],
    ["tree/one", Buffer.from("x")],
    ["tree/sub/random-3M", randomBytes(3 << 20)],
    ["tree/sub/deeper/text", Buffer.from("the same line again\n".repeat(20000))],
  ];

  beforeAll(async () => {
    src = mkdtempSync(join(tmpdir(), "pfs-dp-src-"));
    for (const [rel, data] of files) {
      mkdirSync(join(src, rel, ".."), { recursive: true });
      writeFileSync(join(src, rel), data);
    }
    a = await startDataPlane();
    b = await startDataPlane({ cores: "0-1" });
    a.ctl.send(session(a, b, 0));
    b.ctl.send(session(b, a, 1));
    for (const dp of [a, b]) {
      const st = await dp.waitFor((e) => e.type === "SESSION_STATE");
      expect(
        st,
        JSON.stringify(st, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      ).toMatchObject({ state: "starting", error: 0 });
    }
  });

  afterAll(async () => {
    for (const dp of [a, b]) {
      if (!dp) continue;
      await dp.stop();
      rmSync(dp.dir, { recursive: true, force: true });
    }
    rmSync(src, { recursive: true, force: true });
  });

  it("sends a directory tree that arrives byte-identical under the receive root", async () => {
    a.ctl.send({
      type: "START_TRANSFER",
      transferId: 7n,
      sessionId: 1n,
      sources: [join(src, "tree")],
      dest: "incoming",
    });
    const done = await a.waitFor(isDone(7n));
    expect(done).toMatchObject({ status: 0 });
    for (const [rel, data] of files) {
      expect(readFileSync(join(b.root, "incoming", rel)).equals(data), rel).toBe(true);
    }
    // the receiver says so, file by file (its events are read as they come)
    for (const [rel, data] of files) {
      const ev = await b.waitFor((e) => e.type === "FILE_RECEIVED" && e.path === `incoming/${rel}`);
      expect(ev).toMatchObject({ size: data.length, sessionId: 1n });
    }
    await b.waitFor((e) => e.type === "SESSION_STATE" && e.state === "up");
  });

  it("publishes counters: wire bytes on the sender, committed files on the receiver", async () => {
    await new Promise((r) => setTimeout(r, 50)); // counters are published every 10 ms
    const sent = a.ctl.counters().total;
    const got = b.ctl.counters().total;
    expect(sent.wireBytesSent).toBeGreaterThan(3 << 20);
    expect(sent.payloadBytesSent).toBe(files.reduce((n, [, d]) => n + d.length, 0));
    expect(got.filesCommitted).toBe(files.length);
    expect(got.authFailures).toBe(0);
  });

  it("sends the same tree again as pointers: a small fraction of the bytes", async () => {
    const before = a.ctl.counters().total.wireBytesSent;
    a.ctl.send({
      type: "START_TRANSFER",
      transferId: 8n,
      sessionId: 1n,
      sources: [join(src, "tree")],
      dest: "again",
    });
    expect(await a.waitFor(isDone(8n))).toMatchObject({ status: 0 });
    await new Promise((r) => setTimeout(r, 50));
    const wire = a.ctl.counters().total.wireBytesSent - before;
    expect(wire).toBeLessThan((3 << 20) / 50);
    expect(readFileSync(join(b.root, "again/tree/sub/random-3M")).equals(files[2]![1])).toBe(true);
  });

  it("refuses a transfer whose source does not exist, naming it", async () => {
    a.ctl.send({
      type: "START_TRANSFER",
      transferId: 9n,
      sessionId: 1n,
      sources: [join(src, "nope")],
      dest: "",
    });
    const done = (await a.waitFor(isDone(9n))) as { status: number; message: string };
    expect(done.status).toBeLessThan(0);
    expect(done.message).toContain("nope");
  });

  it("refuses a transfer on a session that does not exist", async () => {
    a.ctl.send({
      type: "START_TRANSFER",
      transferId: 10n,
      sessionId: 99n,
      sources: [src],
      dest: "",
    });
    const done = (await a.waitFor(isDone(10n))) as { status: number; message: string };
    expect(done.status).toBeLessThan(0);
    expect(done.message).toMatch(/no such session/);
  });

  it("a destination that leaves the receive root is refused by the receiver and nothing lands outside", async () => {
    a.ctl.send({
      type: "START_TRANSFER",
      transferId: 11n,
      sessionId: 1n,
      sources: [join(src, "tree/one")],
      dest: "../outside",
    });
    const done = (await a.waitFor(isDone(11n))) as { status: number; message: string };
    expect(done.status).toBeLessThan(0);
    expect(done.message).toMatch(/destination|\.\./);
  });

  it("stops on SHUTDOWN, persisting its logs and removing its region", async () => {
    expect(await b.stop()).toBe(0);
    const removed = b.events.find((e) => e.type === "SESSION_STATE" && e.state === "removed");
    expect(removed).toBeDefined();
    expect(readFileSync(join(b.dir, "rx.log.meta")).length).toBeGreaterThan(0);
  });
});
