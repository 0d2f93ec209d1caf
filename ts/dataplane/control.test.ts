import { afterEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { type RingPeer, regionPath, startPeer } from "../testing/ring-peer.js";
import { DataPlaneControl } from "./control.js";
import type { Command, Event } from "./messages.js";

// Against a real C producer: build/pfs-ring-peer plays the data plane over a
// real mapping, through the real addon. Each wait is bounded (until()).

let peers: RingPeer[] = [];
let controls: DataPlaneControl[] = [];

afterEach(async () => {
  for (const c of controls) c.close();
  for (const p of peers) await p.stop();
  peers = [];
  controls = [];
});

async function peer(args: string[] = []): Promise<RingPeer> {
  const p = await startPeer(args);
  peers.push(p);
  return p;
}

function attach(path: string, staleMs = 3000): DataPlaneControl {
  const c = DataPlaneControl.attach(path, { staleMs, pollMs: 2 });
  controls.push(c);
  return c;
}

/** Polls until `want` events have come (at most 5 s). */
async function until(c: DataPlaneControl, want: number): Promise<Event[]> {
  const got: Event[] = [];
  const deadline = Date.now() + 5000;
  while (got.length < want && Date.now() < deadline) {
    got.push(...c.poll());
    if (got.length < want) await new Promise((r) => setTimeout(r, 2));
  }
  return got;
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

const policy = {
  windowBlocks: 256,
  cc: "cubic",
  rateCap: 0,
  fixedRate: 0,
  maxPtoBackoff: 5,
  maxRetries: 0,
} as const;

const addSession: Command = {
  type: "ADD_SESSION",
  sessionId: 0xfedcba9876543210n,
  localConnId: 11n,
  peerConnId: 22n,
  address: "2001:db8::2",
  port: 4433,
  aead: "auto",
  txKey: new Uint8Array(32).fill(1),
  txIv: new Uint8Array(12).fill(2),
  rxKey: new Uint8Array(32).fill(3),
  rxIv: new Uint8Array(12).fill(4),
  pairKey: new Uint8Array(32).fill(9),
  txLog: { id: 5n, capacity: 1 << 20, path: "/var/lib/pfs/b.tx" },
  rxLog: { id: 6n, capacity: 1 << 21, path: '/var/lib/pfs/"b".rx' },
  policy,
};

describe("DataPlaneControl against pfs-ring-peer", () => {
  it("attaches, reads READY, the header and the workers' counters", async () => {
    const p = await peer(["--workers", "3"]);
    const c = attach(p.path);
    const info = c.checkAlive();
    expect(info.pid).toBe(p.pid);
    expect(info.workerCount).toBe(3);
    expect(await until(c, 1)).toEqual([
      { type: "READY", layoutVersion: 1, workerCount: 3, pid: p.pid },
    ]);
    const snap = c.counters();
    expect(snap.workers).toHaveLength(3);
    expect(snap.workers[1]?.packetsSent).toBe(2000);
    expect(snap.workers[2]?.transfersActive).toBe(3027);
    expect(snap.total.wireBytesSent).toBe(1002 + 2002 + 3002);
    expect(snap.sessions).toEqual([]);
  });

  it("delivers every command as the data plane decodes it, and its answers", async () => {
    const p = await peer(["--workers", "4"]);
    const c = attach(p.path);
    await until(c, 1); // READY

    c.send(addSession);
    const [echo, state] = await until(c, 2);
    expect(echo?.type).toBe("LOG");
    expect(JSON.parse((echo as { message: string }).message)).toEqual({
      type: "ADD_SESSION",
      sessionId: "18364758544493064720",
      localConnId: "11",
      peerConnId: "22",
      family: 6,
      address: "2001:db8::2",
      port: 4433,
      aead: 0,
      txKey: "01".repeat(32),
      txIv: "02".repeat(12),
      rxKey: "03".repeat(32),
      rxIv: "04".repeat(12),
      txLogId: "5",
      txLogCapacity: String(1 << 20),
      txLogPath: "/var/lib/pfs/b.tx",
      rxLogId: "6",
      rxLogCapacity: String(1 << 21),
      rxLogPath: '/var/lib/pfs/"b".rx',
      policy: {
        windowBlocks: 256,
        cc: 1,
        rateCap: 0,
        fixedRate: 0,
        maxPtoBackoff: 5,
        maxRetries: 0,
      },
    });
    expect(state).toEqual({
      type: "SESSION_STATE",
      sessionId: 0xfedcba9876543210n,
      state: "up",
      error: 0,
      message: "up",
    });
    const sessions = c.counters().sessions;
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ sessionId: 0xfedcba9876543210n, state: "up", worker: 0 });
    expect(sessions[0]?.counters.wireBytesSent).toBe(Number(1000n + 0xfedcba9876543210n));

    c.send({
      type: "SET_POLICY",
      sessionId: 1n,
      policy: { ...policy, cc: "fixed", fixedRate: 5e8 },
    });
    const [pol] = await until(c, 1);
    expect(JSON.parse((pol as { message: string }).message).policy).toMatchObject({
      cc: 0,
      fixedRate: 500000000,
    });

    c.send({
      type: "START_TRANSFER",
      transferId: 9n,
      sessionId: 0xfedcba9876543210n,
      sources: ["/data/a.img", "/data/dir"],
      dest: "in",
    });
    const t = await until(c, 5);
    expect(JSON.parse((t[0] as { message: string }).message)).toMatchObject({
      sources: ["/data/a.img", "/data/dir"],
      dest: "in",
    });
    expect(t[1]).toMatchObject({ type: "TRANSFER_PROGRESS", transferId: 9n, filesTotal: 2 });
    expect(t[2]).toMatchObject({ type: "FILE_RECEIVED", path: "in/a.img", size: 1000 });
    expect(t[3]).toMatchObject({ type: "FILE_RECEIVED", path: "in/dir", size: 2000 });
    expect(t[4]).toEqual({ type: "TRANSFER_DONE", transferId: 9n, status: 0, message: "done" });

    c.send({ type: "CANCEL_TRANSFER", transferId: 9n });
    const [, cancelled] = await until(c, 2);
    expect(cancelled).toMatchObject({ type: "TRANSFER_DONE", transferId: 9n, status: -125 });

    c.send({ type: "REMOVE_SESSION", sessionId: 0xfedcba9876543210n });
    const [, removed] = await until(c, 2);
    expect(removed).toMatchObject({ type: "SESSION_STATE", state: "removed" });
    expect(c.counters().sessions).toEqual([]);
  });

  it("events() ends after SHUTDOWN once the data plane has stopped", async () => {
    const p = await peer();
    const c = attach(p.path);
    c.send({ type: "SHUTDOWN", mode: "drain" });
    const seen: Event[] = [];
    for await (const ev of c.events()) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(["READY", "LOG", "LOG"]);
    expect(seen[2]).toEqual({ type: "LOG", level: "info", message: "shutting down" });
    expect(await p.exited).toBe(0);
    const e = thrown(() => c.send({ type: "CANCEL_TRANSFER", transferId: 1n }));
    expect(e.code).toBe("PFS_ERR_DATAPLANE_DEAD");
    expect(e.message).toMatch(/has stopped/);
  });

  it("events() stops when its signal aborts", async () => {
    const p = await peer();
    const c = attach(p.path);
    const ac = new AbortController();
    const seen: Event[] = [];
    setTimeout(() => ac.abort(), 50);
    for await (const ev of c.events({ signal: ac.signal })) seen.push(ev);
    expect(seen.map((e) => e.type)).toEqual(["READY"]);
  });

  it("reports a full command ring as a data plane that is not draining", async () => {
    const p = await peer(["--mode", "mute"]);
    const c = attach(p.path);
    const cmd: Command = { type: "CANCEL_TRANSFER", transferId: 1n };
    let sent = 0;
    let err: PfsError | undefined;
    // 256 KiB ring, 24-byte records: full well before 20000
    while (sent < 20000 && !err) {
      try {
        c.send(cmd);
        sent++;
      } catch (e) {
        err = e as PfsError;
      }
    }
    expect(sent).toBe((256 * 1024) / 24 - (((256 * 1024) / 24) % 1));
    expect(err?.code).toBe("PFS_ERR_RING_FULL");
    expect(err?.message).toMatch(/is not draining commands: its command ring is full/);
    expect(err?.hint).toMatch(/pfs-dp stop && pfs-dp start/);
  });

  it("reports a data plane whose heartbeat stopped, and events() throws", async () => {
    const p = await peer(["--mode", "stall"]);
    const c = attach(p.path, 200);
    await new Promise((r) => setTimeout(r, 300));
    const e = thrown(() => c.send({ type: "CANCEL_TRANSFER", transferId: 1n }));
    expect(e.code).toBe("PFS_ERR_DATAPLANE_DEAD");
    expect(e.message).toMatch(
      /has not updated its heartbeat for \d+\.\d s \(limit 0\.2 s\): it is stuck/,
    );
    const seen: Event[] = [];
    await expect(
      (async () => {
        for await (const ev of c.events()) seen.push(ev);
      })(),
    ).rejects.toMatchObject({ code: "PFS_ERR_DATAPLANE_DEAD" });
    expect(seen.map((ev) => ev.type)).toEqual(["READY"]); // what it sent before still arrives
  });

  it("reports a data plane whose process is gone", async () => {
    const p = await peer(["--mode", "exit"]);
    await p.exited;
    const c = attach(p.path);
    const e = thrown(() => c.checkAlive());
    expect(e.code).toBe("PFS_ERR_DATAPLANE_DEAD");
    expect(e.message).toBe(
      `the data plane (pid ${p.pid}) is gone: it exited without stopping (crashed or was killed)`,
    );
  });

  it("refuses a region of another layout version, naming both", async () => {
    const p = await peer(["--layout-version", "2"]);
    const e = thrown(() => attach(p.path));
    expect(e.code).toBe("PFS_ERR_REGION_VERSION");
    expect(e.message).toMatch(/control layout version 2, this side speaks version 1/);
    expect(e.hint).toMatch(/same build/);
  });

  it("says no data plane runs when there is no region", () => {
    const e = thrown(() => attach(regionPath()));
    expect(e.code).toBe("PFS_ERR_DATAPLANE_DEAD");
    expect(e.message).toMatch(/does not exist/);
    expect(e.hint).toBe("start the data plane: pfs-dp start");
  });

  it("refuses calls after close", async () => {
    const p = await peer();
    const c = attach(p.path);
    c.close();
    c.close();
    expect(thrown(() => c.poll()).code).toBe("PFS_ERR_USAGE");
  });
});
