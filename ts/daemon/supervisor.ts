/**
 * Runs pfs-dataplane and keeps it running: starts it on a fresh control
 * region, attaches to the region, reads its events, and when the process dies
 * (or stops beating) restarts it with exponential back-off — its blob logs are
 * files, so a restarted data plane takes up where it stopped once the daemon
 * adds its sessions again (onRestart). stop() shuts it down cleanly (SHUTDOWN,
 * then SIGTERM, then SIGKILL, each bounded).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { PfsError } from "../errors.js";
import { DataPlaneControl } from "../dataplane/control.js";
import type { CounterSnapshot } from "../dataplane/counters.js";
import type { Command, Event } from "../dataplane/messages.js";
import { toolPath } from "../native.js";

/** The AF_XDP backend's settings (pfs-dataplane --backend xdp). */
export interface XdpOptions {
  iface: string;
  mode: "auto" | "native" | "generic";
  copy: "auto" | "zerocopy" | "copy";
}

export interface SupervisorOptions {
  region: string;
  receiveRoot: string;
  listen: string;
  cores?: string;
  mtu?: number;
  /** AF_XDP on an interface; absent: the UDP backend (pfs-dataplane's default) */
  xdp?: XdpOptions;
  /** the executable (default build/pfs-dataplane) */
  binary?: string;
  /** every event of the data plane, in order */
  onEvent: (e: Event) => void;
  /** a new data-plane process is up (also the first): add the sessions */
  onStart: (restarts: number) => void;
  /** the data plane went away; it will be restarted */
  onExit: (why: string) => void;
  log: (level: "info" | "warn" | "error", msg: string) => void;
  /** back-off bounds in ms (default 200 .. 10000) */
  backoffMs?: [number, number];
}

/** pfs-dataplane's arguments for these options. */
export function dataPlaneArgs(o: SupervisorOptions): string[] {
  const args = ["--region", o.region, "--receive-root", o.receiveRoot, "--listen", o.listen];
  if (o.cores) args.push("--cores", o.cores);
  if (o.mtu) args.push("--mtu", String(o.mtu));
  if (o.xdp) {
    // udp is left to the default, so that a data plane built before --backend still starts
    args.push("--backend", "xdp", "--iface", o.xdp.iface);
    args.push("--xdp-mode", o.xdp.mode, "--xdp-copy", o.xdp.copy);
  }
  return args;
}

export class Supervisor {
  private proc: ChildProcess | undefined;
  private ctl: DataPlaneControl | undefined;
  private stopping = false;
  private restartCount = 0;
  private pump: Promise<void> | undefined;
  private stderr = "";

  constructor(private readonly o: SupervisorOptions) {}

  get restarts(): number {
    return this.restartCount;
  }

  get running(): boolean {
    return this.ctl !== undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the data plane; resolves once it is up (or throws why it could not start). */
  async start(): Promise<void> {
    await this.launch();
    this.pump = this.loop();
  }

  send(cmd: Command): void {
    if (!this.ctl) {
      throw new PfsError(
        "PFS_ERR_DATAPLANE_DEAD",
        "the data plane is restarting",
        "retry in a moment; `pfs-dp status` shows its state",
      );
    }
    this.ctl.send(cmd);
  }

  counters(): CounterSnapshot | undefined {
    try {
      return this.ctl?.counters();
    } catch {
      return undefined;
    }
  }

  heartbeatAgeMs(): number | undefined {
    try {
      const info = this.ctl?.info();
      if (!info) return undefined;
      const now = process.hrtime.bigint();
      return Number(now - info.heartbeatNs) / 1e6;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once("close", () => r()));
      try {
        this.ctl?.send({ type: "SHUTDOWN", mode: "now" });
      } catch {
        proc.kill("SIGTERM");
      }
      const t1 = setTimeout(() => proc.kill("SIGTERM"), 3000);
      const t2 = setTimeout(() => proc.kill("SIGKILL"), 6000);
      await exited;
      clearTimeout(t1);
      clearTimeout(t2);
    }
    await this.pump;
    this.detach();
  }

  /** Kills the data plane as a crash would (for tests of the restart path). */
  crash(): void {
    this.proc?.kill("SIGKILL");
  }

  private detach(): void {
    try {
      this.ctl?.close();
    } catch {
      /* already gone */
    }
    this.ctl = undefined;
    rmSync(this.o.region, { force: true });
  }

  private async launch(): Promise<void> {
    rmSync(this.o.region, { force: true });
    const args = dataPlaneArgs(this.o);
    const bin = this.o.binary ?? toolPath("pfs-dataplane");
    if (!existsSync(bin)) {
      throw new PfsError(
        "PFS_ERR_NATIVE_MISSING",
        `pfs-dataplane is not built (looked for ${bin})`,
        "run npm install (it builds the data plane)",
      );
    }
    this.stderr = "";
    const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.proc = proc;
    for (let i = 0; !existsSync(this.o.region); i++) {
      if (proc.exitCode !== null || proc.signalCode !== null || i > 1000) {
        proc.kill("SIGKILL");
        throw new PfsError(
          "PFS_ERR_DATAPLANE_DEAD",
          `pfs-dataplane did not start: ${this.stderr.trim() || "no output"}`,
          this.o.xdp
            ? `the data plane's message says what it needs; check dataplane.iface (${this.o.xdp.iface}), xdpMode and xdpCopy, or start with --backend udp`
            : "check the listen address, the receive root and the cores in the configuration",
        );
      }
      await sleep(10);
    }
    this.ctl = DataPlaneControl.attach(this.o.region, { pollMs: 5 });
    this.o.log("info", `data plane started (pid ${proc.pid}, region ${this.o.region})`);
    this.o.onStart(this.restartCount);
  }

  /** Reads events until the process goes, then restarts it with back-off. */
  private async loop(): Promise<void> {
    const [minMs, maxMs] = this.o.backoffMs ?? [200, 10000];
    let backoff = minMs;
    for (;;) {
      const proc = this.proc;
      const ctl = this.ctl;
      let why = "";
      if (ctl && proc) {
        try {
          for await (const e of ctl.events()) this.o.onEvent(e);
          why = "it stopped";
        } catch (err) {
          why = (err as Error).message;
        }
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill("SIGKILL"); // stuck: no heartbeat
        }
        await new Promise<void>((r) =>
          proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once("close", () => r()),
        );
      }
      this.detach();
      if (this.stopping) return;
      const detail = proc
        ? `exit ${proc.exitCode ?? proc.signalCode}${this.stderr ? `: ${this.stderr.trim()}` : ""}`
        : "";
      this.o.onExit(`${why} (${detail})`);
      this.o.log("warn", `data plane went away: ${why} (${detail}); restarting in ${backoff} ms`);
      await sleep(backoff);
      if (this.stopping) return;
      try {
        this.restartCount++;
        await this.launch();
        backoff = minMs;
      } catch (err) {
        this.o.log("error", `data plane restart failed: ${(err as Error).message}`);
        backoff = Math.min(maxMs, backoff * 2);
        this.proc = undefined;
      }
    }
  }
}
