/**
 * One timed run of the benchmark matrix: a reference tool (receiver, then
 * sender, each a shell in its test host's namespace and cgroup) or a pair of
 * fresh PacketFS daemons, measured alike — time, CPU per side, peak memory,
 * wire bytes — and the received bytes checked against the dataset.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

import type { Io } from "../util/io.js";
import type { Topology } from "../commands/demo-link.js";
import { type Made, pfsSend, setUpNodes, stopNodes, until, waitExit } from "../commands/testbed.js";
import {
  type PeakMemory,
  type SideCgroups,
  type SideName,
  digestOf,
  rxBytes,
} from "./matrix-measure.js";
import type { ManifestEntry, MatrixOptions } from "./matrix-plan.js";
import { toolRun } from "./matrix-tools.js";
import type { LinkInfo, RunResult, ToolId } from "./matrix-types.js";

/** Longest a single timed run may take before it is stopped and recorded as failed. */
const RUN_LIMIT_MS = 300_000;

export interface Ctx {
  o: MatrixOptions;
  io: Io;
  made: Made;
  topo: Topology;
  cg: SideCgroups;
  mem: PeakMemory;
  work: string;
  /** the link pfs-linkem emulates now */
  link?: { l: LinkInfo; loss: number };
  /** the test hosts' TCP congestion control now */
  cc?: string;
  digests: Map<string, string>;
  runNo: number;
}

function sh(ns: string, ...args: string[]): void {
  const r = spawnSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} in ${ns}: ${r.stderr.trim()}`);
}

/** Sets both test hosts' TCP congestion control (a no-op when it is set already). */
export function setCongestionControl(c: Ctx, cc: string): void {
  if (c.cc === cc) return;
  for (const ns of [c.topo.nsA, c.topo.nsB]) {
    sh(ns, "sysctl", "-qw", `net.ipv4.tcp_congestion_control=${cc}`);
  }
  c.cc = cc;
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
  // forget the children of earlier runs that have exited (hundreds in a full matrix)
  const live = c.made.children.filter((x) => x.exitCode === null && x.signalCode === null);
  c.made.children.splice(0, c.made.children.length, ...live, p);
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

export async function runReference(c: Ctx, tool: ToolId, d: ManifestEntry): Promise<RunResult> {
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

export async function runPacketFS(c: Ctx, tool: ToolId, d: ManifestEntry): Promise<RunResult> {
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

export function failed(err: unknown): RunResult {
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
