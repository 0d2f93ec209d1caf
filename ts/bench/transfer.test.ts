import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { type FakeBuildDir, fakeBuildDir } from "../testing/fake-tool.js";
import { memoryIo } from "../util/io.js";
import {
  TRANSFER_TOOL,
  runTransferBench,
  transferToolArgs,
  validateTransferReport,
} from "./transfer.js";

const GOOD = {
  input_bytes: 1000,
  seconds: 0.5,
  goodput_MBps: 0.002,
  wire_bytes: 1100,
  retransmitted_bytes: 10,
  packets_sent: 3,
  completed: true,
  verified: true,
};

let dir: string;
let file: string;
let fake: FakeBuildDir;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-transfer-test-"));
  file = join(dir, "t.bin");
  writeFileSync(file, "x".repeat(1000));
  fake = fakeBuildDir();
});

afterEach(() => {
  fake.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function usageError(p: Promise<unknown>): Promise<PfsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PfsError);
  return err as PfsError;
}

describe("bench transfer arguments", () => {
  it("passes every option to the tool and asks for JSON", async () => {
    const args = await transferToolArgs({
      target: file,
      base: file,
      loss: 0.01,
      reorder: 0.02,
      rate: 100,
      cc: "cubic",
      backend: "mem",
      mtu: 9000,
    });
    expect(args).toEqual([
      "--target",
      file,
      "--base",
      file,
      "--loss",
      "0.01",
      "--reorder",
      "0.02",
      "--rate",
      "100",
      "--cc",
      "cubic",
      "--backend",
      "mem",
      "--mtu",
      "9000",
      "--json",
    ]);
  });

  it.each([
    [{}, /needs --target/],
    [{ loss: 1 }, /--loss 1 is not a fraction/],
    [{ reorder: -0.1 }, /--reorder -0.1 is not a fraction/],
    [{ rate: 0 }, /--rate 0 must be more than 0/],
    [{ cc: "reno" }, /--cc reno is not one of/],
    [{ cc: "fixed" }, /--cc fixed needs --rate/],
    [{ backend: "xdp" }, /--backend xdp is not one of udp, mem/],
    [{ mtu: 100 }, /--mtu 100 is out of range/],
  ])("refuses %j with a message that says what is wrong", async (bad, msg) => {
    const opts = "target" in bad || Object.keys(bad).length === 0 ? bad : { target: file, ...bad };
    const err = await usageError(transferToolArgs(opts));
    expect(err.code).toBe("PFS_ERR_USAGE");
    expect(err.message).toMatch(msg);
  });

  it("names a missing file", async () => {
    const err = await usageError(transferToolArgs({ target: join(dir, "nope") }));
    expect(err.code).toBe("PFS_ERR_FILE_NOT_FOUND");
    expect(err.message).toContain("nope");
  });
});

describe("bench transfer report", () => {
  it("accepts the contract and refuses a malformed report", () => {
    expect(validateTransferReport(GOOD).goodput_MBps).toBe(0.002);
    expect(() => validateTransferReport({ ...GOOD, wire_bytes: -1 })).toThrow(/wire_bytes/);
    expect(() => validateTransferReport({ ...GOOD, verified: "yes" })).toThrow(/verified/);
    expect(() => validateTransferReport([])).toThrow(/one JSON object/);
  });

  it("prints a summary and exits 0 when the bytes arrived intact", async () => {
    const argsFile = join(dir, "args");
    fake.tool(TRANSFER_TOOL, `printf '%s\\n' "$@" > ${argsFile}\necho '${JSON.stringify(GOOD)}'`);
    const io = memoryIo();
    expect(await runTransferBench({ target: file, loss: 0.01 }, io)).toBe(0);
    expect(io.stdout()).toContain("goodput 0.0 MB/s");
    expect(io.stdout()).toContain("1.0 % loss");
    expect(io.stdout()).toContain("verified   yes");
    expect(readFileSync(argsFile, "utf8")).toContain("--loss\n0.01");
  });

  it("exits 1 when the receiver's bytes did not match", async () => {
    fake.tool(TRANSFER_TOOL, `echo '${JSON.stringify({ ...GOOD, verified: false })}'`);
    const io = memoryIo();
    expect(await runTransferBench({ target: file, json: true }, io)).toBe(1);
    expect(JSON.parse(io.stdout()).verified).toBe(false);
  });
});
