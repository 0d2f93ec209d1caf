/**
 * The controller's handle on a data plane: attach to its control region, send
 * typed commands, receive typed events, read named counters, and know when the
 * data plane is gone. Nothing here blocks or waits without a bound: a full
 * command ring, a dead or stuck data plane and a region of another layout are
 * errors (PfsError) that say what happened and what to do.
 *
 *   const dp = DataPlaneControl.attach("/dev/shm/pfs-dp-0");
 *   dp.send({ type: "CANCEL_TRANSFER", transferId: 7n });
 *   for await (const ev of dp.events({ signal })) console.log(ev);
 *   dp.close();
 */

import { setTimeout as sleep } from "node:timers/promises";

import { PfsError } from "../errors.js";
import { type CounterSnapshot, nameCounters } from "./counters.js";
import { type Command, type Event, decodeEvent, encodeCommand } from "./messages.js";
import {
  type NativeControl,
  type RegionHandle,
  type RegionInfo,
  fromNative,
  loadNative,
} from "./native.js";
import { DP_STATE } from "./protocol.js";

export interface ControlOptions {
  /** A heartbeat older than this means the data plane is stuck (default 3000 ms). */
  staleMs?: number;
  /** How often events() looks for new events when there are none (default 10 ms). */
  pollMs?: number;
  /** The addon, or a stand-in for tests (default: loadNative()). */
  native?: NativeControl;
}

const RESTART = "restart it: pfs-dp stop && pfs-dp start";

/** Is a process with this pid there? (EPERM: it is, but not ours.) */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class DataPlaneControl {
  readonly path: string;
  private readonly native: NativeControl;
  private handle: RegionHandle | undefined;
  private readonly staleNs: bigint;
  private readonly pollMs: number;

  private constructor(
    path: string,
    native: NativeControl,
    handle: RegionHandle,
    opts: ControlOptions,
  ) {
    this.path = path;
    this.native = native;
    this.handle = handle;
    this.staleNs = BigInt(Math.round((opts.staleMs ?? 3000) * 1e6));
    this.pollMs = opts.pollMs ?? 10;
  }

  /**
   * Attaches to the region a data plane made at `path`. Throws
   * PFS_ERR_DATAPLANE_DEAD (no region there: no data plane is running),
   * PFS_ERR_REGION_VERSION (made by a data plane of another build; the message
   * names both versions), PFS_ERR_REGION_INVALID, PFS_ERR_NATIVE_MISSING.
   */
  static attach(path: string, opts: ControlOptions = {}): DataPlaneControl {
    const native = opts.native ?? loadNative();
    let handle: RegionHandle;
    try {
      handle = native.attach(path);
    } catch (err) {
      const e = err as { code?: unknown };
      if (e?.code === "ENOENT") {
        throw new PfsError(
          "PFS_ERR_DATAPLANE_DEAD",
          `no data plane: its control region ${path} does not exist`,
          "start the data plane: pfs-dp start",
        );
      }
      const pe = fromNative(err, "attaching to the data plane");
      if (pe.code === "PFS_ERR_REGION_VERSION") {
        throw new PfsError(
          pe.code,
          pe.message,
          "run the data plane and the controller from the same build (npm run build), then restart the data plane",
        );
      }
      throw pe;
    }
    return new DataPlaneControl(path, native, handle, opts);
  }

  private h(): RegionHandle {
    if (!this.handle) {
      throw new PfsError("PFS_ERR_USAGE", `the control region ${this.path} was closed`);
    }
    return this.handle;
  }

  /** The region's header as it is now. */
  info(): RegionInfo {
    return this.native.info(this.h());
  }

  /**
   * Throws PFS_ERR_DATAPLANE_DEAD when the data plane has stopped, its process
   * is gone, or its heartbeat is older than staleMs; returns the header
   * otherwise.
   */
  checkAlive(): RegionInfo {
    const info = this.info();
    const who = `the data plane (pid ${info.pid})`;
    if (info.state === DP_STATE.STOPPED) {
      throw new PfsError("PFS_ERR_DATAPLANE_DEAD", `${who} has stopped`, "start it: pfs-dp start");
    }
    if (!processExists(info.pid)) {
      throw new PfsError(
        "PFS_ERR_DATAPLANE_DEAD",
        `${who} is gone: it exited without stopping (crashed or was killed)`,
        `look at its log for why, then start it again: pfs-dp start`,
      );
    }
    const age = this.native.nowNs() - info.heartbeatNs;
    if (age > this.staleNs) {
      const s = (Number(age) / 1e9).toFixed(1);
      const limit = (Number(this.staleNs) / 1e9).toFixed(1);
      throw new PfsError(
        "PFS_ERR_DATAPLANE_DEAD",
        `${who} has not updated its heartbeat for ${s} s (limit ${limit} s): it is stuck`,
        RESTART,
      );
    }
    return info;
  }

  /**
   * Sends one command. Throws PFS_ERR_DATAPLANE_DEAD (see checkAlive),
   * PFS_ERR_RING_FULL when the data plane is not draining its commands, or the
   * encoder's PFS_ERR_MALFORMED / PFS_ERR_LIMIT / PFS_ERR_INVALID_ARG for a
   * command that breaks the rules. Never waits.
   */
  send(cmd: Command): void {
    const bytes = encodeCommand(cmd);
    const info = this.checkAlive();
    try {
      this.native.send(this.h(), bytes);
    } catch (err) {
      const pe = fromNative(err, `sending ${cmd.type}`);
      if (pe.code !== "PFS_ERR_RING_FULL") throw pe;
      throw new PfsError(
        "PFS_ERR_RING_FULL",
        `the data plane (pid ${info.pid}) is not draining commands: its command ring is full ` +
          `(${info.cmdUsed} of ${info.cmdRingBytes} bytes waiting), ${cmd.type} was not sent`,
        `if this lasts, it is stuck: ${RESTART}`,
      );
    }
  }

  /**
   * The events waiting now (at most `max`), oldest first; [] when there are
   * none. Throws PFS_ERR_RING_CORRUPT or a decoder error for an event the data
   * plane should not have sent.
   */
  poll(max = 256): Event[] {
    const out: Event[] = [];
    while (out.length < max) {
      let bytes: Uint8Array | null;
      try {
        bytes = this.native.recv(this.h());
      } catch (err) {
        throw fromNative(err, "reading events");
      }
      if (bytes === null) break;
      try {
        out.push(decodeEvent(bytes));
      } catch (err) {
        const pe = err as PfsError;
        throw new PfsError(
          pe.code,
          `event from the data plane: ${pe.message}`,
          "this is a bug; please report it",
        );
      }
    }
    return out;
  }

  /**
   * Every event as it comes. Ends when the data plane has stopped and every
   * event it sent before is read, or when `signal` aborts; throws
   * PFS_ERR_DATAPLANE_DEAD when it dies or stalls without stopping.
   */
  async *events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<Event> {
    const { signal } = opts;
    while (!signal?.aborted) {
      const batch = this.poll();
      yield* batch;
      if (batch.length > 0) continue;
      // Nothing waiting: is anyone still there to send more? The data plane
      // sends its last events before it stores STOPPED (release) and info()
      // loads the state with acquire: once STOPPED is seen, they can be read.
      if (this.info().state === DP_STATE.STOPPED) {
        for (let last = this.poll(); last.length > 0; last = this.poll()) yield* last;
        return;
      }
      this.checkAlive();
      try {
        await sleep(this.pollMs, undefined, signal ? { signal } : {});
      } catch {
        return; // aborted
      }
    }
  }

  /** Named counters of the workers in use and of the sessions in the table. */
  counters(): CounterSnapshot {
    const info = this.info();
    let words: BigUint64Array;
    try {
      words = this.native.counters(this.h());
    } catch (err) {
      throw fromNative(err, "reading counters");
    }
    return nameCounters(info, words);
  }

  /** Unmaps the region; the data plane is not affected. Idempotent. */
  close(): void {
    if (this.handle) this.native.detach(this.handle);
    this.handle = undefined;
  }
}
