import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "./errors.js";
import { buildDir, parseToolError, repoRoot, runJsonTool, runTool } from "./native.js";
import { type FakeBuildDir, fakeBuildDir } from "./testing/fake-tool.js";

async function rejection(p: Promise<unknown>): Promise<PfsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PfsError);
    return err as PfsError;
  }
  throw new Error("expected the promise to reject");
}

describe("build directory", () => {
  it("defaults to <repo>/build and honours PFS_BUILD_DIR", () => {
    const saved = process.env["PFS_BUILD_DIR"];
    try {
      delete process.env["PFS_BUILD_DIR"];
      expect(buildDir()).toBe(`${repoRoot()}/build`);
      process.env["PFS_BUILD_DIR"] = "build-asan";
      expect(buildDir()).toBe(`${repoRoot()}/build-asan`);
      process.env["PFS_BUILD_DIR"] = "/tmp/elsewhere";
      expect(buildDir()).toBe("/tmp/elsewhere");
    } finally {
      if (saved === undefined) delete process.env["PFS_BUILD_DIR"];
      else process.env["PFS_BUILD_DIR"] = saved;
    }
  });
});

describe("native tool contract", () => {
  let fake: FakeBuildDir;
  beforeEach(() => {
    fake = fakeBuildDir();
  });
  afterEach(() => fake.cleanup());

  it("returns the JSON report of a tool that succeeds, with its arguments passed", async () => {
    fake.tool("echo-tool", `printf '{"argc":%d,"first":"%s","last":"%s"}\\n' "$#" "$1" "$3"`);
    const report = await runJsonTool("echo-tool", ["--target", "a b", "--json"]);
    expect(report).toEqual({ argc: 3, first: "--target", last: "--json" });
  });

  it("maps a JSON error on stderr to the registry code", async () => {
    fake.tool(
      "bad-block",
      `echo 'decoding block 7' >&2
echo '{"error":{"code":"PFS_ERR_CHECKSUM","message":"block 7: checksum mismatch"}}' >&2
exit 3`,
    );
    const e = await rejection(runTool("bad-block", []));
    expect(e.code).toBe("PFS_ERR_CHECKSUM");
    expect(e.message).toBe("bad-block: block 7: checksum mismatch");
    expect(e.cCode).toBe(-10010);
  });

  it("keeps an errno name the registry does not know", async () => {
    fake.tool(
      "no-file",
      `echo '{"error":{"code":"ENOENT","message":"open x: No such file"}}' >&2; exit 1`,
    );
    const e = await rejection(runTool("no-file", []));
    expect(e.code).toBe("PFS_ERR_NATIVE_FAILED");
    expect(e.message).toContain("ENOENT: open x: No such file");
  });

  it("reports a failure without a JSON error with its status and stderr", async () => {
    fake.tool("plain-fail", `echo 'something broke' >&2; exit 2`);
    const e = await rejection(runTool("plain-fail", []));
    expect(e.code).toBe("PFS_ERR_NATIVE_FAILED");
    expect(e.message).toMatch(/plain-fail exited with status 2:\nsomething broke/);
  });

  it("reports a tool killed by a signal as a bug", async () => {
    fake.tool("crasher", `kill -SEGV $$`);
    const e = await rejection(runTool("crasher", []));
    expect(e.code).toBe("PFS_ERR_NATIVE_FAILED");
    expect(e.message).toContain("killed by SIGSEGV");
    expect(e.hint).toMatch(/bug/);
  });

  it("refuses a report that is not JSON", async () => {
    fake.tool("chatty", `echo 'hello, not json'`);
    const e = await rejection(runJsonTool("chatty", []));
    expect(e.code).toBe("PFS_ERR_NATIVE_FAILED");
    expect(e.message).toContain("not JSON");
  });

  it("maps a missing binary to PFS_ERR_NATIVE_MISSING with a build hint", async () => {
    const e = await rejection(runTool("pfs-not-built", []));
    expect(e.code).toBe("PFS_ERR_NATIVE_MISSING");
    expect(e.message).toContain(`${fake.dir}/pfs-not-built`);
    expect(e.hint).toBe("run npm install (builds the C tools) or npm run build");
  });
});

describe("parseToolError", () => {
  it("takes the last JSON error line and ignores other text", () => {
    const stderr = [
      "warning: something",
      '{"error":{"code":"PFS_ERR_IO","message":"first"}}',
      "{not json",
      '{"error":{"code":"PFS_ERR_LIMIT","message":"second"}}',
      "",
    ].join("\n");
    expect(parseToolError("t", stderr)?.code).toBe("PFS_ERR_LIMIT");
    expect(parseToolError("t", "no json here")).toBeUndefined();
    expect(parseToolError("t", '{"error":"a string"}')).toBeUndefined();
  });
});
