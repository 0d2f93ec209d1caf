/**
 * The operator's path end to end, with the built CLI (dist/ts/cli.js) as a
 * person would run it: two nodes in their own config dirs on this machine
 * (udp backend, loopback), `init`, `peers add` with each other's
 * fingerprints, `start` in the background, a directory tree sent through the
 * CLI and another through REST, the files, the summary and the metrics
 * checked; then an impostor whose key nobody pinned is refused and writes
 * nothing, and a start whose AF_XDP set-up fails says why at once; `stop`
 * ends everything.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ApiClient } from "../api/client.js";
import { repoRoot } from "../native.js";
import { freePort } from "../testing/dataplane.js";

const run = promisify(execFile);
const cli = join(repoRoot(), "dist/ts/cli.js");

async function tcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Node {
  name: string;
  dir: string;
  fingerprint: string;
  control: number;
  rest: number;
  data: number;
}

async function pfs(n: Node, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args, "--config-dir", n.dir], { timeout: 60000 });
}

async function init(base: string, name: string): Promise<Node> {
  const dir = join(base, name);
  const n: Node = {
    name,
    dir,
    fingerprint: "",
    control: await tcpPort(),
    rest: await tcpPort(),
    data: await freePort(),
  };
  const { stdout } = await pfs(n, "init", "--name", name, "--json");
  n.fingerprint = (JSON.parse(stdout) as { fingerprint: string }).fingerprint;
  return n;
}

function start(n: Node) {
  return pfs(
    n,
    "start",
    "--control",
    `127.0.0.1:${n.control}`,
    "--listen",
    `127.0.0.1:${n.data}`,
    "--rest",
    `127.0.0.1:${n.rest}`,
    "--blob-size",
    "256MiB",
  );
}

function client(n: Node): ApiClient {
  return new ApiClient({
    address: `127.0.0.1:${n.rest}`,
    token: readFileSync(join(n.dir, "token"), "utf8").trim(),
  });
}

async function until<T>(f: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!existsSync(cli))(
  "pfs-dp end to end: two nodes on loopback",
  { timeout: 60000 },
  () => {
    let base: string, a: Node, b: Node;
    const tree: [string, Buffer][] = [
      ["photos/one.jpg", randomBytes(700_000)],
      ["photos/raw/two.cr3", randomBytes(2_100_000)],
      ["notes.txt", Buffer.from("PacketFS end to end\n".repeat(500))],
    ];

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), "pfs-e2e-"));
      for (const [rel, data] of tree) {
        mkdirSync(join(base, "src/album", rel, ".."), { recursive: true });
        writeFileSync(join(base, "src/album", rel), data);
      }
      a = await init(base, "alpha");
      b = await init(base, "beta");
      await pfs(a, "peers", "add", "beta", `127.0.0.1:${b.control}`, "--key", b.fingerprint);
      await pfs(b, "peers", "add", "alpha", `127.0.0.1:${a.control}`, "--key", a.fingerprint);
      const started = await start(a);
      expect(started.stdout).toContain(a.fingerprint);
      await start(b);
      await until(async () =>
        (await client(a).sessions()).find((s) => s.peer === "beta" && s.state === "up"),
      );
    }, 60000);

    afterAll(async () => {
      for (const n of [a, b]) if (n) await pfs(n, "stop").catch(() => undefined);
      if (base) rmSync(base, { recursive: true, force: true });
    }, 60000);

    it("status shows the node's key, its data plane and the peer's session", async () => {
      const { stdout } = await pfs(a, "status");
      expect(stdout).toContain(a.fingerprint);
      expect(stdout).toMatch(/data plane running/);
      expect(stdout).toMatch(/beta\s+up/);
      expect(stdout).toMatch(/backend\s+udp \(kernel sockets\), 1 socket; workers not pinned/);
    });

    it("sends a tree through the CLI: files identical, a summary that says what it cost", async () => {
      const { stdout } = await pfs(a, "send", join(base, "src/album"), "beta:inbox");
      expect(stdout).toMatch(/^sent: /);
      expect(stdout).toMatch(/files\s+3 of 3/);
      expect(stdout).toMatch(/verified\s+yes/);
      for (const [rel, data] of tree) {
        expect(readFileSync(join(b.dir, "received/inbox/album", rel)).equals(data), rel).toBe(true);
      }
    });

    it("sends the same tree through REST: it travels as pointers, and metrics count it", async () => {
      const api = client(a);
      const t = await api.send({ sources: [join(base, "src/album")], peer: "beta", dest: "again" });
      const done = await until(async () => {
        const x = await api.transfer(t.id);
        return x.state === "done" || x.state === "failed" ? x : undefined;
      });
      expect(done.state, JSON.stringify(done)).toBe("done");
      expect(done.wireBytes).toBeLessThan(done.bytesDone / 20);
      for (const [rel, data] of tree) {
        expect(readFileSync(join(b.dir, "received/again/album", rel)).equals(data), rel).toBe(true);
      }
      const metricsB = await until(async () => {
        const m = await client(b).metrics();
        return /packetfs_files_committed_total\{peer="alpha"\} 6\b/.test(m) ? m : undefined;
      });
      expect(metricsB).toMatch(/packetfs_dataplane_up 1/);
      expect(metricsB).toMatch(/packetfs_dataplane_backend_info\{kind="udp"[^}]*\} 1/);
      const metricsA = await client(a).metrics();
      const ptr = /packetfs_pointer_bytes_total\{peer="beta",direction="sent"\} (\d+)/.exec(
        metricsA,
      );
      expect(Number(ptr?.[1])).toBeGreaterThan(2_000_000);
    });

    it("blob verify says both nodes' logs agree, and blob stats shows what they hold", async () => {
      await new Promise((r) => setTimeout(r, 400)); // logs are made durable every 100 ms
      const { stdout } = await pfs(a, "blob", "verify", "beta");
      expect(stdout).toMatch(/beta: the logs agree/);
      expect(stdout).toMatch(/our tx \/ their rx\s+\d+ segments of 1\.05 MB agree/);
      // blob stats reads the logs' metadata about once a second
      await until(async () => {
        const stats = JSON.parse((await pfs(b, "blob", "stats", "--json")).stdout) as {
          peer: string;
          rx: { held: number };
        }[];
        return (stats.find((x) => x.peer === "alpha")?.rx.held ?? 0) > 2_000_000
          ? stats
          : undefined;
      });
    });

    it("refuses an impostor whose key beta never pinned, and nothing is written", async () => {
      const m = await init(base, "mallory");
      await pfs(m, "peers", "add", "beta", `127.0.0.1:${b.control}`, "--key", b.fingerprint);
      await start(m);
      try {
        await pfs(m, "send", join(base, "src/album"), "beta:evil", "--no-wait").catch(
          () => undefined,
        );
        const log = await until(async () => {
          const text = readFileSync(join(b.dir, "state/daemon.log"), "utf8");
          return text.includes(`${m.fingerprint} is not pinned`) ? text : undefined;
        });
        expect(log).toBeTruthy();
        expect(readdirSync(join(b.dir, "received"))).not.toContain("evil");
        expect((await client(m).sessions()).filter((s) => s.state === "up")).toEqual([]);
      } finally {
        await pfs(m, "stop");
      }
    }, 40000);

    it("bad input to the CLI is refused with a clear message and changes nothing", async () => {
      await expect(pfs(a, "send", join(base, "src/album"), "beta:../out")).rejects.toMatchObject({
        stderr: expect.stringMatching(/relative to the peer's receive root/),
      });
      await expect(pfs(a, "send", join(base, "nope"), "beta")).rejects.toMatchObject({
        stderr: expect.stringMatching(/no such file or directory/),
      });
      await expect(pfs(a, "send", join(base, "src/album"), "nobody")).rejects.toMatchObject({
        stderr: expect.stringMatching(/no peer named nobody/),
      });
      await expect(pfs(a, "blob", "verify", "nobody")).rejects.toMatchObject({
        stderr: expect.stringMatching(/no peer named nobody/),
      });
      await expect(pfs(a, "send", `${base}/${"x".repeat(5000)}`, "beta")).rejects.toMatchObject({
        stderr: expect.stringMatching(/sources|too long|longer|no such file/),
      });
      await expect(pfs(a, "start", "--backend", "xdp", "--iface", "lo")).rejects.toMatchObject({
        stderr: expect.stringMatching(/already runs/),
      });
    });

    it("start with an xdp set-up the data plane refuses says why at once, not after 15 s", async () => {
      const c = await init(base, "gamma");
      const t0 = Date.now();
      const err = await pfs(
        c,
        "start",
        "--backend",
        "xdp",
        "--iface",
        "nosuch0",
        "--control",
        `127.0.0.1:${c.control}`,
        "--listen",
        `0.0.0.0:${c.data}`,
        "--rest",
        `127.0.0.1:${c.rest}`,
      ).catch((e: { stderr: string }) => e);
      expect(Date.now() - t0).toBeLessThan(10000);
      // as root the data plane says there is no such interface; as a user, the
      // privilege check refuses first
      expect((err as { stderr: string }).stderr).toMatch(
        /the daemon exited at start \(status 1\): pfs-dataplane did not start: .*nosuch0|the xdp backend needs root/,
      );
      expect(existsSync(join(c.dir, "state/daemon.pid"))).toBe(false);
    });
  },
);
