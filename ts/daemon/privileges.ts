/**
 * Whether the data plane this daemon starts may use the AF_XDP backend, checked
 * before anything starts so that the operator reads why at once rather than in
 * a background log. pfs-dataplane needs CAP_BPF (or CAP_SYS_ADMIN on kernels
 * before 5.8) to load the XDP program, CAP_NET_ADMIN to attach it and
 * CAP_NET_RAW for AF_XDP sockets. A child process keeps capabilities across
 * exec only as root or through its ambient set (systemd's AmbientCapabilities=),
 * so those are what count here; the data plane itself still says exactly what
 * failed if the kernel refuses it anyway.
 */

import { readFileSync } from "node:fs";

import { PfsError } from "../errors.js";

/** capability numbers of linux/capability.h */
const CAP = Object.freeze({ NET_ADMIN: 12, NET_RAW: 13, SYS_ADMIN: 21, BPF: 39 });

export interface ProcessView {
  /** effective uid (process.geteuid) */
  euid: number | undefined;
  /** the text of /proc/self/status, or undefined where there is none */
  status: string | undefined;
}

function currentProcess(): ProcessView {
  let status: string | undefined;
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {
    status = undefined;
  }
  return { euid: process.geteuid?.(), status };
}

/** The capability set `name` (CapAmb, CapEff, ...) of a /proc status text, 0n if absent. */
export function capabilitySet(status: string, name: string): bigint {
  const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)\\s*$`, "m").exec(status);
  return m === null ? 0n : BigInt(`0x${m[1] as string}`);
}

function has(set: bigint, cap: number): boolean {
  return ((set >> BigInt(cap)) & 1n) === 1n;
}

/** Can a data plane started from this process use AF_XDP? */
export function mayUseXdp(p: ProcessView = currentProcess()): boolean {
  if (p.euid === 0) return true;
  const amb = p.status === undefined ? 0n : capabilitySet(p.status, "CapAmb");
  return (
    has(amb, CAP.NET_ADMIN) &&
    has(amb, CAP.NET_RAW) &&
    (has(amb, CAP.BPF) || has(amb, CAP.SYS_ADMIN))
  );
}

/** Throws PFS_ERR_USAGE, saying what to do, when the xdp backend cannot be used from here. */
export function checkXdpPrivileges(p: ProcessView = currentProcess()): void {
  if (mayUseXdp(p)) return;
  throw new PfsError(
    "PFS_ERR_USAGE",
    "the xdp backend needs root (CAP_BPF, CAP_NET_ADMIN): run with sudo, or use --backend udp",
    "a service can run it unprivileged with AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_NET_RAW",
  );
}
