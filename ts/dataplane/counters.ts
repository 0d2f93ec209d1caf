/**
 * A counter snapshot of the control region, by name: one set per worker in
 * use, one per session slot in use, and the workers' sum. The words come from
 * the addon as one BigUint64Array laid out as dataplane/region.h describes;
 * values are numbers (exact below 2^53: 9 PB of bytes, 104 days of ns).
 */

import { PfsError } from "../errors.js";
import type { RegionInfo } from "./native.js";
import { COUNTERS, REGION, SLOT_WORD, SSTATE, camel, nameOf } from "./protocol.js";

type CamelName<S extends string> = S extends `${infer H}_${infer T}`
  ? `${Lowercase<H>}${Capitalize<CamelName<T>>}`
  : Lowercase<S>;

/** packetsSent, wireBytesSent, srttNs, ... (protocol.ts COUNTERS) */
export type CounterName = CamelName<(typeof COUNTERS)[number]>;
export type Counters = Record<CounterName, number>;

export interface SessionCounters {
  sessionId: bigint;
  /** "starting", "up", "down", "failed" or "removed" */
  state: string;
  worker: number;
  counters: Counters;
}

export interface CounterSnapshot {
  /** index = worker number, for the workers in use */
  workers: Counters[];
  /** the sum over workers (gauges summed too: srttNs etc. mean nothing here) */
  total: Counters;
  sessions: SessionCounters[];
}

const NAMES = COUNTERS.map(camel) as CounterName[];

function named(words: BigUint64Array, at: number, count: number): Counters {
  const out = {} as Counters;
  NAMES.forEach((name, i) => (out[name] = i < count ? Number(words[at + i] ?? 0n) : 0));
  return out;
}

/** Names the words of a snapshot taken from the region `info` describes. */
export function nameCounters(info: RegionInfo, words: BigUint64Array): CounterSnapshot {
  const need = info.workersMax * info.workerWords + info.sessionSlots * info.slotWords;
  if (words.length < need) {
    throw new PfsError(
      "PFS_ERR_NATIVE_FAILED",
      `counter snapshot has ${words.length} words, the region's layout needs ${need}`,
    );
  }
  const count = Math.min(info.counterCount, COUNTERS.length);
  const workers: Counters[] = [];
  for (let w = 0; w < info.workerCount; w++)
    workers.push(named(words, w * info.workerWords, count));
  const total = named(new BigUint64Array(0), 0, 0);
  for (const c of workers) for (const k of NAMES) total[k] += c[k];

  const sessions: SessionCounters[] = [];
  const base = info.workersMax * info.workerWords;
  for (let s = 0; s < info.sessionSlots; s++) {
    const at = base + s * info.slotWords;
    const state = Number(words[at + SLOT_WORD.STATE]);
    if (state === SSTATE.FREE) continue;
    sessions.push({
      sessionId: words[at + SLOT_WORD.SESSION_ID] as bigint,
      state: nameOf(SSTATE, state) ?? `unknown (${state})`,
      worker: Number(words[at + SLOT_WORD.WORKER]),
      counters: named(words, at + REGION.SLOT_HEAD_WORDS, count),
    });
  }
  return { workers, total, sessions };
}
