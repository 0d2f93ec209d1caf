/**
 * Two daemons on this machine (each with its own data plane, control channel,
 * keys and directories) pin each other's keys and move a directory tree; an
 * impostor with an unpinned key is refused; data-plane keys are rotated
 * mid-transfer without a lost packet; a data plane killed mid-transfer is
 * restarted and the transfer completes with identical bytes.
 */

import { execFileSync } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { dataPlaneHasOption, freePort } from "../testing/dataplane.js";
import { regionPath } from "../testing/ring-peer.js";
import { type ChannelIdentity, dial } from "./channel.js";
import { type DaemonSettings, type Logger, PfsDaemon } from "./daemon.js";
import { fingerprint } from "../identity.js";
import type { PeerInfo } from "./types.js";

function identity(dir: string, name: string): ChannelIdentity {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ed25519",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-nodes",
      "-subj",
      `/CN=${name}`,
    ],
    { stdio: "ignore" },
  );
  const certPem = readFileSync(cert, "utf8");
  return {
    keyPem: readFileSync(key, "utf8"),
    certPem,
    fingerprint: fingerprint(new X509Certificate(certPem)),
  };
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

class Peers {
  constructor(private readonly list_: PeerInfo[] = []) {}
  list() {
    return [...this.list_];
  }
  add(p: PeerInfo) {
    this.list_.push(p);
    return p;
  }
  remove(name: string) {
    const i = this.list_.findIndex((p) => p.name === name);
    if (i >= 0) this.list_.splice(i, 1);
  }
}

interface Node {
  name: string;
  dir: string;
  id: ChannelIdentity;
  settings: DaemonSettings;
  peers: Peers;
  daemon: PfsDaemon;
  logs: string[];
}

async function node(base: string, name: string): Promise<Node> {
  const dir = join(base, name);
  mkdirSync(join(dir, "in"), { recursive: true });
  mkdirSync(join(dir, "logs"), { recursive: true });
  const id = identity(base, name);
  const settings: DaemonSettings = {
    nodeName: name,
    control: { host: "127.0.0.1", port: await freeTcpPort() },
    dataplane: {
      host: "127.0.0.1",
      port: await freePort(),
      cores: "",
      mtu: 1472,
      receiveRoot: join(dir, "in"),
      logDir: join(dir, "logs"),
      blobSize: 1 << 28,
      region: regionPath(),
    },
    policy: {
      windowBlocks: 64,
      cc: "bbr",
      rateCap: 0,
      fixedRate: 0,
      maxPtoBackoff: 6,
      maxRetries: 10,
    },
  };
  const logs: string[] = [];
  const put = (o: object | string, m?: string) =>
    logs.push(`${typeof o === "string" ? o : JSON.stringify(o)} ${m ?? ""}`);
  const log: Logger = { info: put, warn: put, error: put };
  const peers = new Peers();
  return { name, dir, id, settings, peers, daemon: new PfsDaemon(settings, id, peers, log), logs };
}

function pin(a: Node, b: Node): void {
  a.peers.add({
    name: b.name,
    host: "127.0.0.1",
    port: b.settings.control.port,
    fingerprint: b.id.fingerprint,
  });
}

async function until<T>(f: () => T | undefined, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("two daemons", { timeout: 60000 }, () => {
  let base: string, a: Node, b: Node;
  const tree: [string, Buffer][] = [
    ["tree/a.bin", randomBytes(1 << 20)],
    ["tree/sub/b.txt", Buffer.from("hello, peer\n".repeat(1000))],
    ["tree/sub/empty", Buffer.alloc(0)],
  ];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "pfs-daemons-"));
    for (const [rel, data] of tree) {
      mkdirSync(join(base, "src", rel, ".."), { recursive: true });
      writeFileSync(join(base, "src", rel), data);
    }
    a = await node(base, "alpha");
    b = await node(base, "beta");
    pin(a, b);
    pin(b, a);
    await a.daemon.start();
    await b.daemon.start();
    await until(() => a.daemon.sessions().find((s) => s.peer === "beta" && s.state === "up"));
    await until(() => b.daemon.sessions().find((s) => s.peer === "alpha" && s.state === "up"));
  }, 30000);

  afterAll(async () => {
    if (process.env.PFS_TEST_DEBUG) {
      console.log(`--- alpha\n${a?.logs.join("\n")}\n--- beta\n${b?.logs.join("\n")}`);
    }
    await a?.daemon.stop();
    await b?.daemon.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("sends a directory tree that arrives byte-identical", async () => {
    const t = await a.daemon.send({
      sources: [join(base, "src/tree")],
      peer: "beta",
      dest: "inbox",
    });
    const done = await a.daemon.settled(t.id);
    expect(done.state, JSON.stringify(done)).toBe("done");
    for (const [rel, data] of tree) {
      expect(readFileSync(join(b.dir, "in/inbox", rel)).equals(data), rel).toBe(true);
    }
    expect(done.bytesDone).toBe(tree.reduce((n, [, d]) => n + d.length, 0));
    const got = await until(() =>
      b.daemon.transfers().find((x) => x.id === t.id && x.state === "done"),
    );
    expect(got.direction).toBe("receive");
    expect(got.filesDone).toBe(tree.length);
  });

  // (a data plane built before the BACKEND event reports nothing: skipped)
  it.skipIf(!dataPlaneHasOption("--backend"))(
    "shows the data plane's packet I/O in its health, and logs it once per data plane",
    async () => {
      const backend = await until(() => a.daemon.health().dataplane.backend);
      expect(backend).toEqual({
        kind: "udp",
        zeroCopy: false,
        queues: 1,
        hugepages: false,
        cores: "",
      });
      expect(a.daemon.backend()).toMatchObject({ type: "BACKEND", kind: "udp", ifname: "" });
      await new Promise((r) => setTimeout(r, 1200)); // a BACKEND event comes every second
      const logged = a.logs.filter((l) => l.includes("data plane: udp (kernel sockets), 1 socket"));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('"backend":{"kind":"udp"');
    },
  );

  it("refuses an impostor whose key is not pinned, and nothing is written", async () => {
    const mallory = identity(base, "mallory");
    // mallory knows beta's address and key; beta has not pinned mallory
    const c = await dial(mallory, {
      name: "beta",
      host: "127.0.0.1",
      port: b.settings.control.port,
      fingerprint: b.id.fingerprint,
    });
    const closed = new Promise<string>((r) => c.on("close", r));
    c.send({ t: "offer", id: "1", dest: "evil", bytes: 1, sources: 1 });
    expect(await closed).toBeTruthy();
    await until(() => b.logs.find((l) => l.includes(`${mallory.fingerprint} is not pinned`)));
    expect(readdirSync(join(b.dir, "in"))).not.toContain("evil");
    expect(b.daemon.transfers().filter((t) => t.dest === "evil")).toEqual([]);
    // and beta will not talk to a key other than the one it pinned for alpha
    await expect(
      dial(b.id, {
        name: "alpha",
        host: "127.0.0.1",
        port: a.settings.control.port,
        fingerprint: mallory.fingerprint,
      }),
    ).rejects.toMatchObject({ code: "PFS_ERR_PEER_UNTRUSTED" });
  });

  it("rotates the data-plane keys twice mid-transfer; the transfer arrives intact, the session stays up", async () => {
    const session = (n: Node, peer: string) => n.daemon.sessions().find((s) => s.peer === peer)!;
    const authFailures = (n: Node, id: string) =>
      n.daemon.counters()?.sessions.find((s) => s.sessionId === BigInt(id))?.counters
        .authFailures ?? -1;
    const before = { a: session(a, "beta"), b: session(b, "alpha") };
    const failedBefore = { a: authFailures(a, before.a.id), b: authFailures(b, before.b.id) };
    // 4 MB/s: the 8 MiB take about two seconds, time enough for two rotations
    await a.daemon.setPolicy("beta", { rateCap: 4_000_000 });
    const data = randomBytes(8 << 20);
    writeFileSync(join(base, "src/rekey.bin"), data);
    const t = await a.daemon.send({
      sources: [join(base, "src/rekey.bin")],
      peer: "beta",
      dest: "rekey",
    });
    await until(() => (a.daemon.transfer(t.id)?.state === "running" ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    const gen = before.a.keyGeneration ?? 0;
    expect(before.b.keyGeneration ?? 0).toBe(gen);
    // once started by the sender's end, once by the receiver's
    expect((await a.daemon.rekey("beta")).keyGeneration).toBe(gen + 1);
    expect((await b.daemon.rekey("alpha")).keyGeneration).toBe(gen + 2);
    // both ends at once: the dialler's rotation goes on, the other end completes it
    const both = await Promise.all([a.daemon.rekey("beta"), b.daemon.rekey("alpha")]);
    expect(both.map((s) => s.keyGeneration)).toEqual([gen + 3, gen + 3]);
    // one at a time on one end
    const [x, y] = await Promise.allSettled([a.daemon.rekey("beta"), a.daemon.rekey("beta")]);
    expect(x).toMatchObject({ status: "fulfilled", value: { keyGeneration: gen + 4 } });
    expect(y).toMatchObject({ status: "rejected", reason: { code: "PFS_ERR_CONFLICT" } });
    expect(a.daemon.transfer(t.id)?.state).toBe("running");

    const done = await a.daemon.settled(t.id);
    expect(done.state, JSON.stringify(done)).toBe("done");
    expect(readFileSync(join(b.dir, "in/rekey/rekey.bin")).equals(data)).toBe(true);
    // the same sessions throughout, both ends on the same generation
    const after = { a: session(a, "beta"), b: session(b, "alpha") };
    expect(after.a).toMatchObject({ id: before.a.id, state: "up", keyGeneration: gen + 4 });
    expect(after.b).toMatchObject({ id: before.b.id, state: "up", keyGeneration: gen + 4 });
    for (const n of [a, b]) {
      expect(n.logs.filter((l) => l.includes("keys rotated to generation")).length).toBe(4);
    }
    // and not one packet failed authentication on either end across the switches
    await new Promise((r) => setTimeout(r, 50)); // counters are published every 10 ms
    expect(authFailures(a, after.a.id)).toBe(failedBefore.a);
    expect(authFailures(b, after.b.id)).toBe(failedBefore.b);
    await a.daemon.setPolicy("beta", { rateCap: 0 });
  }, 30000);

  it("restarts a data plane killed mid-transfer and the transfer completes intact", async () => {
    const big = randomBytes(96 << 20);
    writeFileSync(join(base, "src/big.bin"), big);
    const t = await a.daemon.send({
      sources: [join(base, "src/big.bin")],
      peer: "beta",
      dest: "crash",
    });
    await until(() =>
      (a.daemon.transfer(t.id)?.bytesDone ?? 0) > 0 || a.daemon.transfer(t.id)?.state === "running"
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, 100));
    b.daemon.crashDataPlane();
    const done = await a.daemon.settled(t.id);
    expect(done.state, JSON.stringify(done)).toBe("done");
    expect(readFileSync(join(b.dir, "in/crash/big.bin")).equals(big)).toBe(true);
    expect(b.daemon.health().dataplane.restarts).toBe(1);
  }, 60000);

  it("blob verify finds both logs in agreement, then the segment a bad disk changed", async () => {
    await new Promise((r) => setTimeout(r, 400)); // logs are made durable every 100 ms
    const ok = await a.daemon.verifyBlob("beta");
    expect(ok.agree, JSON.stringify(ok)).toBe(true);
    expect(ok.directions.find((d) => d.direction === "tx")?.segmentsCompared).toBeGreaterThan(0);
    // one byte of beta's copy of alpha's log goes bad on disk
    const rx = join(b.dir, "logs/alpha.rx");
    const fd = openSync(rx, "r+");
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 4096);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    writeSync(fd, byte, 0, 1, 4096);
    closeSync(fd);
    const bad = await a.daemon.verifyBlob("beta");
    expect(bad.agree).toBe(false);
    expect(bad.directions.find((d) => d.direction === "tx")).toMatchObject({
      sameEpoch: true,
      firstMismatch: 0,
      agree: false,
    });
    await expect(a.daemon.verifyBlob("nobody")).rejects.toMatchObject({
      code: "PFS_ERR_NOT_FOUND",
    });
  });
});
