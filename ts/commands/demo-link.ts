/**
 * The demo's two test hosts and the emulated link between them (root only);
 * the TypeScript twin of test/netns/linkem_lib.sh:
 *
 *   ns <p>a                    ns <p>m (pfs-linkem)                ns <p>b
 *   <p>a0 ==veth== <p>m0               <p>m1 ==veth== <p>b0
 *   198.18.230.1/24           (no addresses: L2 forwarding)        198.18.230.2/24
 *
 * TSO, GSO, GRO and UDP segmentation are off on all four ends (the emulator must see wire-sized
 * frames), IPv6 is off, and TCP buffers in A and B may grow to 32 MB (without
 * offloads a 1448-byte segment costs ~2.3 KB of buffer, and the default 4 MB
 * would cap a 1 Gbit/s, 20 ms path below its bandwidth-delay product).
 * Everything here is synchronous so that a signal handler can undo it.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";

import { toolPath } from "../native.js";

export const SUBNET = "198.18.230";
const LOCK_DIR = "/run/packetfs"; // the data plane's per-interface lock files (io_xdp.c)

export interface Topology {
  nsA: string;
  nsM: string;
  nsB: string;
  ifA: string;
  ifM0: string;
  ifM1: string;
  ifB: string;
  ipA: string;
  ipB: string;
  /** namespaces made so far, for teardown */
  made: string[];
}

function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${(r.stderr || r.error?.message || "").trim()}`);
  }
  return r.stdout;
}

export function hasCommand(cmd: string, arg = "--version"): boolean {
  return spawnSync(cmd, [arg], { stdio: "ignore" }).status === 0;
}

/** Names unique to one run (interface names are at most 15 bytes). */
export function topologyNames(prefix: string): Topology {
  if (prefix.length + 2 > 15) throw new Error(`prefix ${prefix}: too long for interface names`);
  return {
    nsA: `${prefix}a`,
    nsM: `${prefix}m`,
    nsB: `${prefix}b`,
    ifA: `${prefix}a0`,
    ifM0: `${prefix}m0`,
    ifM1: `${prefix}m1`,
    ifB: `${prefix}b0`,
    ipA: `${SUBNET}.1`,
    ipB: `${SUBNET}.2`,
    made: [],
  };
}

function offloadsOff(ns: string, dev: string): void {
  // tx-udp-segmentation too: `gso off` leaves it on, and the udp backend's
  // UDP_SEGMENT batches would reach the emulator as 64 KB frames (dropped as too_big)
  sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off");
  sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx-udp-segmentation", "off");
}

/** Builds the topology; on failure what was made stays listed in t.made for teardown. */
export function buildTopology(t: Topology): void {
  for (const ns of [t.nsA, t.nsM, t.nsB]) {
    sh("ip", "netns", "add", ns);
    t.made.push(ns);
    sh(
      "ip",
      "netns",
      "exec",
      ns,
      "sysctl",
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    );
    sh("ip", "-n", ns, "link", "set", "lo", "up");
  }
  for (const ns of [t.nsA, t.nsB]) {
    sh(
      "ip",
      "netns",
      "exec",
      ns,
      "sysctl",
      "-qw",
      "net.ipv4.tcp_wmem=4096 65536 33554432",
      "net.ipv4.tcp_rmem=4096 131072 33554432",
    );
  }
  sh(
    "ip",
    "-n",
    t.nsA,
    "link",
    "add",
    t.ifA,
    "type",
    "veth",
    "peer",
    "name",
    t.ifM0,
    "netns",
    t.nsM,
  );
  sh(
    "ip",
    "-n",
    t.nsB,
    "link",
    "add",
    t.ifB,
    "type",
    "veth",
    "peer",
    "name",
    t.ifM1,
    "netns",
    t.nsM,
  );
  offloadsOff(t.nsA, t.ifA);
  offloadsOff(t.nsM, t.ifM0);
  offloadsOff(t.nsM, t.ifM1);
  offloadsOff(t.nsB, t.ifB);
  sh("ip", "-n", t.nsA, "addr", "add", `${t.ipA}/24`, "dev", t.ifA);
  sh("ip", "-n", t.nsB, "addr", "add", `${t.ipB}/24`, "dev", t.ifB);
  sh("ip", "-n", t.nsA, "link", "set", t.ifA, "up");
  sh("ip", "-n", t.nsM, "link", "set", t.ifM0, "up");
  sh("ip", "-n", t.nsM, "link", "set", t.ifM1, "up");
  sh("ip", "-n", t.nsB, "link", "set", t.ifB, "up");
}

/** Starts pfs-linkem in M: `rate` e.g. "1gbit", one-way delay in microseconds. */
export function startLinkem(
  t: Topology,
  rate: string,
  delayUs: number,
  stats: string,
): ChildProcess {
  const settings = ["--delay", `${delayUs}us`];
  if (rate !== "0") settings.push("--rate", rate);
  return spawnLinkem(t, settings, stats);
}

/** Starts pfs-linkem in M with link settings as its command line takes them (pfs-linkem --help). */
export function spawnLinkem(t: Topology, settings: string[], stats: string): ChildProcess {
  const args = ["--if-a", t.ifM0, "--if-b", t.ifM1, ...settings, "--stats", stats];
  // ip netns exec execs the tool: the child's pid is pfs-linkem's
  return spawn("ip", ["netns", "exec", t.nsM, toolPath("pfs-linkem"), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** The ids of XDP programs attached to a device, as `ip -d link show` lists them. */
export function xdpProgIds(ns: string, dev: string): string[] {
  const r = spawnSync("ip", ["-n", ns, "-d", "link", "show", "dev", dev], { encoding: "utf8" });
  return [...(r.stdout ?? "").matchAll(/prog\/xdp id (\d+)/g)].map((m) => m[1] as string);
}

/** Removes programs, lock files and namespaces (their veth ends go with them); never throws. */
export function teardownTopology(t: Topology): void {
  for (const [ns, dev] of [
    [t.nsA, t.ifA],
    [t.nsB, t.ifB],
  ] as const) {
    if (!t.made.includes(ns)) continue;
    if (xdpProgIds(ns, dev).length > 0) {
      // a data plane that died without detaching: take its program off
      spawnSync("ip", ["-n", ns, "link", "set", "dev", dev, "xdpgeneric", "off"]);
      spawnSync("ip", ["-n", ns, "link", "set", "dev", dev, "xdpdrv", "off"]);
    }
    try {
      const ino = statSync(`/run/netns/${ns}`).ino;
      for (const f of readdirSync(LOCK_DIR)) {
        if (f.startsWith(`xdp-${ino}-`) && f.endsWith(".lock"))
          rmSync(`${LOCK_DIR}/${f}`, { force: true });
      }
    } catch {
      /* no such namespace or no lock dir */
    }
  }
  for (const ns of [...t.made].reverse()) spawnSync("ip", ["netns", "del", ns]);
  t.made.length = 0;
}

/** Processes whose command line names `dir` (the demo's daemons and data planes, nobody else's). */
export function pidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir)) pids.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}
