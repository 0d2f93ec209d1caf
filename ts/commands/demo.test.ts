/**
 * `pfs-dp demo`: its pure parts (the table, the verdict, the dataset's two
 * versions and the tar writer), then the demo itself with the built CLI and a
 * small dataset — on loopback (`--local`, what a normal user gets) whenever
 * the CLI is built, and as root through namespaces and pfs-linkem on the udp
 * and xdp backends. Each run must leave nothing behind: no namespace, no
 * process, no temporary directory (an XDP program goes with its namespace).
 */

import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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

import { repoRoot, toolPath } from "../native.js";
import { dataPlaneHasOption } from "../testing/dataplane.js";
import { hasCommand } from "./demo-link.js";
import { parseRtt } from "./demo.js";
import { type Row, formatTable, mb, verdict } from "./demo-report.js";
import { ADDED_FILES, collectFiles, makeDataset, tarHeader } from "./demo-dataset.js";

const run = promisify(execFile);
const cli = join(repoRoot(), "dist/ts/cli.js");

const v1: Row = {
  label: "v1 (new)",
  fileBytes: 104_200_000,
  wireBytes: 105_900_000,
  secs: 1.31,
  tcpSecs: 0.98,
  verified: true,
};
const v2: Row = {
  label: "v2 (update)",
  fileBytes: 104_900_000,
  wireBytes: 1_200_000,
  secs: 0.21,
  tcpSecs: 0.99,
  verified: true,
};

describe("demo table and verdict", () => {
  it("lines the columns up under their headings", () => {
    const lines = formatTable([v1, v2]).trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^send\s+file bytes\s+wire bytes\s+time\s+TCP time$/);
    expect(lines[1]).toMatch(/^v1 \(new\)\s+104\.2 MB\s+105\.9 MB\s+1\.31 s\s+0\.98 s$/);
    expect(lines[2]).toMatch(/^v2 \(update\)\s+104\.9 MB\s+1\.20 MB\s+0\.21 s\s+0\.99 s$/);
    // right-aligned numbers: every line as long as the heading
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it("says v1 costs more than TCP when it does, and what v2 saved", () => {
    const s = verdict(v1, v2);
    expect(s).toMatch(/costs more than TCP here \(1\.3× TCP's time\)/);
    expect(s).toMatch(/87× fewer bytes on the wire/);
    expect(s).toMatch(/in 21 % of TCP's time/);
    expect(verdict({ ...v1, secs: 1.0 }, v2)).toMatch(/about what TCP costs/);
    expect(verdict(v1, v2, true)).toMatch(/loopback.*Run as root/);
  });

  it("formats sizes and round-trip times", () => {
    expect(mb(47_012_345)).toBe("47.0 MB");
    expect(mb(51_000)).toBe("0.05 MB");
    expect(parseRtt("20ms")).toBe(20000);
    expect(parseRtt("0.1s")).toBe(100000);
    expect(parseRtt("500us")).toBe(500);
    expect(parseRtt("40")).toBe(40000);
    expect(() => parseRtt("fast")).toThrow(/--rtt fast/);
  });
});

describe("demo dataset", () => {
  let base: string;
  const roots: string[] = [];

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), "pfs-demo-test-"));
    const src = join(base, "src");
    for (let i = 0; i < 250; i++) {
      const dir = join(src, `pkg${i % 5}`, i % 2 ? "doc" : "lib");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `file-${i}.txt`), `file ${i}\n`.repeat(50 + i));
    }
    mkdirSync(join(src, "deep", "x".repeat(90), "y".repeat(90)), { recursive: true });
    writeFileSync(join(src, "deep", "x".repeat(90), "y".repeat(90), "z.txt"), "long path\n");
    roots.push(src);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("collects files in sorted order until the size is reached", () => {
    const all = collectFiles(roots, Infinity);
    expect(all).toHaveLength(251);
    expect(all.map((f) => f.path)).toEqual([...all.map((f) => f.path)].sort());
    const some = collectFiles(roots, 10_000);
    const total = some.reduce((n, f) => n + f.size, 0);
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(total - (some.at(-1)?.size ?? 0)).toBeLessThan(10_000);
  });

  it("writes tars that tar reads, v2 = v1 with ~1 % of the files appended to and a few added", async () => {
    const out = join(base, "out");
    mkdirSync(out);
    const ds = makeDataset(out, Infinity, roots);
    expect(ds).toMatchObject({ files: 251, changed: 3, added: ADDED_FILES, roots });
    const list = async (f: string) => (await run("tar", ["-tf", f])).stdout.trim().split("\n");
    const names1 = await list(ds.v1);
    const names2 = await list(ds.v2);
    expect(names1).toHaveLength(251);
    expect(names2).toHaveLength(251 + ADDED_FILES);
    expect(names2.slice(0, 251)).toEqual(names1);
    expect(names1).toContain(`dataset${roots[0]}/deep/${"x".repeat(90)}/${"y".repeat(90)}/z.txt`);

    const x = join(base, "x");
    mkdirSync(x);
    await run("tar", ["-xf", ds.v2, "-C", x]);
    const changed = collectFiles(roots, Infinity).filter((f) => {
      const now = readFileSync(join(x, "dataset", f.path));
      return !now.equals(readFileSync(f.path));
    });
    expect(changed.map((f) => f.path)).toHaveLength(3);
    expect(readdirSync(join(x, "dataset/NEW-IN-V2"))).toHaveLength(ADDED_FILES);

    // the same files give the same bytes
    const again = join(base, "again");
    mkdirSync(again);
    const ds2 = makeDataset(again, Infinity, roots);
    const digest = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
    expect(digest(ds2.v1)).toBe(digest(ds.v1));
    expect(digest(ds2.v2)).toBe(digest(ds.v2));
  });

  it("refuses a name ustar cannot hold", () => {
    expect(() => tarHeader("a/".repeat(200) + "b", 1)).toThrow(/too long/);
    expect(tarHeader("dataset/x", 5).subarray(257, 262).toString()).toBe("ustar");
  });
});

/** What a demo run could leave behind, to compare before and after. */
function leftovers(): { ns: string[]; dirs: string[]; procs: string[] } {
  const ns = (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "")
    .split("\n")
    .map((l) => l.split(" ")[0] as string)
    .filter((n) => n.startsWith("pfd"));
  const dirs = readdirSync(tmpdir()).filter((d) => /^pfs-demo-(?!test-)/.test(d));
  const procs: string[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.includes(join(tmpdir(), "pfs-demo-")) && !cmd.includes("pfs-demo-test-"))
        procs.push(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return { ns, dirs, procs };
}

function rows(stdout: string): { file: number; wire: number }[] {
  return ["v1 \\(new\\)", "v2 \\(update\\)"].map((label) => {
    const m = new RegExp(
      `^${label}\\s+([\\d.]+) MB\\s+([\\d.]+) MB\\s+[\\d.]+ s\\s+[\\d.]+ s$`,
      "m",
    ).exec(stdout);
    expect(m, `row ${label} in:\n${stdout}`).not.toBeNull();
    return { file: Number(m?.[1]), wire: Number(m?.[2]) };
  });
}

async function demo(...args: string[]): Promise<string> {
  const before = leftovers();
  const { stdout } = await run(process.execPath, [cli, "demo", ...args], {
    timeout: 150000,
    maxBuffer: 1 << 20,
  });
  expect(leftovers()).toEqual(before);
  const [r1, r2] = rows(stdout);
  expect(r1?.file).toBeGreaterThan(4);
  expect(r2?.wire).toBeLessThan((r1?.wire ?? 0) / 10);
  expect(stdout.match(/both copies verified \(sha256\)/g)).toHaveLength(2);
  return stdout;
}

describe.skipIf(!existsSync(cli) || !hasCommand("socat", "-V"))(
  "pfs-dp demo on loopback (the normal user's demo)",
  { timeout: 150000 },
  () => {
    it("sends v1 and v2, prints the table and cleans up", async () => {
      const out = await demo("--local", "--size", "8M");
      expect(out).toMatch(/two daemons on this host/);
      expect(out).toMatch(/On loopback nothing slows TCP down/);
    });
  },
);

const whyNotRoot =
  process.getuid?.() !== 0
    ? "needs root"
    : !hasCommand("ip", "-V") || !hasCommand("ethtool", "--version") || !hasCommand("socat", "-V")
      ? "needs ip, ethtool and socat"
      : !existsSync(cli) || !existsSync(toolPath("pfs-linkem"))
        ? "needs dist/ts/cli.js and build/pfs-linkem"
        : !dataPlaneHasOption("--backend")
          ? "build/pfs-dataplane has no --backend"
          : undefined;

describe.skipIf(whyNotRoot !== undefined)(
  `pfs-dp demo as root: namespaces and pfs-linkem${whyNotRoot ? ` (skipped: ${whyNotRoot})` : ""}`,
  { timeout: 300000 },
  () => {
    it.each(["udp", "xdp"])("--backend %s over a 1 Gbit/s, 20 ms link", async (backend) => {
      const out = await demo("--size", "16M", "--backend", backend);
      expect(out).toMatch(/emulating a 1gbit\/s link, 20 ms RTT/);
      expect(out).toMatch(new RegExp(`daemons up \\(${backend} backend\\)`));
      expect(out).toMatch(/v2 is where the pointers pay off/);
    });
  },
);
