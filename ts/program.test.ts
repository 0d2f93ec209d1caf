import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { buildProgram, main } from "./program.js";
import { type FakeBuildDir, fakeBuildDir } from "./testing/fake-tool.js";
import { memoryIo } from "./util/io.js";

async function run(...args: string[]) {
  const io = memoryIo();
  const code = await main(["node", "pfs-dp", ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

/** Paths of every command, e.g. [], ["bench"], ["bench", "codec"]. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [prefix, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe("help", () => {
  const paths = commandPaths(buildProgram(memoryIo()).program);

  it("covers the bench codec command", () => {
    expect(paths).toContainEqual(["bench", "codec"]);
  });

  it.each(paths.map((p) => [p.join(" ") || "(top level)", p] as const))(
    "pfs-dp %s --help shows usage and an example",
    async (_name, path) => {
      const r = await run(...path, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: pfs-dp");
      expect(r.stdout).toMatch(/Examples:\n\s+(#.*\n\s+)?\$ pfs-dp /);
    },
  );
});

describe("version", () => {
  it("pfs-dp --version prints the package version", async () => {
    const r = await run("--version");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("bench codec arguments", () => {
  let fake: FakeBuildDir;
  let target: string;
  beforeEach(() => {
    fake = fakeBuildDir();
    mkdirSync(join(fake.dir, "data"));
    target = join(fake.dir, "data", "new.bin");
    writeFileSync(target, "x");
  });
  afterEach(() => fake.cleanup());

  it("without --target fails with a clear error", async () => {
    const r = await run("bench", "codec", "--base", target);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("error: bench codec needs --target NEW");
    expect(r.stderr).toContain("hint: for example: pfs-dp bench codec");
    expect(r.stdout).toBe("");
  });

  it("names a file that does not exist", async () => {
    const missing = join(fake.dir, "data", "old-missing.bin");
    const r = await run("bench", "codec", "--base", missing, "--target", target);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`base file ${missing} does not exist`);
  });

  it("refuses a bad size with the option named", async () => {
    const r = await run("bench", "codec", "--target", target, "--block-size", "12parsecs");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--block-size");
    expect(r.stderr).toContain('"12parsecs"');
  });

  it("refuses a non-integer level", async () => {
    const r = await run("bench", "codec", "--target", target, "--level", "3.5");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"3.5" is not an integer');
  });

  it("reports an unbuilt C tool with a build hint", async () => {
    const r = await run("bench", "codec", "--target", target);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pfs-codec-bench is not built");
    expect(r.stderr).toContain("hint: run npm install");
  });

  it("passes repeated --base in order and sizes in bytes to the tool", async () => {
    const a = join(fake.dir, "data", "a.bin");
    const b = join(fake.dir, "data", "b.bin");
    writeFileSync(a, "a");
    writeFileSync(b, "b");
    // The fake tool answers with its arguments inside a valid report.
    fake.tool(
      "pfs-codec-bench",
      `args=$(printf '%s|' "$@")
cat <<JSON
{"input_bytes":1,"wire_bytes":1,"pointer_bytes":0,"literal_bytes":1,"header_bytes":0,
 "base_bytes":2,"encode_MBps":1,"decode_MBps":1,"roundtrip_ok":true,"blocks":1,
 "pointers":0,"literal_raw_bytes":1,"ratio":1,"args":"$args"}
JSON`,
    );
    const r = await run(
      "bench",
      "codec",
      "--base",
      b,
      "--base",
      a,
      "--target",
      target,
      "--block-size",
      "64K",
      "--avg-chunk",
      "1KiB",
      "--log-size",
      "1G",
      "--level",
      "5",
      "--json",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).args).toBe(
      `--target|${target}|--base|${b}|--base|${a}|--block-size|65536|--avg-chunk|1024|` +
        `--log-size|1073741824|--level|5|--json|`,
    );
  });
});
