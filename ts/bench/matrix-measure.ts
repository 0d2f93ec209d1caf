/**
 * How the matrix measures a run, the same way for every tool: CPU time of
 * each side from a cgroup of its own (every process a side starts, forks and
 * daemons included, is accounted there), peak memory by sampling the summed
 * RSS (and hugepages) of the side's processes, wire bytes from the emulator's
 * interface counters, and integrity by sha256 — of a file, or of a tree's
 * sorted file list with each file's digest.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, lstatSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { safeKill, sha256, sleepSync } from "../commands/testbed.js";

export type SideName = "a" | "b";

/**
 * One CPU-accounting cgroup per side: cgroup v1's cpuacct where it is
 * mounted (hybrid hosts such as this one), else cgroup v2's cpu.stat.
 */
export class SideCgroups {
  private readonly dirs: Record<SideName, string>;
  private readonly v1: boolean;

  constructor(name: string) {
    this.v1 = existsSync("/sys/fs/cgroup/cpuacct/cpuacct.usage");
    const root = this.v1 ? "/sys/fs/cgroup/cpuacct" : "/sys/fs/cgroup";
    if (!this.v1 && !existsSync(join(root, "cgroup.controllers"))) {
      throw new Error(
        "no cgroup for CPU accounting: neither cgroup v1 cpuacct nor cgroup v2 is mounted at /sys/fs/cgroup",
      );
    }
    this.dirs = { a: join(root, `${name}-a`), b: join(root, `${name}-b`) };
    for (const d of Object.values(this.dirs)) mkdirSync(d, { recursive: true });
  }

  /** `sh -c` arguments that move the shell into the side's cgroup, then exec argv. */
  prefix(side: SideName): string[] {
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', join(this.dirs[side], "cgroup.procs")];
  }

  cpuSeconds(side: SideName): number {
    if (this.v1) return Number(readFileSync(join(this.dirs[side], "cpuacct.usage"), "utf8")) / 1e9;
    const stat = readFileSync(join(this.dirs[side], "cpu.stat"), "utf8");
    return Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0) / 1e6;
  }

  pids(side: SideName): number[] {
    try {
      return readFileSync(join(this.dirs[side], "cgroup.procs"), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map(Number);
    } catch {
      return [];
    }
  }

  /** SIGKILLs every process of both sides and waits (up to 2 s) until they are gone. */
  killAll(): void {
    for (let i = 0; i < 20; i++) {
      const pids = [...this.pids("a"), ...this.pids("b")];
      if (pids.length === 0) return;
      for (const pid of pids) safeKill(pid, "SIGKILL");
      sleepSync(100);
    }
  }

  /** Kills what is left in both cgroups and removes them; never throws. */
  remove(): void {
    this.killAll();
    for (const d of Object.values(this.dirs)) {
      try {
        rmdirSync(d);
      } catch {
        /* still in use or gone */
      }
    }
  }
}

/**
 * Peak resident bytes of a process so far (VmHWM: a peak between two samples
 * is not missed), hugepages included (a blob in hugepages is not in VmRSS).
 */
export function processMemory(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string): number =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0);
    return (kb("VmHWM") + kb("HugetlbPages")) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Samples each side's summed process peaks every `ms` and keeps the largest
 * sum; a process that starts and ends between two samples is not seen.
 */
export class PeakMemory {
  private peak: Record<SideName, number> = { a: 0, b: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly cg: SideCgroups) {}

  start(ms = 10): void {
    this.peak = { a: 0, b: 0 };
    this.sample();
    this.timer = setInterval(() => this.sample(), ms);
  }

  stop(): Record<SideName, number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { ...this.peak };
  }

  private sample(): void {
    for (const side of ["a", "b"] as const) {
      const sum = this.cg.pids(side).reduce((acc, pid) => acc + processMemory(pid), 0);
      if (sum > this.peak[side]) this.peak[side] = sum;
    }
  }
}

/** Bytes received by an interface in a namespace (what one end put on the wire). */
export function rxBytes(ns: string, dev: string): number {
  const r = spawnSync("ip", ["-n", ns, "-s", "-j", "link", "show", "dev", dev], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`ip -s link show ${dev} in ${ns}: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as { stats64?: { rx?: { bytes?: number } } }[];
  const v = j[0]?.stats64?.rx?.bytes;
  if (typeof v !== "number") throw new Error(`no rx byte counter for ${dev} in ${ns}`);
  return v;
}

/** Regular files under dir, relative, sorted; symlinks and other kinds are not followed. */
export function treeFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) out.push(...treeFiles(dir, r));
    else if (st.isFile()) out.push(r);
  }
  return out;
}

/** sha256 of a file, or of a tree: over "<sha256 of file>  <relative path>\n" in path order. */
export async function digestOf(path: string): Promise<string> {
  if (!lstatSync(path).isDirectory()) return sha256(path);
  const h = createHash("sha256");
  for (const rel of treeFiles(path)) h.update(`${await sha256(join(path, rel))}  ${rel}\n`);
  return h.digest("hex");
}

/** The machine and the reference tools' versions, for the report. */
export function describeMachine(): Record<string, string> {
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
    socat:
      (spawnSync("socat", ["-V"], { encoding: "utf8" }).stdout ?? "")
        .split("\n")
        .find((l) => l.startsWith("socat version")) ?? "?",
    rsync: first("rsync", "--version"),
    zstd: first("zstd", "--version"),
    "TCP congestion control": "CUBIC (tcp-bbr: BBR), set in both test hosts",
  };
}
