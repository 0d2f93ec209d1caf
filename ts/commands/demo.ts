/**
 * `pfs-dp demo`: the point of PacketFS in one command. Two nodes, a real
 * dataset in two versions (v1, then v2 with ~1 % of its files changed), each
 * sent by PacketFS and by a plain TCP copy (socat); a table of file bytes,
 * wire bytes and time. As root the nodes are two network namespaces joined
 * through a third where pfs-linkem emulates a WAN link (demo-link.ts); as
 * anyone else, two daemons on loopback. Everything the demo makes — daemons,
 * data planes, namespaces, veth, XDP programs, temporary files — is removed
 * on every way out, Ctrl-C included.
 */

import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import type { Command } from "commander";

import type { TransferInfo } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import { repoRoot, toolPath } from "../native.js";
import type { Io } from "../util/io.js";
import { parseSize } from "../util/size.js";
import { type Dataset, makeDataset } from "./demo-dataset.js";
import { type Row, formatTable, mb, verdict } from "./demo-report.js";
import {
  type Topology,
  buildTopology,
  hasCommand,
  pidsUnder,
  startLinkem,
  teardownTopology,
  topologyNames,
} from "./demo-link.js";

const run = promisify(execFile);

interface DemoNode {
  name: string;
  dir: string;
  ns?: string;
  iface?: string;
  addr: string;
  control: number;
  rest: number;
  data: number;
  fingerprint: string;
}

interface DemoFlags {
  rate: string;
  rtt: string;
  size: string;
  backend: string;
  local?: boolean;
}

/** Everything a run made, so that one synchronous function can undo it from anywhere. */
interface Made {
  base?: string;
  nodes: DemoNode[];
  started: DemoNode[];
  children: ChildProcess[];
  topo?: Topology;
  linkem?: ChildProcess;
}

interface DirStats {
  in_packets: number;
  out_packets: number;
  dropped: Record<string, number>;
}

/** A line on what the emulator carried and dropped, from its --stats JSON. */
function linkemStats(path: string): string {
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as { a_to_b: DirStats; b_to_a: DirStats };
    const dir = (d: DirStats): string => {
      const drops = Object.entries(d.dropped).filter(([, n]) => n > 0);
      return `${d.in_packets} frames in, ${d.out_packets} out${drops.length ? `, dropped ${drops.map(([k, n]) => `${n} ${k}`).join(", ")}` : ""}`;
    };
    return `A→B ${dir(s.a_to_b)}; B→A ${dir(s.b_to_a)}`;
  } catch {
    return "none written";
  }
}

const cli = (): string => join(repoRoot(), "dist/ts/cli.js");

function inNs(ns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return ns ? ["ip", ["netns", "exec", ns, cmd, ...args]] : [cmd, args];
}

async function pfs(n: DemoNode, ...args: string[]): Promise<string> {
  const [cmd, argv] = inNs(n.ns, process.execPath, [cli(), ...args, "--config-dir", n.dir]);
  try {
    const { stdout } = await run(cmd, argv, { timeout: 120000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const said = `${e.stderr ?? ""}${e.stdout ?? ""}`.trim().slice(0, 2000);
    throw new Error(`pfs-dp ${args.join(" ")} on ${n.name} failed${said ? `: ${said}` : ""}`);
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Undoes whatever `made` lists; synchronous (it runs from signal handlers too), never throws. */
function cleanup(made: Made): void {
  for (const c of made.children) if (c.exitCode === null && c.pid) safeKill(c.pid, "SIGKILL");
  for (const n of made.started) {
    const [cmd, argv] = inNs(n.ns, process.execPath, [cli(), "stop", "--config-dir", n.dir]);
    spawnSync(cmd, argv, { stdio: "ignore", timeout: 15000 });
  }
  if (made.base !== undefined) {
    // a daemon that `pfs-dp stop` could not end, and a data plane it left behind
    for (let i = 0; i < 5; i++) {
      const pids = pidsUnder(made.base);
      if (pids.length === 0) break;
      for (const pid of pids) safeKill(pid, "SIGKILL");
      sleepSync(200);
    }
  }
  if (made.topo) teardownTopology(made.topo);
  if (made.base !== undefined) rmSync(made.base, { recursive: true, force: true });
  made.started.length = 0;
  made.children.length = 0;
  delete made.base;
}

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

function waitExit(c: ChildProcess, ms: number): Promise<number | null> {
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

/** Parses "20ms", "0.02s", "500us" or a bare number of milliseconds into microseconds. */
export function parseRtt(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s)?$/.exec(text.trim());
  if (!m) throw new PfsError("PFS_ERR_USAGE", `--rtt ${text}: expected a time such as 20ms`);
  const mult = { us: 1, ms: 1000, s: 1e6 }[(m[2] ?? "ms") as "us" | "ms" | "s"];
  return Math.round(Number(m[1]) * mult);
}

async function setUpNodes(made: Made, flags: DemoFlags, root: boolean, blob: string, io: Io) {
  const base = made.base as string;
  const t = made.topo;
  const nodes: DemoNode[] = [];
  for (const [name, side] of [
    ["alpha", "a"],
    ["beta", "b"],
  ] as const) {
    const n: DemoNode = t
      ? {
          name,
          dir: join(base, name),
          ns: side === "a" ? t.nsA : t.nsB,
          iface: side === "a" ? t.ifA : t.ifB,
          addr: side === "a" ? t.ipA : t.ipB,
          control: 7443,
          rest: 7445,
          data: 4433,
          fingerprint: "",
        }
      : {
          name,
          dir: join(base, name),
          addr: "127.0.0.1",
          control: await freeTcpPort(),
          rest: await freeTcpPort(),
          data: await freeTcpPort(),
          fingerprint: "",
        };
    n.fingerprint = (
      JSON.parse(await pfs(n, "init", "--name", name, "--json")) as {
        fingerprint: string;
      }
    ).fingerprint;
    nodes.push(n);
    made.nodes.push(n);
  }
  const [a, b] = nodes as [DemoNode, DemoNode];
  await pfs(a, "peers", "add", b.name, `${b.addr}:${b.control}`, "--key", b.fingerprint);
  await pfs(b, "peers", "add", a.name, `${a.addr}:${a.control}`, "--key", a.fingerprint);
  io.out(
    `keys pinned: alpha ${a.fingerprint.slice(0, 19)}…, beta ${b.fingerprint.slice(0, 19)}…\n`,
  );
  for (const n of nodes) {
    const args = [
      "start",
      "--listen",
      `${n.addr}:${n.data}`,
      "--control",
      `${n.addr}:${n.control}`,
    ];
    args.push("--rest", `127.0.0.1:${n.rest}`, "--blob-size", blob);
    if (root && flags.backend === "xdp")
      args.push("--backend", "xdp", "--iface", n.iface as string);
    made.started.push(n);
    await pfs(n, ...args);
  }
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
  io.out(
    `daemons up (${root && flags.backend === "xdp" ? "xdp" : "udp"} backend), session alpha ↔ beta established\n`,
  );
  return { a, b };
}

/** A plain TCP copy of `file` from a to b (socat at both ends); returns seconds. */
async function tcpCopy(made: Made, a: DemoNode, b: DemoNode, file: string, out: string) {
  const port = b.ns ? 5001 : await freeTcpPort();
  const [lc, la] = inNs(b.ns, "socat", [
    "-u",
    `TCP-LISTEN:${port},bind=${b.addr},reuseaddr`,
    `CREATE:${out}`,
  ]);
  const listener = spawn(lc, la, { stdio: "ignore" });
  made.children.push(listener);
  await until(
    "socat to listen",
    async () => {
      const [sc, sa] = inNs(b.ns, "ss", ["-Hltn", `sport = :${port}`]);
      return (await run(sc, sa)).stdout.includes(`:${port}`) || undefined;
    },
    10000,
  );
  const t0 = performance.now();
  const [cc, ca] = inNs(a.ns, "socat", ["-u", `OPEN:${file},rdonly`, `TCP:${b.addr}:${port}`]);
  const sender = spawn(cc, ca, { stdio: "ignore" });
  made.children.push(sender);
  const [sent, got] = await Promise.all([waitExit(sender, 120000), waitExit(listener, 120000)]);
  const secs = (performance.now() - t0) / 1000;
  if (sent !== 0 || got !== 0)
    throw new Error(`the TCP copy failed (socat exited ${sent}, ${got})`);
  return secs;
}

async function pfsSend(a: DemoNode, b: DemoNode, file: string, dest: string) {
  const t0 = performance.now();
  const t = JSON.parse(await pfs(a, "send", file, `beta:${dest}`, "--json")) as TransferInfo;
  const wall = (performance.now() - t0) / 1000;
  if (t.state !== "done") throw new Error(`send ${file}: ${t.state}: ${t.error?.message ?? ""}`);
  const secs = t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : wall;
  const received = join(b.dir, "received", dest, file.split("/").pop() as string);
  return { t, secs: secs > 0 ? secs : wall, received };
}

async function runDemo(flags: DemoFlags, io: Io, made: Made): Promise<Row[]> {
  const root = process.getuid?.() === 0 && !flags.local;
  const size = parseSize(flags.size);
  const delayUs = Math.round(parseRtt(flags.rtt) / 2);
  if (!["udp", "xdp"].includes(flags.backend)) {
    throw new PfsError("PFS_ERR_USAGE", `--backend ${flags.backend}: expected udp or xdp`);
  }
  if (flags.backend === "xdp" && !root) {
    throw new PfsError("PFS_ERR_USAGE", "--backend xdp needs root (and is not used with --local)");
  }
  if (!hasCommand("socat", "-V")) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      "the demo compares with a TCP copy by socat: apt-get install socat",
    );
  }
  if (root) {
    for (const [cmd, arg] of [
      ["ip", "-V"],
      ["ethtool", "--version"],
    ] as const) {
      if (!hasCommand(cmd, arg))
        throw new PfsError("PFS_ERR_USAGE", `the demo needs ${cmd} as root`);
    }
    const link = flags.rate === "0" ? "an unshaped link" : `a ${flags.rate}/s link`;
    io.out(
      `PacketFS demo: two hosts (network namespaces) joined by pfs-linkem emulating ${link}, ` +
        `${(2 * delayUs) / 1000} ms RTT\n`,
    );
  } else {
    io.out(
      process.getuid?.() === 0
        ? "PacketFS demo on loopback (--local): two daemons on this host, no link emulation\n"
        : "PacketFS demo on loopback: two daemons on this host, udp backend.\n" +
            "Not root, so no emulated link: the two test hosts and the 1 Gbit/s, 20 ms RTT link\n" +
            "need root (network namespaces, veth, pfs-linkem). Run it as root to see a WAN.\n",
    );
  }

  made.base = mkdtempSync(join(tmpdir(), "pfs-demo-"));
  const data = join(made.base, "data");
  mkdirSync(data);
  const t0 = performance.now();
  const ds: Dataset = makeDataset(data, size);
  io.out(
    `dataset: v1.tar ${mb(ds.v1Bytes)} (${ds.files} files from ${ds.roots.join(", ")}); ` +
      `v2.tar ${mb(ds.v2Bytes)} (${ds.changed} files appended to, ${ds.added} added) ` +
      `[${((performance.now() - t0) / 1000).toFixed(1)} s]\n`,
  );

  let linkem: ChildProcess | undefined;
  if (root) {
    const prefix = `pfd${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
    made.topo = topologyNames(prefix);
    buildTopology(made.topo);
    linkem = startLinkem(made.topo, flags.rate, delayUs, join(made.base, "linkem.json"));
    made.children.push(linkem);
    made.linkem = linkem;
    let err = "";
    linkem.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    await sleep(300);
    if (linkem.exitCode !== null) throw new Error(`pfs-linkem did not start: ${err.trim()}`);
    io.out(
      `hosts: ${made.topo.nsA} ${made.topo.ipA} ⇄ ${made.topo.nsM} (${toolPath("pfs-linkem").split("/").pop()}) ⇄ ${made.topo.nsB} ${made.topo.ipB}\n`,
    );
  }
  // the blob log holds v1's literal bytes and v2's few; a power of two, as the data plane wants
  let blobMiB = 256;
  while (blobMiB * 2 ** 20 < 3 * size) blobMiB *= 2;
  const blob = `${blobMiB}MiB`;
  const { a, b } = await setUpNodes(made, flags, root, blob, io);

  const rows: Row[] = [];
  for (const [label, file, dest] of [
    ["v1 (new)", ds.v1, "v1"],
    ["v2 (update)", ds.v2, "v2"],
  ] as const) {
    const digest = await sha256(file);
    const s = await pfsSend(a, b, file, dest);
    const okPfs = (await sha256(s.received)) === digest;
    const tcpOut = join(made.base, `tcp-${dest}.tar`);
    const tcpSecs = await tcpCopy(made, a, b, file, tcpOut);
    const okTcp = (await sha256(tcpOut)) === digest;
    rmSync(tcpOut, { force: true });
    if (!okPfs || !okTcp) throw new Error(`${label}: a received copy differs from the file`);
    const row: Row = {
      label,
      fileBytes: s.t.bytesDone,
      wireBytes: s.t.wireBytes,
      secs: s.secs,
      tcpSecs,
      verified: true,
    };
    io.out(
      `${label}: PacketFS ${mb(row.fileBytes)} in ${row.secs.toFixed(2)} s, ${mb(row.wireBytes)} on the wire ` +
        `(${mb(s.t.pointerBytes)} as pointers); TCP ${tcpSecs.toFixed(2)} s; both copies verified (sha256)\n`,
    );
    rows.push(row);
  }
  if (linkem) {
    linkem.kill("SIGTERM");
    await waitExit(linkem, 10000).catch(() => undefined);
  }
  return rows;
}

export function addDemoCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("demo")
    .description(
      "show PacketFS against a plain TCP copy: two nodes, a real dataset sent as v1 then v2",
    )
    .option(
      "--rate <RATE>",
      "emulated link rate (root), e.g. 100mbit, 1gbit; 0 = unshaped",
      "1gbit",
    )
    .option("--rtt <TIME>", "emulated round-trip time (root), e.g. 20ms", "20ms")
    .option("--size <SIZE>", "about how much of this machine's files v1 holds, e.g. 16M", "100M")
    .option("--backend <udp|xdp>", "data-plane backend of both nodes (xdp: root only)", "udp")
    .option("--local", "two daemons on loopback, no namespaces (what a normal user gets)")
    .addHelpText(
      "after",
      `
As root: two network namespaces joined through a third where pfs-linkem emulates
the link (needs ip, ethtool, socat). Otherwise: two daemons on loopback, udp
backend, no link emulation. Each version is sent by PacketFS and by socat over
TCP; both copies are checked by sha256. Everything is removed at the end, also
on Ctrl-C. Takes about a minute.

Examples:
  $ pfs-dp demo
  $ sudo pfs-dp demo --rate 100mbit --rtt 40ms
  $ sudo pfs-dp demo --backend xdp
  $ pfs-dp demo --size 16M --local`,
    )
    .action(async (flags: DemoFlags) => {
      const made: Made = { nodes: [], started: [], children: [] };
      const onSignal = (sig: NodeJS.Signals): void => {
        io.err(`\n${sig}: cleaning up…\n`);
        cleanup(made);
        process.exit(sig === "SIGINT" ? 130 : 143);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const t0 = performance.now();
      try {
        const rows = await runDemo(flags, io, made);
        io.out("\n" + formatTable(rows) + "\n");
        const local = process.getuid?.() !== 0 || flags.local === true;
        io.out(verdict(rows[0] as Row, rows[1] as Row, local) + "\n");
        io.out(
          `(files verified by sha256 at the receiver; whole demo ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      } catch (err) {
        setCode(1);
        if (err instanceof PfsError) throw err;
        io.err(`error: the demo failed: ${(err as Error).message ?? String(err)}\n`);
        if (made.linkem && made.base) {
          made.linkem.kill("SIGTERM");
          await waitExit(made.linkem, 5000).catch(() => undefined);
          io.err(`  pfs-linkem saw: ${linkemStats(join(made.base, "linkem.json"))}\n`);
        }
        io.err("  everything the demo made has been removed\n");
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        cleanup(made);
      }
    });
}
