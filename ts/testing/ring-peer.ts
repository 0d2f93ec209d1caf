/**
 * Runs build/pfs-ring-peer (dataplane/tools/ring_peer.c), the C stand-in for
 * the data plane, on a fresh control region for a test. Every peer exits by
 * itself after --max-ms, and stop() kills it and removes the region.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { toolPath } from "../native.js";

export interface RingPeer {
  path: string;
  pid: number;
  proc: ChildProcess;
  /** resolves with the exit code once the process is gone (and reaped) */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

let n = 0;

export function regionPath(): string {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const tag = Math.random().toString(36).slice(2, 8); // vitest may run files as threads of one pid
  return join(dir, `pfs-vitest-${process.pid}-${tag}-${n++}`);
}

/** Starts a peer with these extra arguments and waits (at most 5 s) for "ready". */
export async function startPeer(args: string[] = []): Promise<RingPeer> {
  const path = regionPath();
  const proc = spawn(toolPath("pfs-ring-peer"), ["--region", path, "--max-ms", "15000", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pfs-ring-peer not ready in 5 s: ${stderr}`)),
      5000,
    );
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      if (!/ready/.test(out)) reject(new Error(`pfs-ring-peer exited (${code}): ${stderr}`));
    });
  });
  return {
    path,
    pid,
    proc,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
      rmSync(path, { force: true });
    },
  };
}
