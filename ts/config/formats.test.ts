import { describe, expect, it } from "vitest";

import { FORMATS, parseBlobSize, parseCores } from "./formats.js";

describe("core lists", () => {
  it("expands ranges, sorted", () => {
    expect(parseCores("")).toEqual([]);
    expect(parseCores("0")).toEqual([0]);
    expect(parseCores("6,0-3")).toEqual([0, 1, 2, 3, 6]);
  });

  it.each([
    ["3-1", "runs backwards"],
    ["0,0", "listed twice"],
    ["a", "is not a core number"],
    ["0-5000", "above 4095"],
    ["1,", "is not a core number"],
  ])("refuses %j (%s)", (text, why) => {
    expect(FORMATS.cores?.problem(text)).toContain(why);
    expect(() => parseCores(text)).toThrow(why);
  });
});

describe("blob sizes", () => {
  it("accepts powers of two from 64KiB to 1TiB", () => {
    expect(parseBlobSize("64KiB")).toBe(65536);
    expect(parseBlobSize("1GiB")).toBe(2 ** 30);
    expect(parseBlobSize("1TiB")).toBe(2 ** 40);
  });

  it.each([
    ["100MiB", "not a power of two"],
    ["32KiB", "out of range"],
    ["2TiB", "out of range"],
    ["1GB", "unknown unit"],
    ["lots", "is not a size"],
  ])("refuses %j (%s)", (text, why) => {
    expect(FORMATS["blob-size"]?.problem(text)).toContain(why);
  });
});
