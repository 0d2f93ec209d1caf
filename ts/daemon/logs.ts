/**
 * The blob logs of a peer pair on this node, as the control plane sees them:
 * where the files are, and what they hold according to their metadata
 * (pfs-log-info) — the inputs of the blob-state handshake (DESIGN §3.5).
 */

import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { PfsError } from "../errors.js";
import { toolPath } from "../native.js";

const run = promisify(execFile);

export interface LogState {
  exists: boolean;
  epoch?: string;
  capacity?: number;
  lower?: string;
  contig?: string;
  segmentSize?: number;
  firstSegment?: number;
  digests?: string[];
}

export function logPaths(logDir: string, peer: string): { tx: string; rx: string } {
  return { tx: join(logDir, `${peer}.tx`), rx: join(logDir, `${peer}.rx`) };
}

/** Segments whose digests a handshake carries: the most recent ones (~560 KB of JSON). */
export const DIGESTS_MAX = 16384;

export async function logState(path: string, digests = false): Promise<LogState> {
  try {
    const { stdout } = await run(toolPath("pfs-log-info"), digests ? [path, "--digests"] : [path], {
      maxBuffer: 64 << 20,
    });
    const j = JSON.parse(stdout) as Record<string, unknown>;
    if (!j.exists) return { exists: false };
    return {
      exists: true,
      epoch: String(j.epoch),
      capacity: Number(j.capacity),
      lower: String(j.lower),
      contig: String(j.contig),
      segmentSize: Number(j.segment_size),
      ...(digests ? recent(Number(j.first_segment), j.digests as string[]) : {}),
    };
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    throw new PfsError(
      "PFS_ERR_IO",
      `cannot read the blob log ${path}: ${e.stdout?.trim() || e.message}`,
      "if the file is damaged, remove it (and its .meta): the pair starts a new epoch",
    );
  }
}

function recent(first: number, all: string[]): { firstSegment: number; digests: string[] } {
  const skip = Math.max(0, all.length - DIGESTS_MAX);
  return { firstSegment: first + skip, digests: all.slice(skip) };
}

export function removeLog(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.meta`, { force: true });
}

/** The first segment (index) where two logs' digests differ, over the segments both list. */
export function firstMismatch(a: LogState, b: LogState): { compared: number; at?: number } {
  if (!a.digests || !b.digests || a.segmentSize !== b.segmentSize) return { compared: 0 };
  const from = Math.max(a.firstSegment!, b.firstSegment!);
  const to = Math.min(a.firstSegment! + a.digests.length, b.firstSegment! + b.digests.length);
  for (let s = from; s < to; s++) {
    if (a.digests[s - a.firstSegment!] !== b.digests[s - b.firstSegment!]) {
      return { compared: s - from, at: s };
    }
  }
  return { compared: Math.max(0, to - from) };
}

/**
 * Where a direction resumes (DESIGN §3.5): the sender's tx log and the
 * receiver's rx log must be of the same epoch; they resume at the end both
 * hold, unless a segment digest differs, in which case both cut back to the
 * start of the first segment that differs (the last one both agree on ends
 * there). Returns the point, or undefined when the pair must start that
 * direction over (a new epoch): no common epoch, or nothing left in common.
 */
export function resumePoint(tx: LogState, rx: LogState, capacity: number): bigint | undefined {
  if (!tx.exists || !rx.exists || tx.epoch !== rx.epoch || tx.epoch === "0") return undefined;
  if (tx.capacity !== capacity || rx.capacity !== capacity) return undefined;
  let point = BigInt(tx.contig!) < BigInt(rx.contig!) ? BigInt(tx.contig!) : BigInt(rx.contig!);
  const lower = BigInt(tx.lower!) > BigInt(rx.lower!) ? BigInt(tx.lower!) : BigInt(rx.lower!);
  const bad = firstMismatch(tx, rx).at;
  if (bad !== undefined) {
    const cut = BigInt(bad) * BigInt(tx.segmentSize!);
    if (cut < point) point = cut;
  }
  return point >= lower ? point : undefined;
}
