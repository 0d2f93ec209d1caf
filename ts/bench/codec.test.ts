import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { type FakeBuildDir, fakeBuildDir } from "../testing/fake-tool.js";
import { memoryIo } from "../util/io.js";
import {
  CODEC_TOOL,
  REPORT_NUMBERS,
  codecToolArgs,
  runCodecBench,
  stableReport,
  validateReport,
} from "./codec.js";

const REPORT = {
  ratio: 20,
  input_bytes: 1048576,
  wire_bytes: 52428,
  pointer_bytes: 2000,
  literal_bytes: 48000,
  literal_raw_bytes: 96000,
  header_bytes: 2428,
  base_bytes: 1000000,
  encode_MBps: 812.5,
  decode_MBps: 2400.25,
  roundtrip_ok: true,
  blocks: 8,
  pointers: 125,
  zeta_extra: "kept",
  alpha_extra: 1,
};

let fake: FakeBuildDir;
let files: { old1: string; old2: string; target: string };

/** A fake pfs-codec-bench that records its arguments and prints `report`. */
function fakeCodecTool(report: unknown, exit = 0): string {
  const argsFile = join(fake.dir, "args.txt");
  fake.tool(
    CODEC_TOOL,
    `for a in "$@"; do printf '%s\\n' "$a"; done > '${argsFile}'
cat <<'JSON'
${JSON.stringify(report)}
JSON
exit ${exit}`,
  );
  return argsFile;
}

beforeEach(() => {
  fake = fakeBuildDir();
  const data = join(fake.dir, "data");
  mkdirSync(data);
  files = { old1: join(data, "v1.tar"), old2: join(data, "v2.tar"), target: join(data, "v3.tar") };
  for (const f of Object.values(files)) writeFileSync(f, "x");
});
afterEach(() => fake.cleanup());

describe("codecToolArgs", () => {
  it("passes bases in order, sizes as bytes, and asks for JSON", async () => {
    const args = await codecToolArgs({
      base: [files.old2, files.old1],
      target: files.target,
      blockSize: 131072,
      level: 0,
    });
    expect(args).toEqual([
      "--target",
      files.target,
      "--base",
      files.old2,
      "--base",
      files.old1,
      "--block-size",
      "131072",
      "--level",
      "0",
      "--json",
    ]);
  });

  it("requires a target", async () => {
    await expect(codecToolArgs({ base: [files.old1] })).rejects.toMatchObject({
      code: "PFS_ERR_USAGE",
      message: expect.stringContaining("--target"),
    });
  });

  it("names a missing file", async () => {
    const missing = join(fake.dir, "nope.tar");
    await expect(codecToolArgs({ base: [missing], target: files.target })).rejects.toMatchObject({
      code: "PFS_ERR_FILE_NOT_FOUND",
      message: `base file ${missing} does not exist`,
    });
  });

  it("refuses a directory", async () => {
    await expect(codecToolArgs({ base: [], target: fake.dir })).rejects.toMatchObject({
      code: "PFS_ERR_FILE_NOT_FOUND",
      message: expect.stringContaining("is not a regular file"),
    });
  });
});

describe("validateReport", () => {
  it("accepts the contract's fields", () => {
    expect(validateReport(REPORT).wire_bytes).toBe(52428);
  });

  it.each([
    ["not an object", [1, 2]],
    ["missing field", { ...REPORT, wire_bytes: undefined }],
    ["string number", { ...REPORT, blocks: "8" }],
    ["negative", { ...REPORT, pointers: -1 }],
    ["non-boolean round trip", { ...REPORT, roundtrip_ok: 1 }],
  ])("refuses a report with %s", (_what, report) => {
    expect(() => validateReport(report)).toThrow(PfsError);
    expect(() => validateReport(report)).toThrow(/report is malformed/);
  });

  it("orders known keys first, then the rest sorted", () => {
    const keys = Object.keys(stableReport(validateReport(REPORT)));
    expect(keys).toEqual([...REPORT_NUMBERS, "roundtrip_ok", "alpha_extra", "zeta_extra"]);
  });
});

describe("runCodecBench with a fake pfs-codec-bench", () => {
  it("prints the report as stable JSON", async () => {
    const argsFile = fakeCodecTool(REPORT);
    const io = memoryIo();
    const code = await runCodecBench({ base: [files.old1], target: files.target, json: true }, io);
    expect(code).toBe(0);
    const printed = JSON.parse(io.stdout());
    expect(printed).toEqual(REPORT);
    expect(Object.keys(printed)[0]).toBe("input_bytes");
    expect(readFileSync(argsFile, "utf8").trim().split("\n")).toEqual([
      "--target",
      files.target,
      "--base",
      files.old1,
      "--json",
    ]);
  });

  it("prints a summary for people", async () => {
    fakeCodecTool(REPORT);
    const io = memoryIo();
    expect(await runCodecBench({ base: [files.old1], target: files.target }, io)).toBe(0);
    const out = io.stdout();
    expect(out).toContain("input      1.00 MiB");
    expect(out).toContain("ratio 20.00");
    expect(out).toContain("125 pointers");
    expect(out).toContain("encode 812.5 MB/s, decode 2400.3 MB/s");
    expect(out).toContain("round-trip OK");
  });

  it("exits 1 when the round trip failed", async () => {
    fakeCodecTool({ ...REPORT, roundtrip_ok: false });
    const io = memoryIo();
    expect(await runCodecBench({ base: [], target: files.target }, io)).toBe(1);
    expect(io.stdout()).toContain("round-trip FAILED");
  });

  it("maps malformed output to PFS_ERR_NATIVE_FAILED", async () => {
    fakeCodecTool({ input_bytes: 1 });
    await expect(
      runCodecBench({ base: [], target: files.target }, memoryIo()),
    ).rejects.toMatchObject({
      code: "PFS_ERR_NATIVE_FAILED",
    });
  });
});
