import { describe, expect, it } from "vitest";

import { type LogState, firstMismatch, resumePoint } from "./logs.js";

const SEG = 1 << 20;
const CAP = 1 << 30;

function log(epoch: string, lower: number, contig: number, digests: string[], first = 0): LogState {
  return {
    exists: true,
    epoch,
    capacity: CAP,
    lower: String(lower),
    contig: String(contig),
    segmentSize: SEG,
    firstSegment: first,
    digests,
  };
}

describe("resumePoint", () => {
  it("resumes where both logs of one epoch end when every segment agrees", () => {
    const tx = log("7", 0, 3 * SEG + 100, ["a", "b", "c"]);
    const rx = log("7", 0, 2 * SEG + 5, ["a", "b"]);
    expect(resumePoint(tx, rx, CAP)).toBe(BigInt(2 * SEG + 5));
  });

  it("cuts back to the start of the first segment whose digests differ", () => {
    const tx = log("7", 0, 3 * SEG, ["a", "b", "c"]);
    const rx = log("7", 0, 3 * SEG, ["a", "X", "c"]);
    expect(resumePoint(tx, rx, CAP)).toBe(BigInt(SEG));
  });

  it("starts a new epoch when epochs differ, a log is missing, or sizes differ", () => {
    const tx = log("7", 0, 2 * SEG, ["a", "b"]);
    expect(resumePoint(tx, log("8", 0, 2 * SEG, ["a", "b"]), CAP)).toBeUndefined();
    expect(resumePoint(tx, { exists: false }, CAP)).toBeUndefined();
    expect(resumePoint(tx, log("7", 0, 2 * SEG, ["a", "b"]), CAP * 2)).toBeUndefined();
  });

  it("keeps the epoch but holds nothing when the first segment held already differs", () => {
    const a = log("7", SEG, 3 * SEG, ["b", "c"], 1);
    expect(resumePoint(a, log("7", SEG, 3 * SEG, ["X", "c"], 1), CAP)).toBe(BigInt(SEG));
    // windows that overlap in part compare where both hold bytes
    expect(resumePoint(a, log("7", 2 * SEG, 3 * SEG, ["c"], 2), CAP)).toBe(BigInt(3 * SEG));
  });
});

describe("firstMismatch", () => {
  it("compares only the segments both list, aligned by index", () => {
    expect(firstMismatch(log("1", 0, 0, ["a", "b", "c"]), log("1", 0, 0, ["b", "c"], 1))).toEqual({
      compared: 2,
    });
    expect(firstMismatch(log("1", 0, 0, ["a", "b", "c"]), log("1", 0, 0, ["b", "Z"], 1))).toEqual({
      compared: 1,
      at: 2,
    });
    expect(firstMismatch(log("1", 0, 0, ["a"]), { exists: false })).toEqual({ compared: 0 });
  });
});
