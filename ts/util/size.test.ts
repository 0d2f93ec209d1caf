import { describe, expect, it } from "vitest";

import { SizeError, formatSize, parseSize } from "./size.js";

describe("parseSize", () => {
  it.each([
    ["0", 0],
    ["4096", 4096],
    ["512B", 512],
    ["64K", 65536],
    ["64k", 65536],
    ["64KiB", 65536],
    ["64kib", 65536],
    ["1M", 1048576],
    ["1MiB", 1048576],
    ["1G", 1073741824],
    ["2GiB", 2147483648],
    ["1T", 1099511627776],
    ["1.5M", 1572864],
    ["0.5K", 512],
    [" 8K ", 8192],
    ["8 K", 8192],
  ])("%s is %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ["", /not a size/],
    ["K", /not a size/],
    ["-1", /not a size/],
    ["1e6", /not a size/],
    ["0x100", /not a size/],
    ["12 parsecs", /unknown unit "parsecs"/],
    ["64KB", /use K or KiB/],
    ["1MB", /use M or MiB/],
    ["1.5", /whole number of bytes/],
    ["1.3K", /whole number of bytes/],
    ["99999999999T", /too large/],
  ])("%j is refused", (text, message) => {
    expect(() => parseSize(text)).toThrow(SizeError);
    expect(() => parseSize(text)).toThrow(message);
  });

  it("names the bad text in the error", () => {
    expect(() => parseSize("lots")).toThrow('"lots"');
  });
});

describe("formatSize", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1536, "1.50 KiB"],
    [1048576, "1.00 MiB"],
    [3 * 1024 ** 3, "3.00 GiB"],
  ])("%d bytes reads %s", (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it("round-trips through parseSize for whole units", () => {
    for (const n of [1024, 65536, 1048576, 1073741824]) {
      expect(parseSize(formatSize(n).replace(" ", "").replace(".00", ""))).toBe(n);
    }
  });
});
