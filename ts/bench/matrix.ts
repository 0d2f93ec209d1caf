/**
 * `pfs-dp bench matrix`: PacketFS against a TCP copy, rsync, zstd -3 and
 * zstd --patch-from, on the same emulated links in the same run. Two test
 * hosts (namespaces) joined through a third where pfs-linkem shapes the link
 * (demo-link.ts); for every (link, loss) pass, dataset and tool, `reps` timed
 * runs measured alike (matrix-measure.ts); results and report written by
 * matrix-report.ts. PacketFS runs on fresh daemons every time, so no run sees
 * the blob of another; for an update it first sends the previous version.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { PfsError } from "../errors.js";
import { repoRoot } from "../native.js";
import type { Io } from "../util/io.js";
import {
  type Topology,
  buildTopology,
  hasCommand,
  spawnLinkem,
  topologyNames,
} from "../commands/demo-link.js";
import {
  type Made,
  cleanup,
  pfsSend,
  setUpNodes,
  stopNodes,
  until,
  waitExit,
} from "../commands/testbed.js";
import { PeakMemory, SideCgroups, type SideName, digestOf, rxBytes } from "./matrix-measure.js";
import {
  type ManifestEntry,
  type MatrixFlags,
  type MatrixOptions,
  type Pass,
  linkemArgs,
  passes,
  planOptions,
  readManifest,
  runsOn,
} from "./matrix-plan.js";
import { summarize, writeReport } from "./matrix-report.js";
import { toolRun } from "./matrix-tools.js";
import {
  type Cell,
  type LinkInfo,
  type MatrixResult,
  type RunResult,
  TOOL_LABELS,
  type ToolId,
} from "./matrix-types.js";

/** Longest a single timed run may take before it is stopped and recorded as failed. */
const RUN_LIMIT_MS = 300_000;

interface Ctx {
  o: MatrixOptions;
  io: Io;
  made: Made;
  topo: Topology;
  cg: SideCgroups;
  mem: PeakMemory;
  work: string;
  /** the link pfs-linkem emulates now */
  link?: { l: LinkInfo; loss: number };
  digests: Map<string, string>;
  runNo: number;
}

function sh(ns: string, ...args: string[]): void {
  const r = spawnSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} in ${ns}: ${r.stderr.trim()}`);
}

const ALLOWED_CC = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";

/**
 * A namespace may only pick congestion controls the host allows; makes CUBIC
 * and BBR allowed and returns what undoes that (the host's setting is put back).
 */
function allowCongestionControls(): () => void {
  const before = readFileSync(ALLOWED_CC, "utf8").trim();
  const want = new Set([...before.split(/\s+/), "cubic", "bbr"]);
  if (want.size === before.split(/\s+/).length) return () => undefined;
  writeFileSync(ALLOWED_CC, [...want].join(" "));
  return () => {
    try {
      writeFileSync(ALLOWED_CC, before);
    } catch {
      /* nothing more to do: the host keeps the wider list */
    }
  };
}

function setCongestionControl(c: Ctx, cc: string): void {
  for (const ns of [c.topo.nsA, c.topo.nsB]) {
    sh(ns, "sysctl", "-qw", `net.ipv4.tcp_congestion_control=${cc}`);
  }
}

/** (Re)starts pfs-linkem with the settings of link l and loss; a no-op if they hold already. */
async function setLink(c: Ctx, l: LinkInfo, loss: number): Promise<void> {
  if (c.link && c.link.l.id === l.id && c.link.loss === loss && c.made.linkem?.exitCode === null)
    return;
  const old = c.made.linkem;
  if (old && old.exitCode === null) {
    old.kill("SIGTERM");
    await waitExit(old, 10000);
  }
  const stats = join(c.work, "linkem.json");
  const p = spawnLinkem(c.topo, linkemArgs(l, loss), stats);
  let err = "";
  p.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  c.made.children.push(p);
  c.made.linkem = p;
  await sleep(200);
  if (p.exitCode !== null) throw new Error(`pfs-linkem did not start: ${err.trim()}`);
  c.link = { l, loss };
}

function wireNow(c: Ctx): number {
  return rxBytes(c.topo.nsM, c.topo.ifM0) + rxBytes(c.topo.nsM, c.topo.ifM1);
}

/** Starts `text` under sh in the side's namespace and cgroup. */
function spawnSide(c: Ctx, side: SideName, text: string): ChildProcess {
  const ns = side === "a" ? c.topo.nsA : c.topo.nsB;
  const [cmd, ...args] = c.cg.prefix(side);
  const p = spawn(cmd as string, [...args, "ip", "netns", "exec", ns, "sh", "-c", text], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  c.made.children.push(p);
  return p;
}

/** Runs `measured` with CPU, memory and wire counted around it. */
async function measure(
  c: Ctx,
  measured: () => Promise<{ seconds: number; output: string }>,
  d: ManifestEntry,
): Promise<RunResult> {
  const cpu0 = { a: c.cg.cpuSeconds("a"), b: c.cg.cpuSeconds("b") };
  const wire0 = wireNow(c);
  c.mem.start();
  let r: { seconds: number; output: string };
  let peak: Record<SideName, number>;
  try {
    r = await measured();
  } finally {
    peak = c.mem.stop();
  }
  const wireBytes = wireNow(c) - wire0;
  const cpuSeconds = {
    sender: c.cg.cpuSeconds("a") - cpu0.a,
    receiver: c.cg.cpuSeconds("b") - cpu0.b,
  };
  const verified = (await digestOf(r.output).catch(() => "")) === (await sourceDigest(c, d));
  return {
    seconds: r.seconds,
    wireBytes,
    cpuSeconds,
    peakRssBytes: { sender: peak.a, receiver: peak.b },
    verified,
    ...(verified ? {} : { error: "the received bytes differ from the dataset" }),
  };
}

async function sourceDigest(c: Ctx, d: ManifestEntry): Promise<string> {
  let v = c.digests.get(d.path);
  if (v === undefined) {
    v = await digestOf(d.path);
    c.digests.set(d.path, v);
  }
  return v;
}

function listening(ns: string, port: number): boolean {
  const r = spawnSync("ip", ["netns", "exec", ns, "ss", "-Hltn", `sport = :${port}`], {
    encoding: "utf8",
  });
  return r.stdout.includes(`:${port}`);
}

async function exitOk(p: ChildProcess, what: string, err: () => string): Promise<void> {
  const code = await waitExit(p, RUN_LIMIT_MS);
  if (code !== 0)
    throw new Error(`${what} exited ${code}${err() ? `: ${err().slice(0, 400)}` : ""}`);
}

async function runReference(c: Ctx, tool: ToolId, d: ManifestEntry): Promise<RunResult> {
  const recvDir = join(c.work, "recv");
  rmSync(recvDir, { recursive: true, force: true });
  mkdirSync(recvDir);
  const t = toolRun(tool, d, { addr: c.topo.ipB, recvDir, workDir: c.work });
  for (const [from, to] of t.seed) copyFileSync(from, to);
  if (t.config) writeFileSync(t.config[0], t.config[1]);
  setCongestionControl(c, t.cc);
  try {
    return await measure(
      c,
      async () => {
        const recv = spawnSide(c, "b", t.receiver);
        let recvErr = "";
        recv.stderr?.on("data", (b: Buffer) => (recvErr += b.toString()));
        await until(
          `the ${tool} receiver to listen`,
          async () => recv.exitCode === null && listening(c.topo.nsB, t.port),
          10000,
        ).catch((e: Error) => {
          throw new Error(`${e.message}${recvErr ? `: ${recvErr.trim()}` : ""}`);
        });
        const t0 = performance.now();
        const send = spawnSide(c, "a", t.sender);
        let sendErr = "";
        send.stderr?.on("data", (b: Buffer) => (sendErr += b.toString()));
        try {
          await exitOk(send, "the sender", () => sendErr);
          if (t.receiverIsServer) {
            const seconds = (performance.now() - t0) / 1000;
            recv.kill("SIGTERM");
            await waitExit(recv, 10000);
            return { seconds, output: t.output };
          }
          await exitOk(recv, "the receiver", () => recvErr);
        } finally {
          for (const p of [send, recv]) if (p.exitCode === null) p.kill("SIGKILL");
        }
        return { seconds: (performance.now() - t0) / 1000, output: t.output };
      },
      d,
    );
  } finally {
    c.cg.killAll(); // what a killed shell left running (a listening socat, rsync's children)
    setCongestionControl(c, "cubic");
    rmSync(recvDir, { recursive: true, force: true });
  }
}

function blobSize(d: ManifestEntry): string {
  let mib = 256;
  while (mib * 2 ** 20 < 3 * (d.bytes + (d.baseBytes ?? 0))) mib *= 2;
  return `${mib}MiB`;
}

async function runPacketFS(c: Ctx, tool: ToolId, d: ManifestEntry): Promise<RunResult> {
  const dir = join(c.work, `pfs-${c.runNo}`);
  mkdirSync(dir);
  try {
    // the previous version goes first, as earlier traffic, over the same link: a session's
    // congestion control keeps what it learned of the path (BBR its minimum RTT for 10 s),
    // so a base sent over another link would slow the timed send down
    const backend = tool === "pfs-xdp" ? "xdp" : "udp";
    const blob = blobSize(d);
    const startPrefix = (side: SideName): string[] => c.cg.prefix(side);
    const { a, b } = await setUpNodes(c.made, { dir, topo: c.topo, backend, blob, startPrefix });
    if (d.base) await pfsSend(a, b, d.base, "base");
    return await measure(
      c,
      async () => {
        const s = await pfsSend(a, b, d.path, "run");
        return { seconds: s.secs, output: join(b.dir, "received", "run", basename(d.path)) };
      },
      d,
    );
  } finally {
    stopNodes(c.made, dir);
    c.cg.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function failed(err: unknown): RunResult {
  const zero = { sender: 0, receiver: 0 };
  return {
    seconds: 0,
    wireBytes: 0,
    cpuSeconds: zero,
    peakRssBytes: zero,
    verified: false,
    error: (err as Error).message ?? String(err),
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;

async function runCell(c: Ctx, p: Pass, d: ManifestEntry, tool: ToolId, total: number) {
  const cell: Cell = {
    dataset: d.id,
    link: p.link.id,
    lossPct: p.lossPct,
    tool,
    runs: [],
    verified: false,
  };
  const how = runsOn(tool, d);
  if (how === false) return undefined;
  if (how !== true) return { ...cell, skipped: how };
  for (let rep = 0; rep < c.o.reps; rep++) {
    c.runNo++;
    await setLink(c, p.link, p.lossPct);
    const r = await (
      tool.startsWith("pfs-") ? runPacketFS(c, tool, d) : runReference(c, tool, d)
    ).catch(failed);
    cell.runs.push(r);
    const where = `${p.link.id}${p.lossPct ? ` loss ${p.lossPct}%` : ""}`;
    c.io.out(
      `[${c.runNo}/${total}] ${where} ${d.id} ${TOOL_LABELS[tool]} #${rep + 1}: ` +
        (r.error
          ? `FAILED: ${r.error}`
          : `${r.seconds.toFixed(2)} s, ${mb(r.wireBytes)} on the wire, verified`) +
        "\n",
    );
  }
  return { ...cell, ...summarize(cell.runs, d.bytes) };
}

function machine(): Record<string, string> {
  const first = (cmd: string, ...args: string[]): string =>
    (spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "").split("\n").find((l) => l.trim()) ??
    "?";
  const cpus = os.cpus();
  return {
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: `${cpus[0]?.model ?? "?"} × ${cpus.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "?",
    node: process.version,
    socat: first("socat", "-V").replace(/^socat by.*$/, "") || first("socat", "-V"),
    rsync: first("rsync", "--version"),
    zstd: first("zstd", "--version"),
    "TCP congestion control": "CUBIC (tcp-bbr: BBR), set in both test hosts",
  };
}

const METHOD = [
  "Two test hosts are network namespaces joined through a third, where pfs-linkem (the project's emulator, docs/linkem.md) forwards every frame with the link's rate, one-way delay of half the RTT and loss, in both directions; offloads are off on every veth, so the emulator sees wire-sized frames.",
  "pfs-linkem forwards at about 1.4–2.3 Gbit/s on this machine: the 10 Gbit/s and unshaped links are bounded by the emulator, not by their nominal rate.",
  "Time: reference tools from starting the sender until the receiver has written everything (rsync: until the client exits); PacketFS as its daemon times the transfer, from the request to the receiver's verified commit (the client's own start-up is not counted).",
  "Wire bytes: Ethernet frames both hosts put on the link, both directions, headers, acknowledgements and control traffic included.",
  "CPU: user + system seconds of every process of each side (daemons and data planes included), from a cgroup per side; per GB of dataset.",
  "Peak memory: the largest sum of the peak resident memory (VmHWM, plus hugepages) of each side's processes alive at once, sampled every 10 ms (0 when every process of a side lived less than that); PacketFS's includes its daemon (Node.js), data plane and blob.",
  "Updates: rsync finds the previous version under the destination name, zstd --patch-from is given it at both ends, PacketFS sent it earlier over the same link (untimed), on fresh daemons; the others send the new version whole.",
  "Every received file or tree is checked by sha256 against the dataset. Received data goes to /dev/shm, so disk speed is not measured.",
];

async function runMatrix(o: MatrixOptions, outDir: string, io: Io, made: Made): Promise<string[]> {
  if (process.getuid?.() !== 0) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      "bench matrix needs root: it makes network namespaces, veth pairs and runs pfs-linkem",
    );
  }
  for (const [cmd, arg] of [
    ["socat", "-V"],
    ["rsync", "--version"],
    ["zstd", "--version"],
    ["ip", "-V"],
    ["ethtool", "--version"],
    ["ss", "-V"],
  ] as const) {
    if (!hasCommand(cmd, arg))
      throw new PfsError(
        "PFS_ERR_USAGE",
        `bench matrix needs ${cmd}: run npm install (it installs the system packages)`,
      );
  }
  const manifest =
    o.manifest ??
    join(repoRoot(), "bench/data/matrix", o.quick ? "MANIFEST-quick.json" : "MANIFEST.json");
  if (!o.manifest) {
    io.out(
      `datasets: bench/matrix-datasets.sh${o.quick ? " --quick" : ""} (cached in bench/data/matrix)\n`,
    );
    const r = spawnSync(
      "bash",
      [join(repoRoot(), "bench/matrix-datasets.sh"), ...(o.quick ? ["--quick"] : [])],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    if (r.status !== 0) throw new Error("bench/matrix-datasets.sh failed (see above)");
  }
  const datasets = readManifest(manifest, o.datasets);
  // from here on everything made is listed in `made`; runMatrixBench undoes it on every way out
  made.base = mkdtempSync("/dev/shm/pfs-matrix-");
  const cg = new SideCgroups(`pfs-matrix-${process.pid}`);
  made.killAll = () => cg.killAll();
  made.undo = () => cg.remove(); // widened below once the host setting changes
  const restoreCc = allowCongestionControls();
  made.undo = () => {
    cg.remove();
    restoreCc();
  };
  const prefix = `pfm${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
  const topo = topologyNames(prefix);
  made.topo = topo;
  buildTopology(topo);
  const c: Ctx = {
    o,
    io,
    made,
    topo,
    cg,
    mem: new PeakMemory(cg),
    work: made.base,
    digests: new Map(),
    runNo: 0,
  };
  setCongestionControl(c, "cubic");
  const plan = passes(o, datasets);
  const total =
    plan.reduce(
      (n, p) =>
        n + p.datasets.reduce((m, d) => m + p.tools.filter((t) => runsOn(t, d) === true).length, 0),
      0,
    ) * o.reps;
  io.out(`${plan.length} link settings, ${datasets.length} datasets, ${total} timed runs\n`);
  const startedAt = new Date().toISOString();
  const cells: Cell[] = [];
  for (const p of plan) {
    for (const d of p.datasets) {
      for (const tool of p.tools) {
        const cell = await runCell(c, p, d, tool, total);
        if (cell) cells.push(cell);
      }
    }
  }
  const result: MatrixResult = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: o.quick,
    reps: o.reps,
    machine: machine(),
    method: METHOD,
    datasets: datasets.map(({ path: _p, base: _b, sha256: _s, ...info }) => info),
    links: o.links,
    cells,
  };
  return writeReport(result, outDir);
}

/** `pfs-dp bench matrix`: runs the plan and writes the report; Ctrl-C removes everything made. */
export async function runMatrixBench(
  flags: MatrixFlags & { out?: string },
  io: Io,
): Promise<number> {
  const o = planOptions(flags);
  const outDir = flags.out ?? join(repoRoot(), "bench/results");
  const made: Made = { nodes: [], started: [], children: [] };
  const onSignal = (sig: NodeJS.Signals): void => {
    io.err(`\n${sig}: stopping the matrix and removing what it made…\n`);
    cleanup(made, (dir) => rmSync(dir, { recursive: true, force: true }));
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const written = await runMatrix(o, outDir, io, made);
    io.out(`written: ${written.join(", ")}\n`);
    return 0;
  } finally {
    cleanup(made, (dir) => rmSync(dir, { recursive: true, force: true }));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
