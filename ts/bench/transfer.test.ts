import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { main } from "../program.js";
import { type FakeBuildDir, fakeBuildDir } from "../testing/fake-tool.js";
import { memoryIo } from "../util/io.js";
import {
  TRANSFER_TOOL,
  formatTransferReport,
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
  pointer_bytes: 400,
  repairs: 2,
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

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await main(["node", "pfs-dp", ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

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
      duplicate: 0.03,
      corrupt: 0.001,
      rate: 100,
      cc: "cubic",
      backend: "mem",
      mtu: 9000,
      receiveRoot: dir,
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
      "--duplicate",
      "0.03",
      "--corrupt",
      "0.001",
      "--rate",
      "100",
      "--cc",
      "cubic",
      "--backend",
      "mem",
      "--mtu",
      "9000",
      "--receive-root",
      dir,
      "--json",
    ]);
  });

  it("leaves out the fault and receive-root flags that were not given", async () => {
    expect(await transferToolArgs({ target: file, duplicate: 0, corrupt: 0 })).toEqual([
      "--target",
      file,
      "--duplicate",
      "0",
      "--corrupt",
      "0",
      "--json",
    ]);
    expect(await transferToolArgs({ target: file })).toEqual(["--target", file, "--json"]);
  });

  it.each([
    [{}, /needs --target/],
    [{ loss: 1 }, /--loss 1 is not a fraction/],
    [{ reorder: -0.1 }, /--reorder -0.1 is not a fraction/],
    [{ duplicate: 1 }, /--duplicate 1 is not a fraction in \[0, 1\)/],
    [{ duplicate: Number.NaN }, /--duplicate NaN is not a fraction/],
    [{ corrupt: -0.001 }, /--corrupt -0.001 is not a fraction/],
    [{ corrupt: 1.5 }, /--corrupt 1.5 is not a fraction/],
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

  it.each([
    ["a missing directory", () => join(dir, "absent"), /absent does not exist/],
    ["a file", () => file, /t\.bin is not a directory/],
    ["an empty name", () => "", /--receive-root {2}is empty/],
  ])("refuses %s as the receive root, saying how to fix it", async (_what, root, msg) => {
    const err = await usageError(transferToolArgs({ target: file, receiveRoot: root() }));
    expect(err.code).toBe("PFS_ERR_USAGE");
    expect(err.message).toMatch(/^--receive-root /);
    expect(err.message).toMatch(msg);
    expect(err.hint).toMatch(/create the directory/);
  });
});

describe("bench transfer report", () => {
  it("accepts the contract and refuses a malformed report", () => {
    expect(validateTransferReport(GOOD).goodput_MBps).toBe(0.002);
    expect(validateTransferReport(GOOD).repairs).toBe(2);
    expect(() => validateTransferReport({ ...GOOD, wire_bytes: -1 })).toThrow(/wire_bytes/);
    const { pointer_bytes: _, ...older } = GOOD; // a tool from before pointer_bytes
    expect(() => validateTransferReport(older)).toThrow(/"pointer_bytes" must be a non-negative/);
    expect(() => validateTransferReport({ ...GOOD, repairs: "2" })).toThrow(/repairs/);
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

  it("summarises every injected fault, pointers and repairs", () => {
    const text = formatTransferReport(validateTransferReport(GOOD), {
      target: "t.bin",
      loss: 0.01,
      reorder: 0.05,
      duplicate: 0.02,
      corrupt: 0.001,
    });
    expect(text).toContain(
      "t.bin over udp, bbr, 1.0 % loss, 5.0 % reordered, 2.0 % duplicated, 0.1 % corrupted\n",
    );
    expect(text).toMatch(
      /pointers +400 B \(40\.0 % of the input\) sent as references, 2 blocks repaired/,
    );
    expect(text).toContain("(110.0 % of the input)");
    const one = formatTransferReport(validateTransferReport({ ...GOOD, repairs: 1 }), {
      target: "t.bin",
    });
    expect(one).toContain("t.bin over udp, bbr\n");
    expect(one).toContain("1 block repaired");
  });

  it("exits 1 when the receiver's bytes did not match", async () => {
    fake.tool(TRANSFER_TOOL, `echo '${JSON.stringify({ ...GOOD, verified: false })}'`);
    const io = memoryIo();
    expect(await runTransferBench({ target: file, json: true }, io)).toBe(1);
    expect(JSON.parse(io.stdout()).verified).toBe(false);
  });
});

describe("pfs-dp bench transfer", () => {
  it("hands the fault and receive-root flags to the tool", async () => {
    fake.tool(
      TRANSFER_TOOL,
      `args=$(printf '%s|' "$@")
echo '${JSON.stringify({ ...GOOD, args: "ARGS" })}' | sed "s#ARGS#$args#"`,
    );
    const r = await cli(
      "bench",
      "transfer",
      "--target",
      file,
      "--duplicate",
      "0.02",
      "--corrupt",
      "0.001",
      "--receive-root",
      dir,
      "--json",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).args).toBe(
      `--target|${file}|--duplicate|0.02|--corrupt|0.001|--receive-root|${dir}|--json|`,
    );
  });

  it("refuses a fault that is not a number before running the tool", async () => {
    const r = await cli("bench", "transfer", "--target", file, "--corrupt", "lots");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"lots" is not a number');
  });

  it("--help describes the new flags with examples", async () => {
    const r = await cli("bench", "transfer", "--help");
    expect(r.code).toBe(0);
    for (const flag of ["--duplicate <P>", "--corrupt <P>", "--receive-root <DIR>"]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/\$ pfs-dp bench transfer .*--duplicate 0\.02 --corrupt 0\.001/);
    expect(r.stdout).toMatch(/\$ pfs-dp bench transfer .*--receive-root /);
  });
});
