/**
 * Two PacketFS nodes for the demo and the benchmark matrix: each a config
 * directory, a daemon and its data plane, in a network namespace of the
 * emulated-link topology (demo-link.ts) or on loopback; keys pinned both ways
 * and the session up before anything is sent. Also what both need around
 * them: running a command in a namespace, waiting with a deadline, and
 * undoing everything a run made from any way out, signal handlers included.
 */

import { type ChildProcess, execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import type { TransferInfo } from "../daemon/types.js";
import { repoRoot } from "../native.js";
import { type Topology, pidsUnder, teardownTopology } from "./demo-link.js";

const run = promisify(execFile);

export interface TestNode {
  name: string;
  dir: string;
  ns?: string;
  iface?: string;
  addr: string;
  control: number;
  rest: number;
  data: number;
  fingerprint: string;
  /**
   * a command prefix the daemon is started under (e.g. one that joins a
   * cgroup first), so that the daemon and its data plane inherit it
   */
  startPrefix?: string[];
}

/** Everything a run made, so that one synchronous function can undo it from anywhere. */
export interface Made {
  base?: string;
  nodes: TestNode[];
  started: TestNode[];
  children: ChildProcess[];
  topo?: Topology;
  linkem?: ChildProcess;
  /** kills every process the run started, wherever it is (first thing cleanup does) */
  killAll?: () => void;
  /** undoes a change to the host made for the run (after everything else) */
  undo?: () => void;
}

export interface NodeOptions {
  /** where the two nodes' config directories go */
  dir: string;
  /** the two nodes live in the topology's namespaces (else on loopback) */
  topo?: Topology | undefined;
  backend: "udp" | "xdp";
  /** blob log capacity, e.g. "256MiB" */
  blob: string;
  startPrefix?: (side: "a" | "b") => string[];
  /** a line of progress, for the person watching */
  say?: (line: string) => void;
}

const cli = (): string => join(repoRoot(), "dist/ts/cli.js");

export function inNs(ns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return ns ? ["ip", ["netns", "exec", ns, cmd, ...args]] : [cmd, args];
}

/** Runs `pfs-dp ARGS --config-dir DIR` as node n; the error names the node and what it said. */
export async function pfs(n: TestNode, ...args: string[]): Promise<string> {
  let [cmd, argv] = inNs(n.ns, process.execPath, [cli(), ...args, "--config-dir", n.dir]);
  if (args[0] === "start" && n.startPrefix?.length) {
    argv = [...n.startPrefix.slice(1), cmd, ...argv];
    cmd = n.startPrefix[0] as string;
  }
  try {
    const { stdout } = await run(cmd, argv, { timeout: 120000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const said = `${e.stderr ?? ""}${e.stdout ?? ""}`.trim().slice(0, 2000);
    throw new Error(`pfs-dp ${args.join(" ")} on ${n.name} failed${said ? `: ${said}` : ""}`);
  }
}

/** Polls f every 100 ms until it yields a value; throws after ms. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

/** Stops the started daemons and then kills whatever still runs from under `dir`; never throws. */
export function stopNodes(made: Made, dir: string): void {
  for (const n of made.started) {
    const [cmd, argv] = inNs(n.ns, process.execPath, [cli(), "stop", "--config-dir", n.dir]);
    spawnSync(cmd, argv, { stdio: "ignore", timeout: 15000 });
  }
  // a daemon that `pfs-dp stop` could not end, and a data plane it left behind
  for (let i = 0; i < 5; i++) {
    const pids = pidsUnder(dir);
    if (pids.length === 0) break;
    for (const pid of pids) safeKill(pid, "SIGKILL");
    sleepSync(200);
  }
  made.started.length = 0;
  made.nodes.length = 0;
}

/** Undoes whatever `made` lists; synchronous (it runs from signal handlers too), never throws. */
export function cleanup(made: Made): void {
  made.killAll?.();
  for (const c of made.children) if (c.exitCode === null && c.pid) safeKill(c.pid, "SIGKILL");
  if (made.base !== undefined) stopNodes(made, made.base);
  if (made.topo) teardownTopology(made.topo);
  if (made.base !== undefined) rmSync(made.base, { recursive: true, force: true });
  made.undo?.();
  made.children.length = 0;
  delete made.base;
  delete made.undo;
  delete made.killAll;
}

export function waitExit(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${c.spawnfile} did not exit in ${ms / 1000} s`)),
      ms,
    );
    c.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** Makes nodes alpha (side a) and beta (side b), pins keys, starts both, waits for the session. */
export async function setUpNodes(
  made: Made,
  o: NodeOptions,
): Promise<{ a: TestNode; b: TestNode }> {
  const t = o.topo;
  const nodes: TestNode[] = [];
  for (const [name, side] of [
    ["alpha", "a"],
    ["beta", "b"],
  ] as const) {
    const common = { name, dir: join(o.dir, name), fingerprint: "" };
    const n: TestNode = t
      ? {
          ...common,
          ns: side === "a" ? t.nsA : t.nsB,
          iface: side === "a" ? t.ifA : t.ifB,
          addr: side === "a" ? t.ipA : t.ipB,
          control: 7443,
          rest: 7445,
          data: 4433,
        }
      : {
          ...common,
          addr: "127.0.0.1",
          control: await freeTcpPort(),
          rest: await freeTcpPort(),
          data: await freeTcpPort(),
        };
    if (o.startPrefix) n.startPrefix = o.startPrefix(side);
    n.fingerprint = (
      JSON.parse(await pfs(n, "init", "--name", name, "--json")) as { fingerprint: string }
    ).fingerprint;
    nodes.push(n);
    made.nodes.push(n);
  }
  const [a, b] = nodes as [TestNode, TestNode];
  await pfs(a, "peers", "add", b.name, `${b.addr}:${b.control}`, "--key", b.fingerprint);
  await pfs(b, "peers", "add", a.name, `${a.addr}:${a.control}`, "--key", a.fingerprint);
  o.say?.(`keys pinned: alpha ${a.fingerprint.slice(0, 19)}…, beta ${b.fingerprint.slice(0, 19)}…`);
  await Promise.all(
    nodes.map((n) => {
      const args = ["start", "--listen", `${n.addr}:${n.data}`, "--control"];
      args.push(`${n.addr}:${n.control}`, "--rest", `127.0.0.1:${n.rest}`, "--blob-size", o.blob);
      if (o.backend === "xdp") args.push("--backend", "xdp", "--iface", n.iface as string);
      made.started.push(n);
      return pfs(n, ...args);
    }),
  );
  await until(
    "the session between alpha and beta",
    async () => {
      const s = JSON.parse(await pfs(a, "status", "--json")) as {
        sessions: { peer: string; state: string }[];
      };
      return s.sessions.find((x) => x.peer === "beta" && x.state === "up");
    },
    60000,
  );
  return { a, b };
}

/** Sends `path` from a to b's `dest`; seconds as the daemon timed the transfer. */
export async function pfsSend(a: TestNode, b: TestNode, path: string, dest: string) {
  const t0 = performance.now();
  const t = JSON.parse(await pfs(a, "send", path, `${b.name}:${dest}`, "--json")) as TransferInfo;
  const wall = (performance.now() - t0) / 1000;
  if (t.state !== "done") throw new Error(`send ${path}: ${t.state}: ${t.error?.message ?? ""}`);
  const secs = t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : wall;
  const received = join(b.dir, "received", dest, path.split("/").pop() as string);
  return { t, secs: secs > 0 ? secs : wall, wall, received };
}
