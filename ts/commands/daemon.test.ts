/**
 * The daemon commands without a daemon, and with bad input: each says what is
 * wrong and what to do, exits non-zero, and changes nothing.
 */

import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { main } from "../program.js";
import { memoryIo } from "../util/io.js";
import { setOverrides } from "./daemon.js";
import { parseTarget } from "./send.js";

let tmp: string;
let dir: string;

async function run(...args: string[]) {
  const io = memoryIo();
  const code = await main(["node", "pfs-dp", ...args, "--config-dir", dir], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "pfs-daemon-cli-"));
  dir = join(tmp, "node");
  expect((await run("init", "--name", "solo")).code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("without a running daemon", () => {
  it("status says it is not running, shows the key, and exits 3", async () => {
    const r = await run("status");
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/not running/);
    expect(r.stdout).toMatch(/sha256:[0-9a-f]{64}/);
  });

  it("status --json says running: false", async () => {
    const r = await run("status", "--json");
    expect(JSON.parse(r.stdout)).toMatchObject({ running: false });
  });

  it("stop says there is nothing to stop", async () => {
    const r = await run("stop");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no daemon runs/);
  });

  it("send, transfers and blob stats say no daemon answers and how to start one", async () => {
    for (const args of [["send", tmp, "beta"], ["transfers"], ["blob", "stats"]]) {
      const r = await run(...args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(/no daemon answers/);
      expect(r.stderr, args.join(" ")).toMatch(/pfs-dp start/);
    }
  });
});

describe("bad input", () => {
  it("start --backend xdp says AF_XDP is not available and starts nothing", async () => {
    const r = await run("start", "--backend", "xdp", "--iface", "eth0");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/AF_XDP/);
    expect(r.stderr).toMatch(/--backend udp/);
    expect(existsSync(join(dir, "state/daemon.pid"))).toBe(false);
  });

  it("start with a bad value names the field and the allowed values", async () => {
    for (const [flag, value, field] of [
      ["--blob-size", "3MiB", "dataplane.blobSize"],
      ["--cores", "x", "dataplane.cores"],
      ["--listen", "nowhere", "dataplane.listen"],
      ["--backend", "dpdk", "dataplane.backend"],
    ] as const) {
      const r = await run("start", flag, value);
      expect(r.code, flag).not.toBe(0);
      expect(r.stderr, flag).toContain(field);
    }
    expect(readdirSync(join(dir, "state")).filter((f) => f.startsWith("daemon"))).toEqual([]);
  });

  it("--set reaches every configuration field and a bad one is named", async () => {
    expect(setOverrides(["policy.cc=cubic", "dataplane.mtu=9000", "logLevel=debug"])).toEqual({
      policy: { cc: "cubic" },
      dataplane: { mtu: 9000 },
      logLevel: "debug",
    });
    expect(() => setOverrides(["nope"])).toThrow(/FIELD=VALUE/);
    expect(() => setOverrides(["a..b=1"])).toThrow(/FIELD=VALUE/);
    for (const [set, field] of [
      ["policy.cc=warp", "policy.cc"],
      ["dataplane.mtu=70000", "dataplane.mtu"],
      ["policy.windowSize=3", "policy.windowSize"],
    ] as const) {
      const r = await run("start", "--set", set);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr, set).toContain(field);
    }
  });

  it("send refuses a target that is not PEER or PEER:DEST below the root", () => {
    expect(() => parseTarget("Beta!")).toThrow(/PEER or PEER:DEST/);
    expect(() => parseTarget("beta:/etc")).toThrow(/relative/);
    expect(() => parseTarget("beta:a/../../b")).toThrow(/without \. or \.\./);
    expect(parseTarget("beta:in/today/")).toEqual({ peer: "beta", dest: "in/today" });
    expect(parseTarget("beta")).toEqual({ peer: "beta", dest: "" });
  });

  it("send without a target says what it needs", async () => {
    const r = await run("send", tmp);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/path and the target PEER\[:DEST\]/);
  });
});
