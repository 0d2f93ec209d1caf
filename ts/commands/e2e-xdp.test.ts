/**
 * The operator's path with the xdp backend, end to end: two nodes, each in a
 * network namespace of its own, each run with the built CLI
 * (`ip netns exec NS node dist/ts/cli.js …`) as a person would run it:
 *
 *   namespace pxe<tag>a                            namespace pxe<tag>b
 *   pxea0  198.18.210.1/24  ---------veth---------  pxeb0  198.18.210.2/24
 *   pfs-dp start --backend xdp --iface pxea0        pfs-dp start --backend xdp --iface pxeb0
 *     data plane 198.18.210.1:4433 (AF_XDP)           data plane 198.18.210.2:4433
 *     control    198.18.210.1:7443 (TLS)              control    198.18.210.2:7443
 *     REST       127.0.0.1:7445 (the namespace's lo)  REST       127.0.0.1:7445
 *
 * `init`, `peers add` with each other's fingerprints, `start`; then status
 * shows xdp on each veth, a file sent through the CLI arrives byte-identical
 * having crossed AF_XDP (the XDP program counts it as redirected), a second
 * send of it travels as pointers, ping and the TLS control channel keep
 * working beside the program, and `stop` leaves no XDP program on either
 * veth. Addresses come only from 198.18.210.0/24 (benchmarking range).
 * Runs only as root, with ip, and once the built data plane has --backend;
 * whatever happens, the daemons and data planes this test started are ended
 * and the namespaces (with their veth ends and any program left on them),
 * the data plane's lock files for them and the temporary dirs are removed.
 */

import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { configPaths } from "../config/paths.js";
import { regionFor } from "../daemon/settings.js";
import type { Health, TransferInfo } from "../daemon/types.js";
import { repoRoot } from "../native.js";
import { dataPlaneHasOption } from "../testing/dataplane.js";
import { pidsUnder, xdpProgIds } from "./demo-link.js";

const run = promisify(execFile);
const cli = join(repoRoot(), "dist/ts/cli.js");

function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function hasIp(): boolean {
  return spawnSync("ip", ["-V"], { encoding: "utf8" }).status === 0;
}

const why =
  process.getuid?.() !== 0
    ? "needs root (namespaces, veth, XDP)"
    : !hasIp()
      ? "needs ip (iproute2)"
      : !existsSync(cli)
        ? "dist/ts/cli.js is not built (npx tsc -p tsconfig.json)"
        : !dataPlaneHasOption("--backend")
          ? "build/pfs-dataplane has no --backend yet (cmake --build build)"
          : undefined;

// names unique to this run: interface names are at most 15 bytes
const tag = `${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const LOCK_DIR = "/run/packetfs"; // the data plane's per-interface lock files (io_xdp.c)
const FILE_SIZE = 16 * 1024 * 1024;
const REST = "127.0.0.1:7445";

interface Node {
  name: string;
  ns: string;
  iface: string;
  addr: string;
  dir: string;
  fingerprint: string;
}

function node(name: string, side: "a" | "b", base: string): Node {
  return {
    name,
    ns: `pxe${tag}${side}`,
    iface: `pxe${side}0`,
    addr: side === "a" ? "198.18.210.1" : "198.18.210.2",
    dir: join(base, name),
    fingerprint: "",
  };
}

/** The CLI in the node's namespace, on its config dir. */
async function pfs(n: Node, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run("ip", ["netns", "exec", n.ns, process.execPath, cli, ...args, "--config-dir", n.dir], {
    timeout: 60000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

async function pfsJson<T>(n: Node, ...args: string[]): Promise<T> {
  return JSON.parse((await pfs(n, ...args, "--json")).stdout) as T;
}

/** The node's /metrics, fetched from inside its namespace (its REST API is on that lo). */
async function metrics(n: Node): Promise<string> {
  const token = readFileSync(join(n.dir, "token"), "utf8").trim();
  const script =
    `fetch("http://${REST}/metrics", { headers: { authorization: "Bearer " + process.argv[1] } })` +
    `.then(async (r) => { if (!r.ok) throw new Error(r.status); process.stdout.write(await r.text()); })`;
  const { stdout } = await run(
    "ip",
    ["netns", "exec", n.ns, process.execPath, "-e", script, token],
    {
      timeout: 20000,
    },
  );
  return stdout;
}

async function until<T>(f: () => Promise<T | undefined>, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await sleep(200);
  }
}

/** Removes what this test made, whatever state it is in; never throws. */
async function cleanup(base: string | undefined, nodes: Node[], made: string[]): Promise<void> {
  if (base !== undefined) {
    // a daemon that `pfs-dp stop` could not end, and a data plane it left behind
    for (let i = 0; i < 3; i++) {
      const pids = pidsUnder(base);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone meanwhile */
        }
      }
      await sleep(300);
    }
  }
  for (const n of nodes) {
    rmSync(regionFor(configPaths(n.dir)), { force: true });
    if (!made.includes(n.ns)) continue;
    if (xdpProgIds(n.ns, n.iface).length > 0) {
      // a data plane that died without detaching: take its program off
      spawnSync("ip", ["-n", n.ns, "link", "set", "dev", n.iface, "xdpgeneric", "off"]);
      spawnSync("ip", ["-n", n.ns, "link", "set", "dev", n.iface, "xdpdrv", "off"]);
    }
    try {
      const ino = statSync(`/run/netns/${n.ns}`).ino;
      spawnSync("sh", ["-c", `rm -f ${LOCK_DIR}/xdp-${ino}-*.lock`]);
    } catch {
      /* no such namespace */
    }
    spawnSync("ip", ["netns", "del", n.ns]);
  }
  if (base !== undefined) rmSync(base, { recursive: true, force: true });
}

describe.skipIf(why !== undefined)(
  `pfs-dp end to end: two nodes on the xdp backend in namespaces${why ? ` (skipped: ${why})` : ""}`,
  { timeout: 120000 },
  () => {
    const made: string[] = [];
    let base: string | undefined;
    let a: Node, b: Node;
    let file: Buffer;
    let src: string;

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), "pfs-e2e-xdp-"));
      a = node("alpha", "a", base);
      b = node("beta", "b", base);
      for (const n of [a, b]) {
        ip("netns", "add", n.ns);
        made.push(n.ns);
        ip("-n", n.ns, "link", "set", "lo", "up");
      }
      ip(
        "-n",
        a.ns,
        "link",
        "add",
        a.iface,
        "type",
        "veth",
        "peer",
        "name",
        b.iface,
        "netns",
        b.ns,
      );
      for (const n of [a, b]) {
        ip("-n", n.ns, "addr", "add", `${n.addr}/24`, "dev", n.iface);
        ip("-n", n.ns, "link", "set", n.iface, "up");
      }
      src = join(base, "src/big.bin");
      file = randomBytes(FILE_SIZE);
      mkdirSync(join(base, "src"));
      writeFileSync(src, file);

      for (const n of [a, b]) {
        const { stdout } = await pfs(n, "init", "--name", n.name, "--json");
        n.fingerprint = (JSON.parse(stdout) as { fingerprint: string }).fingerprint;
      }
      await pfs(a, "peers", "add", b.name, `${b.addr}:7443`, "--key", b.fingerprint);
      await pfs(b, "peers", "add", a.name, `${a.addr}:7443`, "--key", a.fingerprint);
      for (const n of [a, b]) {
        const started = await pfs(
          n,
          "start",
          "--backend",
          "xdp",
          "--iface",
          n.iface,
          "--listen",
          `${n.addr}:4433`,
          "--control",
          `${n.addr}:7443`,
          "--rest",
          REST,
          "--blob-size",
          "256MiB",
        );
        expect(started.stdout).toContain(n.fingerprint);
      }
      await until(async () => {
        const s = await pfsJson<{ sessions: { peer: string; state: string }[] }>(a, "status");
        return s.sessions.find((x) => x.peer === "beta" && x.state === "up");
      }, 60000);
    }, 120000);

    afterAll(async () => {
      try {
        const running = [a, b].filter((n) => n && made.includes(n.ns));
        await Promise.all(running.map((n) => pfs(n, "stop").catch(() => undefined)));
      } finally {
        await cleanup(base, [a, b].filter(Boolean), made);
      }
    }, 90000);

    it("status on each node shows its data plane on the xdp backend on its veth", async () => {
      for (const n of [a, b]) {
        const s = await pfsJson<{ health: Health; sessions: { peer: string; state: string }[] }>(
          n,
          "status",
        );
        expect(s.health.dataplane.running).toBe(true);
        expect(s.health.dataplane.backend, n.name).toMatchObject({ kind: "xdp", ifname: n.iface });
        expect(["native", "generic"]).toContain(s.health.dataplane.backend?.xdpMode);
        expect(s.sessions.find((x) => x.peer !== n.name)?.state).toBe("up");
        const { stdout } = await pfs(n, "status");
        expect(stdout).toMatch(new RegExp(`backend\\s+xdp on ${n.iface}, (native|generic) mode`));
        expect(xdpProgIds(n.ns, n.iface).length, `a program on ${n.iface}`).toBeGreaterThan(0);
      }
    });

    it("sends a file through AF_XDP: byte-identical at the receiver, then again as pointers", async () => {
      const redirected = async (n: Node): Promise<number> =>
        Number(
          /packetfs_xdp_packets_total\{reason="redirected"\} (\d+)/.exec(await metrics(n))?.[1] ??
            0,
        );
      const before = await redirected(b);

      const first = await pfsJson<TransferInfo>(a, "send", src, "beta:inbox");
      expect(first.state, JSON.stringify(first)).toBe("done");
      expect(first.bytesDone).toBe(FILE_SIZE);
      expect(first.wireBytes).toBeGreaterThanOrEqual(FILE_SIZE); // random bytes: all literal
      expect(readFileSync(join(b.dir, "received/inbox/big.bin")).equals(file)).toBe(true);
      // the blocks reached beta's data plane through its XDP program, not the kernel's UDP
      // (counts come with the data plane's BACKEND report, once a second)
      await until(
        async () => (await redirected(b)) - before > FILE_SIZE / 1500 || undefined,
        10000,
      );

      const second = await pfsJson<TransferInfo>(a, "send", src, "beta:again");
      expect(second.state, JSON.stringify(second)).toBe("done");
      expect(second.bytesDone).toBe(FILE_SIZE);
      expect(second.wireBytes).toBeLessThan(second.bytesDone / 20);
      expect(second.pointerBytes).toBeGreaterThan(FILE_SIZE * 0.9);
      expect(readFileSync(join(b.dir, "received/again/big.bin")).equals(file)).toBe(true);

      // both show in the sender's list with what they cost, and beta received both
      const sent = await pfsJson<TransferInfo[]>(a, "transfers");
      expect(sent.find((t) => t.id === second.id)).toMatchObject({
        direction: "send",
        state: "done",
        wireBytes: second.wireBytes,
      });
      const received = await until(async () => {
        const list = await pfsJson<TransferInfo[]>(b, "transfers");
        const done = list.filter((t) => t.direction === "receive" && t.state === "done");
        return done.length >= 2 ? done : undefined;
      });
      expect(received.every((t) => t.peer === "alpha")).toBe(true);
    });

    it("ping and the control channel work beside the XDP programs", async () => {
      const { stdout } = await run(
        "ip",
        ["netns", "exec", a.ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", b.addr],
        { timeout: 20000 },
      );
      expect(stdout).toMatch(/3 packets transmitted, 3 received/);
      // the TLS control channel (TCP past the program): blob verify asks the peer
      await sleep(400); // logs are made durable every 100 ms
      const { stdout: verify } = await pfs(a, "blob", "verify", "beta");
      expect(verify).toMatch(/beta: the logs agree/);
    });

    it("stop on both nodes leaves no XDP program on either veth", async () => {
      for (const n of [a, b]) {
        const { stdout } = await pfs(n, "stop");
        expect(stdout).toMatch(/pfs-dp stopped/);
      }
      for (const n of [a, b]) {
        expect(ip("-n", n.ns, "-d", "link", "show", "dev", n.iface)).not.toMatch(/xdp/);
        expect(pidsUnder(n.dir), `processes of ${n.name} left`).toEqual([]);
      }
    });
  },
);
