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
      ...(digests ? { firstSegment: Number(j.first_segment), digests: j.digests as string[] } : {}),
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

export function removeLog(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.meta`, { force: true });
}

/**
 * Where a direction resumes: the sender's tx log and the receiver's rx log
 * hold the same epoch, and both hold [lower, point). Returns the point, or
 * undefined when the pair must start that direction over (a new epoch).
 */
export function resumePoint(tx: LogState, rx: LogState, capacity: number): bigint | undefined {
  if (!tx.exists || !rx.exists || tx.epoch !== rx.epoch || tx.epoch === "0") return undefined;
  if (tx.capacity !== capacity || rx.capacity !== capacity) return undefined;
  const point = BigInt(tx.contig!) < BigInt(rx.contig!) ? BigInt(tx.contig!) : BigInt(rx.contig!);
  const lower = BigInt(tx.lower!) > BigInt(rx.lower!) ? BigInt(tx.lower!) : BigInt(rx.lower!);
  return point >= lower ? point : undefined;
}
