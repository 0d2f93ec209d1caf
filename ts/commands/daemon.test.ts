/**
 * The daemon commands without a daemon, and with bad input: each says what is
 * wrong and what to do, exits non-zero, and changes nothing.
 */

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { buildApp } from "../api/app.js";
import { startServer } from "../api/server.js";
import { configPaths } from "../config/paths.js";
import { loadToken } from "../config/token.js";
import { pidFile, runtimeFile } from "../daemon/run.js";
import { main } from "../program.js";
import { FakeDaemon, counters } from "../testing/fake-daemon.js";
import { memoryIo } from "../util/io.js";
import { setOverrides } from "./daemon.js";
import { parseTarget } from "./send.js";
import { backendEvent } from "../testing/backend.js";

// This test runs as any user, root included: it must never start an xdp data
// plane, so the privilege check sees a user with neither root nor capabilities.
vi.mock("../daemon/privileges.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../daemon/privileges.js")>();
  return {
    ...real,
    checkXdpPrivileges: () => real.checkXdpPrivileges({ euid: 1000, status: undefined }),
  };
});

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

describe("status of a running daemon", () => {
  it("shows the data plane's packet I/O, in text and JSON", async () => {
    // a daemon stand-in (FakeDaemon behind the real REST app) where a running
    // daemon of this config dir would say it listens
    const paths = configPaths(dir);
    const daemon = new FakeDaemon({ peers: [] });
    daemon.snapshot = { workers: [], total: counters(), sessions: [] };
    daemon.cores = "2-3";
    daemon.backendEvent = backendEvent({
      kind: "xdp",
      xdpMode: "native",
      queues: 2,
      ifname: "eth0",
    });
    const close = await startServer(
      buildApp({ daemon, token: loadToken(paths) }),
      `unix:${join(tmp, "api.sock")}`,
    );
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(pidFile(paths), `${process.pid}\n`);
    writeFileSync(runtimeFile(paths), JSON.stringify({ rest: close.address }));
    try {
      const text = await run("status");
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(
        "  backend    xdp on eth0, native mode, copy mode (not zero-copy), 2 queues, UMEM in normal pages; cores 2-3\n",
      );
      const json = JSON.parse((await run("status", "--json")).stdout);
      expect(json.health.dataplane.backend).toEqual({
        kind: "xdp",
        ifname: "eth0",
        xdpMode: "native",
        zeroCopy: false,
        queues: 2,
        hugepages: false,
        cores: "2-3",
      });
    } finally {
      rmSync(pidFile(paths), { force: true });
      rmSync(runtimeFile(paths), { force: true });
      await close();
    }
  });
});

describe("bad input", () => {
  it("start --backend xdp without root says what it needs and starts nothing", async () => {
    // (privileges.js is mocked above: a user without root or capabilities)
    for (const fg of [[], ["--foreground"]]) {
      const r = await run("start", ...fg, "--backend", "xdp", "--iface", "eth0");
      expect(r.code, fg.join()).toBe(1);
      expect(r.stderr, fg.join()).toContain(
        "the xdp backend needs root (CAP_BPF, CAP_NET_ADMIN): run with sudo, or use --backend udp",
      );
    }
    expect(existsSync(join(dir, "state/daemon.pid"))).toBe(false);
    expect(existsSync(join(dir, "state/daemon.log"))).toBe(false);
  });

  it("start --backend xdp without --iface asks for the interface", async () => {
    const r = await run("start", "--backend", "xdp");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dataplane.iface: is required when dataplane.backend is "xdp"');
    expect(r.stderr).toContain("--iface eth0");
    expect(existsSync(join(dir, "state/daemon.log"))).toBe(false);
  });

  it("start --help documents the xdp backend and its options", async () => {
    const r = await run("start", "--help");
    expect(r.code).toBe(0);
    for (const text of [
      "--backend <udp|xdp>",
      "--iface <IF>",
      "--xdp-mode <auto|native|generic>",
      "--xdp-copy <auto|zerocopy|copy>",
      "sudo pfs-dp start --backend xdp --iface eth0",
    ]) {
      expect(r.stdout).toContain(text);
    }
  });

  it("start with a bad value names the field and the allowed values", async () => {
    for (const [flag, value, field] of [
      ["--blob-size", "3MiB", "dataplane.blobSize"],
      ["--cores", "x", "dataplane.cores"],
      ["--listen", "nowhere", "dataplane.listen"],
      ["--backend", "dpdk", "dataplane.backend"],
      ["--xdp-mode", "fast", 'dataplane.xdpMode: must be one of "auto", "native", "generic"'],
      ["--xdp-copy", "maybe", 'dataplane.xdpCopy: must be one of "auto", "zerocopy", "copy"'],
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
