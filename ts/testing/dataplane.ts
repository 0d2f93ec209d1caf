/**
 * Runs real build/pfs-dataplane processes for integration tests: each on a
 * fresh control region, a free loopback UDP port (or the address given) and
 * its own receive root, attached with DataPlaneControl; optionally inside a
 * network namespace (ip netns exec) with extra arguments. stop() shuts it
 * down (SIGKILL if it does not go within 5 s) and removes what it made.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { DataPlaneControl } from "../dataplane/control.js";
import type { Command, Event } from "../dataplane/messages.js";
import { toolPath } from "../native.js";
import { regionPath } from "./ring-peer.js";

export interface TestDataPlane {
  region: string;
  port: number;
  /** received files land here */
  root: string;
  /** the logs live here */
  dir: string;
  proc: ChildProcess;
  ctl: DataPlaneControl;
  exited: Promise<number | null>;
  /** every event seen so far, in order */
  events: Event[];
  /** waits (bounded) for an event that matches; earlier events count too */
  waitFor(match: (e: Event) => boolean, ms?: number): Promise<Event>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Does the built pfs-dataplane take this option (its --help names it)? */
export function dataPlaneHasOption(option: string): boolean {
  const r = spawnSync(toolPath("pfs-dataplane"), ["--help"], { encoding: "utf8", timeout: 5000 });
  return r.error === undefined && `${r.stdout}${r.stderr}`.includes(option);
}

export interface DataPlaneOptions {
  cores?: string;
  dir?: string;
  /** UDP port on 127.0.0.1 (default: a free one); ignored with listen */
  port?: number;
  /** ADDR:PORT for --listen instead of 127.0.0.1:port */
  listen?: string;
  /** more arguments (e.g. --backend xdp --iface veth0) */
  args?: string[];
  /** run it in this network namespace (ip netns exec: same pid, same /dev/shm) */
  netns?: string;
}

export async function startDataPlane(opts: DataPlaneOptions = {}): Promise<TestDataPlane> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "pfs-dp-test-"));
  const root = join(dir, "in");
  mkdirSync(root, { recursive: true });
  const region = regionPath();
  const port = opts.listen
    ? Number(opts.listen.slice(opts.listen.lastIndexOf(":") + 1))
    : (opts.port ?? (await freePort()));
  const listen = opts.listen ?? `127.0.0.1:${port}`;
  const args = ["--region", region, "--receive-root", root, "--listen", listen];
  if (opts.cores) args.push("--cores", opts.cores);
  args.push(...(opts.args ?? []));
  const bin = toolPath("pfs-dataplane");
  const proc = opts.netns
    ? spawn("ip", ["netns", "exec", opts.netns, bin, ...args], {
        stdio: ["ignore", "ignore", "pipe"],
      })
    : spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("close", (c) => resolve(c)));
  for (let i = 0; !existsSync(region); i++) {
    if (i > 500 || proc.exitCode !== null) {
      proc.kill("SIGKILL");
      throw new Error(`pfs-dataplane did not start: ${stderr}`);
    }
    await sleep(10);
  }
  const ctl = DataPlaneControl.attach(region, { pollMs: 5 });
  const events: Event[] = [];
  const waitFor = async (match: (e: Event) => boolean, ms = 30000): Promise<Event> => {
    const end = Date.now() + ms;
    for (let seen = 0; ;) {
      for (; seen < events.length; seen++) {
        const e = events[seen] as Event;
        if (match(e)) return e;
      }
      const fresh = ctl.poll();
      events.push(...fresh);
      if (fresh.length === 0) {
        if (Date.now() > end) throw new Error(`no matching event in ${ms} ms; stderr: ${stderr}`);
        await sleep(5);
      }
    }
  };
  return {
    region,
    port,
    root,
    dir,
    proc,
    ctl,
    exited,
    events,
    waitFor,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          ctl.send({ type: "SHUTDOWN", mode: "now" } as Command);
        } catch {
          proc.kill("SIGTERM");
        }
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      try {
        events.push(...ctl.poll());
      } catch {
        /* the region is gone with the process */
      }
      ctl.close();
      rmSync(region, { force: true });
      return proc.exitCode;
    },
    async kill() {
      proc.kill("SIGKILL");
      await exited;
      ctl.close();
      rmSync(region, { force: true });
    },
  };
}
