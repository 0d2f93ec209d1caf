/**
 * `pfs-dp bench matrix`: the plan (flags, links, which tool runs where), the
 * reference tools' command lines, and — as root — a small matrix run end to
 * end through namespaces and pfs-linkem: every tool's copy verified, the
 * figures consistent with what each tool does, and nothing left behind,
 * also when the run is interrupted.
 */

import { execFile, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { hasCommand } from "../commands/demo-link.js";
import { repoRoot, toolPath } from "../native.js";
import { dataPlaneHasOption } from "../testing/dataplane.js";
import { digestOf } from "./matrix-measure.js";
import {
  LINKS,
  type ManifestEntry,
  linkemArgs,
  passes,
  planOptions,
  readManifest,
  runsOn,
} from "./matrix-plan.js";
import { shq, toolRun } from "./matrix-tools.js";
import type { MatrixResult } from "./matrix-types.js";

const run = promisify(execFile);
const cli = join(repoRoot(), "dist/ts/cli.js");

const entry = (over: Partial<ManifestEntry>): ManifestEntry => ({
  id: "random",
  kind: "novel",
  label: "random",
  origin: "test",
  path: "/data/r.bin",
  bytes: 1000,
  files: 1,
  sha256: "0".repeat(64),
  ...over,
});
const update = entry({
  id: "pkg",
  kind: "update",
  path: "/data/v2.tar",
  base: "/data/v1.tar",
  baseBytes: 900,
});

describe("matrix plan", () => {
  it("runs every link three times by default and a two-link single-run subset with --quick", () => {
    const full = planOptions({});
    expect(full.reps).toBe(3);
    expect(full.links.map((l) => l.id)).toEqual(LINKS.map((l) => l.id));
    expect(full.loss).toEqual([0.1, 1, 5]);
    const quick = planOptions({ quick: true });
    expect(quick.reps).toBe(1);
    expect(quick.links.map((l) => l.id)).toEqual(["1g-20ms", "unshaped"]);
    expect(quick.loss).toEqual([1]);
  });

  it("refuses an unknown link, tool or repetition count before anything runs", () => {
    expect(() => planOptions({ links: "1g-20ms,2g" })).toThrow(/--links 2g: unknown; choose from/);
    expect(() => planOptions({ tools: "tcp,scp" })).toThrow(PfsError);
    expect(() => planOptions({ reps: "0" })).toThrow(/--reps 0/);
    expect(() => planOptions({ loss: "1,abc" })).toThrow(/--loss abc/);
  });

  it("sweeps loss only on 1 Gbit/s, 20 ms, on random data, with TCP and PacketFS", () => {
    const o = planOptions({ links: "100m-40ms,1g-20ms", loss: "1%,5,0" });
    const ps = passes(o, [entry({}), update]);
    expect(ps.map((p) => `${p.link.id}/${p.lossPct}`)).toEqual([
      "100m-40ms/0",
      "1g-20ms/0",
      "1g-20ms/1",
      "1g-20ms/5",
    ]);
    const lossy = ps[2];
    expect(lossy?.datasets.map((d) => d.id)).toEqual(["random"]);
    expect(lossy?.tools).toEqual(["tcp", "tcp-bbr", "pfs-udp", "pfs-xdp"]);
  });

  it("gives zstd --patch-from only updates and BBR only the loss dataset", () => {
    expect(runsOn("zstd-patch", entry({}))).toMatch(/previous version/);
    expect(runsOn("zstd-patch", update)).toBe(true);
    expect(runsOn("tcp-bbr", entry({}))).toBe(true);
    expect(runsOn("tcp-bbr", update)).toBe(false);
    expect(runsOn("pfs-udp", update)).toBe(true);
  });

  it("turns a link into pfs-linkem settings: half the RTT each way, rate, loss", () => {
    const l = LINKS.find((x) => x.id === "100m-40ms");
    expect(l && linkemArgs(l, 1)).toEqual([
      "--delay",
      "20000us",
      "--rate",
      "100mbit",
      "--loss",
      "1%",
    ]);
    const u = LINKS.find((x) => x.id === "unshaped");
    expect(u && linkemArgs(u, 0)).toEqual(["--delay", "0us"]);
  });
});

describe("dataset manifest", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pfs-matrix-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads entries in the order asked for", () => {
    const p = join(dir, "m.json");
    writeFileSync(p, JSON.stringify([entry({}), update]));
    expect(readManifest(p, ["pkg", "random"]).map((d) => d.id)).toEqual(["pkg", "random"]);
    expect(() => readManifest(p, ["nope"])).toThrow(/--datasets nope: unknown/);
  });

  it("rejects a missing file, bad JSON and an update without its base, saying what to run", () => {
    expect(() => readManifest(join(dir, "none.json"), [])).toThrow(/matrix-datasets\.sh/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify([{ ...update, base: undefined }]));
    expect(() => readManifest(bad, [])).toThrow(/entry 0 is incomplete/);
  });
});

describe("reference tools' command lines", () => {
  const ctx = { addr: "198.18.230.2", recvDir: "/rx", workDir: "/w" };

  it("quotes paths for the shell", () => {
    expect(shq("a b'c")).toBe(`'a b'\\''c'`);
  });

  it("puts the previous version under the destination name for rsync, so it sends a delta", () => {
    const t = toolRun("rsync", update, ctx);
    expect(t.seed).toEqual([["/data/v1.tar", "/rx/file"]]);
    expect(t.receiverIsServer).toBe(true);
    expect(t.sender).toBe("rsync -a '/data/v2.tar' rsync://198.18.230.2:8730/m/file");
    expect(t.config?.[1]).toMatch(/path = \/rx\n/);
  });

  it("gives zstd --patch-from the previous version at both ends", () => {
    const t = toolRun("zstd-patch", update, ctx);
    expect(t.sender).toMatch(
      /^zstd -3 -q --patch-from='\/data\/v1\.tar' -c '\/data\/v2\.tar' \| socat/,
    );
    expect(t.receiver).toMatch(/zstd -d -q --patch-from='\/data\/v1\.tar' .* -o '\/rx\/file'$/);
  });

  it("sends a tree as a tar stream that the receiver unpacks", () => {
    const t = toolRun("zstd3", entry({ kind: "tree", path: "/data/t" }), ctx);
    expect(t.sender).toMatch(/^tar -C '\/data\/t' -cf - \. \| zstd -3/);
    expect(t.receiver).toMatch(
      /zstd -d -q -c \| \(mkdir -p '\/rx\/tree' && tar -C '\/rx\/tree' -xf -\)$/,
    );
    expect(toolRun("tcp-bbr", entry({}), ctx).cc).toBe("bbr");
    expect(toolRun("tcp", entry({}), ctx).cc).toBe("cubic");
  });
});

describe("tree digest", () => {
  it("changes when a file's bytes or name change, not when the tree is copied", async () => {
    const d = mkdtempSync(join(tmpdir(), "pfs-matrix-test-"));
    try {
      for (const t of ["a", "b"]) {
        mkdirSync(join(d, t, "sub"), { recursive: true });
        writeFileSync(join(d, t, "x"), "one");
        writeFileSync(join(d, t, "sub", "y"), "two");
      }
      expect(await digestOf(join(d, "a"))).toBe(await digestOf(join(d, "b")));
      writeFileSync(join(d, "b", "sub", "y"), "twO");
      expect(await digestOf(join(d, "a"))).not.toBe(await digestOf(join(d, "b")));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

const whyNot =
  process.getuid?.() !== 0
    ? "needs root"
    : !["socat", "rsync", "zstd", "ethtool"].every((c) =>
          hasCommand(c, c === "socat" ? "-V" : "--version"),
        )
      ? "needs socat, rsync, zstd and ethtool"
      : !existsSync(cli) || !existsSync(toolPath("pfs-linkem")) || !dataPlaneHasOption("--backend")
        ? "needs dist/ts/cli.js, build/pfs-linkem and a data plane with --backend"
        : undefined;

/** What a matrix run could leave behind. */
function leftovers() {
  const ns = (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "")
    .split("\n")
    .filter((l) => l.startsWith("pfm"));
  const shm = readdirSync("/dev/shm").filter((f) => f.startsWith("pfs-matrix-"));
  const cgroups = ["/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup"].flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => f.startsWith("pfs-matrix-")) : [],
  );
  const allowed = readFileSync("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "utf8");
  return { ns, shm, cgroups, allowed };
}

describe.skipIf(whyNot !== undefined)(
  `bench matrix as root, end to end${whyNot ? ` (skipped: ${whyNot})` : ""}`,
  { timeout: 300000 },
  () => {
    let dir: string;
    let manifest: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "pfs-matrix-test-"));
      const h = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
      const random = join(dir, "random.bin");
      writeFileSync(random, randomBytes(1 << 20));
      // an update: ~2 MB of this machine's text, then the same with a line changed and one added
      const v1 = join(dir, "v1.txt");
      const text = readFileSync("/usr/share/common-licenses/GPL-3", "utf8").repeat(60);
      writeFileSync(v1, text);
      const v2 = join(dir, "v2.txt");
      writeFileSync(
        v2,
        text.replace("GNU GENERAL PUBLIC LICENSE", "GNU GENERAL PUBLIC LICENCE") + "added\n",
      );
      const tree = join(dir, "tree");
      mkdirSync(join(tree, "sub"), { recursive: true });
      for (let i = 0; i < 40; i++)
        writeFileSync(join(tree, i % 2 ? "sub" : "", `f${i}`), text.slice(i * 997, i * 997 + 3000));
      manifest = join(dir, "MANIFEST.json");
      const size = (p: string): number => readFileSync(p).length;
      writeFileSync(
        manifest,
        JSON.stringify([
          entry({ id: "random", path: random, bytes: size(random), sha256: h(random) }),
          entry({
            id: "text",
            kind: "update",
            path: v2,
            base: v1,
            bytes: size(v2),
            baseBytes: size(v1),
            sha256: h(v2),
          }),
          entry({ id: "smallfiles", kind: "tree", path: tree, bytes: 120000, files: 40 }),
        ]),
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("runs every tool over the emulated link, verifies each copy and leaves nothing behind", async () => {
      const before = leftovers();
      const out = join(dir, "out");
      await run(
        process.execPath,
        [
          cli,
          "bench",
          "matrix",
          "--manifest",
          manifest,
          "--links",
          "1g-20ms",
          "--loss",
          "5",
          "--tools",
          "tcp,rsync,zstd-patch,pfs-udp",
          "--reps",
          "1",
          "--out",
          out,
        ],
        { timeout: 280000, maxBuffer: 4 << 20 },
      );
      expect(leftovers()).toEqual(before);
      const r = JSON.parse(readFileSync(join(out, "matrix.json"), "utf8")) as MatrixResult;
      const cell = (ds: string, tool: string, loss = 0) =>
        r.cells.find((c) => c.dataset === ds && c.tool === tool && c.lossPct === loss);
      for (const c of r.cells.filter((x) => !x.skipped)) {
        expect(c.verified, `${c.dataset} ${c.tool} ${c.lossPct}%: ${c.runs[0]?.error}`).toBe(true);
        expect(c.runs[0]?.cpuSeconds.sender).toBeGreaterThan(0);
        expect(c.runs[0]?.peakRssBytes.receiver).toBeGreaterThan(0);
      }
      expect(cell("random", "zstd-patch")?.skipped).toMatch(/previous version/);
      // every byte of novel data crosses the link, for TCP and PacketFS alike
      for (const t of ["tcp", "pfs-udp"])
        expect(cell("random", t)?.wireBytes?.median).toBeGreaterThan(1 << 20);
      // an update: the delta tools send a fraction, TCP the whole file
      const size = r.datasets.find((d) => d.id === "text")?.bytes ?? 0;
      expect(cell("text", "tcp")?.wireBytes?.median).toBeGreaterThan(size);
      for (const t of ["rsync", "zstd-patch", "pfs-udp"])
        expect(cell("text", t)?.wireBytes?.median).toBeLessThan(size / 5);
      expect(cell("random", "pfs-udp", 5)?.verified).toBe(true);
      expect(cell("random", "tcp", 5)?.verified).toBe(true);
      expect(readFileSync(join(out, "matrix.md"), "utf8")).toMatch(/1 Gbit\/s, 20 ms RTT/);
      expect(existsSync(join(out, "matrix-time-1g-20ms.svg"))).toBe(true);
    });

    it("removes everything it made when interrupted with Ctrl-C", async () => {
      const before = leftovers();
      const p = spawn(
        process.execPath,
        [
          cli,
          "bench",
          "matrix",
          "--manifest",
          manifest,
          "--links",
          "100m-40ms",
          "--tools",
          "tcp,pfs-udp",
          "--reps",
          "3",
          "--out",
          join(dir, "int"),
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let said = "";
      p.stdout.on("data", (b: Buffer) => (said += b.toString()));
      const deadline = Date.now() + 60000;
      while (!said.includes("[2/") && Date.now() < deadline && p.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      expect(said).toContain("[2/");
      p.kill("SIGINT");
      const code = await new Promise<number | null>((r) => p.once("exit", r));
      expect(code).toBe(130);
      expect(leftovers()).toEqual(before);
      expect(existsSync(join(dir, "int", "matrix.json"))).toBe(false);
    });
  },
);
