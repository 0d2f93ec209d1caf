/**
 * The native surface: what the addon (dataplane/addon/addon.cc, built by
 * cmake-js into <build>/addon/Release/pfs_addon.node) exports, as one typed
 * interface, and the loader that finds it. The addon only maps the region and
 * moves bytes; control.ts gives them meaning.
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

import { PfsError, isPfsErrorCode } from "../errors.js";
import { buildDir } from "../native.js";
import { REGION_VERSION } from "./protocol.js";

/** An attached region; opaque to JavaScript. */
export type RegionHandle = { readonly __brand: "RegionHandle" };

/** pfs_region_info (dataplane/region.h). */
export interface RegionInfo {
  layoutVersion: number;
  pid: number;
  /** DP_STATE */
  state: number;
  workerCount: number;
  /** CLOCK_MONOTONIC of the data plane's last beat (compare with nowNs()) */
  heartbeatNs: bigint;
  regionBytes: number;
  cmdRingBytes: number;
  evtRingBytes: number;
  /** bytes waiting in each ring now */
  cmdUsed: number;
  evtUsed: number;
  workersMax: number;
  workerWords: number;
  sessionSlots: number;
  slotWords: number;
  counterCount: number;
}

/**
 * The addon's exports. Every function throws an Error whose `code` is the C
 * name of the failure (PFS_ERR_RING_FULL, ENOENT, ...) and whose message is
 * the C side's text; call them through control.ts, which turns those into
 * PfsErrors a person can act on.
 */
export interface NativeControl {
  /** PFS_REGION_VERSION the addon was built with */
  readonly layoutVersion: number;
  attach(path: string): RegionHandle;
  /** Unmaps; later calls on the handle throw. A second detach does nothing. */
  detach(h: RegionHandle): void;
  info(h: RegionHandle): RegionInfo;
  /** Pushes one encoded command; PFS_ERR_RING_FULL when there is no room. */
  send(h: RegionHandle, message: Uint8Array): void;
  /** Pops one encoded event, or null when none is waiting. */
  recv(h: RegionHandle): Uint8Array | null;
  /** Snapshot of the counters: workersMax blocks of workerWords, then sessionSlots slots. */
  counters(h: RegionHandle): BigUint64Array;
  /** CLOCK_MONOTONIC in ns, the heartbeat's clock */
  nowNs(): bigint;
}

const HINT = "run npm install (builds the addon) or npm run build:addon";

export function addonPath(): string {
  return join(buildDir(), "addon", "Release", "pfs_addon.node");
}

let cached: NativeControl | undefined;

/**
 * Loads the addon once. Throws PFS_ERR_NATIVE_MISSING when it is not built,
 * PFS_ERR_REGION_VERSION when it was built for another layout than this
 * TypeScript (a stale build).
 */
export function loadNative(): NativeControl {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new PfsError(
      "PFS_ERR_NATIVE_MISSING",
      `the Node addon is not built (looked for ${path})`,
      HINT,
    );
  }
  let mod: NativeControl;
  try {
    mod = createRequire(import.meta.url)(path) as NativeControl;
  } catch (err) {
    throw new PfsError(
      "PFS_ERR_NATIVE_FAILED",
      `cannot load ${path}: ${(err as Error).message}`,
      HINT,
    );
  }
  if (mod.layoutVersion !== REGION_VERSION) {
    throw new PfsError(
      "PFS_ERR_REGION_VERSION",
      `the addon at ${path} speaks control layout version ${mod.layoutVersion}, this controller version ${REGION_VERSION}`,
      "rebuild: npm run build",
    );
  }
  return (cached = mod);
}

/** An error thrown by the addon as a PfsError (its C code when the registry knows it). */
export function fromNative(err: unknown, context: string): PfsError {
  if (err instanceof PfsError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (typeof e?.code === "string" && isPfsErrorCode(e.code)) {
    return new PfsError(e.code, `${context}: ${message}`);
  }
  const name = typeof e?.code === "string" ? `${e.code}: ` : "";
  return new PfsError("PFS_ERR_NATIVE_FAILED", `${context}: ${name}${message}`);
}
