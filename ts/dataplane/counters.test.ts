import { describe, expect, it } from "vitest";

import { nameCounters } from "./counters.js";
import type { RegionInfo } from "./native.js";
import { REGION, SLOT_WORD, SSTATE } from "./protocol.js";

function info(over: Partial<RegionInfo> = {}): RegionInfo {
  return {
    layoutVersion: 1,
    pid: 1,
    state: 2,
    workerCount: 2,
    heartbeatNs: 0n,
    regionBytes: 0,
    cmdRingBytes: 0,
    evtRingBytes: 0,
    cmdUsed: 0,
    evtUsed: 0,
    workersMax: REGION.WORKERS_MAX,
    workerWords: REGION.WORKER_WORDS,
    sessionSlots: 3,
    slotWords: REGION.SLOT_WORDS,
    counterCount: 28,
    ...over,
  };
}

describe("nameCounters", () => {
  const i = info();
  const words = new BigUint64Array(i.workersMax * i.workerWords + i.sessionSlots * i.slotWords);
  words[0] = 5n; // worker 0 packetsSent
  words[i.workerWords] = 7n; // worker 1 packetsSent
  words[2 * i.workerWords] = 100n; // worker 2: not in use
  const slot1 = i.workersMax * i.workerWords + i.slotWords;
  words[slot1 + SLOT_WORD.SESSION_ID] = 0xffffffffffffffffn;
  words[slot1 + SLOT_WORD.STATE] = BigInt(SSTATE.DOWN);
  words[slot1 + SLOT_WORD.WORKER] = 1n;
  words[slot1 + REGION.SLOT_HEAD_WORDS + 2] = 1400n; // wireBytesSent

  it("names the workers in use, sums them, and lists the sessions in use", () => {
    const s = nameCounters(i, words);
    expect(s.workers.map((w) => w.packetsSent)).toEqual([5, 7]);
    expect(s.total.packetsSent).toBe(12);
    expect(Object.keys(s.total)).toHaveLength(28);
    expect(s.sessions).toHaveLength(1);
    expect(s.sessions[0]).toMatchObject({
      sessionId: 0xffffffffffffffffn,
      state: "down",
      worker: 1,
    });
    expect(s.sessions[0]?.counters.wireBytesSent).toBe(1400);
  });

  it("reads counters an older data plane does not have as 0", () => {
    const s = nameCounters(info({ counterCount: 1 }), words);
    expect(s.workers[0]?.packetsSent).toBe(5);
    expect(s.sessions[0]?.counters.wireBytesSent).toBe(0);
  });

  it("refuses a snapshot shorter than the layout", () => {
    expect(() => nameCounters(i, words.subarray(0, 10))).toThrow(/needs/);
  });
});
