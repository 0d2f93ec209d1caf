/**
 * `pfs-dp bench matrix`: PacketFS against a TCP copy, rsync, zstd -3 and
 * zstd --patch-from, on the same emulated links in the same run. Two test
 * hosts (namespaces) joined through a third where pfs-linkem shapes the link
 * (demo-link.ts); for every (link, loss) pass, dataset and tool, `reps` timed
 * runs measured alike (matrix-measure.ts); results and report written by
 * matrix-report.ts. PacketFS runs on fresh daemons every time, so no run sees
 * the blob of another; for an update it first sends the previous version.
 */

import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnSync } from "node:child_process";

import { PfsError } from "../errors.js";
import { repoRoot } from "../native.js";
import type { Io } from "../util/io.js";
import { buildTopology, hasCommand, spawnLinkem, topologyNames } from "../commands/demo-link.js";
import { type Made, cleanup, waitExit } from "../commands/testbed.js";
import { PeakMemory, SideCgroups, describeMachine } from "./matrix-measure.js";
import {
  METHOD,
  type ManifestEntry,
  type MatrixFlags,
  type MatrixOptions,
  type Pass,
  linkemArgs,
  passes,
  planOptions,
  readManifest,
  runsOn,
} from "./matrix-plan.js";
import { summarize, writeReport } from "./matrix-report.js";
import { type Ctx, failed, runPacketFS, runReference, setCongestionControl } from "./matrix-run.js";
import {
  type Cell,
  type LinkInfo,
  type MatrixResult,
  TOOL_LABELS,
  type ToolId,
} from "./matrix-types.js";

const ALLOWED_CC = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";

/**
 * A namespace may only pick congestion controls the host allows; makes CUBIC
 * and BBR allowed and returns what undoes that (the host's setting is put back).
 */
function allowCongestionControls(): () => void {
  const before = readFileSync(ALLOWED_CC, "utf8").trim();
  const want = new Set([...before.split(/\s+/), "cubic", "bbr"]);
  if (want.size === before.split(/\s+/).length) return () => undefined;
  writeFileSync(ALLOWED_CC, [...want].join(" "));
  return () => {
    try {
      writeFileSync(ALLOWED_CC, before);
    } catch {
      /* nothing more to do: the host keeps the wider list */
    }
  };
}

/** (Re)starts pfs-linkem with the settings of link l and loss; a no-op if they hold already. */
async function setLink(c: Ctx, l: LinkInfo, loss: number): Promise<void> {
  if (c.link && c.link.l.id === l.id && c.link.loss === loss && c.made.linkem?.exitCode === null)
    return;
  const old = c.made.linkem;
  if (old && old.exitCode === null) {
    old.kill("SIGTERM");
    await waitExit(old, 10000);
  }
  const stats = join(c.work, "linkem.json");
  const p = spawnLinkem(c.topo, linkemArgs(l, loss), stats);
  let err = "";
  p.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  c.made.children.push(p);
  c.made.linkem = p;
  await sleep(200);
  if (p.exitCode !== null) throw new Error(`pfs-linkem did not start: ${err.trim()}`);
  c.link = { l, loss };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;

async function runCell(c: Ctx, p: Pass, d: ManifestEntry, tool: ToolId, total: number) {
  const cell: Cell = {
    dataset: d.id,
    link: p.link.id,
    lossPct: p.lossPct,
    tool,
    runs: [],
    verified: false,
  };
  const how = runsOn(tool, d);
  if (how === false) return undefined;
  if (how !== true) return { ...cell, skipped: how };
  for (let rep = 0; rep < c.o.reps; rep++) {
    c.runNo++;
    await setLink(c, p.link, p.lossPct);
    const r = await (
      tool.startsWith("pfs-") ? runPacketFS(c, tool, d) : runReference(c, tool, d)
    ).catch(failed);
    cell.runs.push(r);
    const where = `${p.link.id}${p.lossPct ? ` loss ${p.lossPct}%` : ""}`;
    c.io.out(
      `[${c.runNo}/${total}] ${where} ${d.id} ${TOOL_LABELS[tool]} #${rep + 1}: ` +
        (r.error
          ? `FAILED: ${r.error}`
          : `${r.seconds.toFixed(2)} s, ${mb(r.wireBytes)} on the wire, verified`) +
        "\n",
    );
  }
  return { ...cell, ...summarize(cell.runs, d.bytes) };
}

async function runMatrix(o: MatrixOptions, outDir: string, io: Io, made: Made): Promise<string[]> {
  if (process.getuid?.() !== 0) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      "bench matrix needs root: it makes network namespaces, veth pairs and runs pfs-linkem",
    );
  }
  for (const [cmd, arg] of [
    ["socat", "-V"],
    ["rsync", "--version"],
    ["zstd", "--version"],
    ["ip", "-V"],
    ["ethtool", "--version"],
    ["ss", "-V"],
  ] as const) {
    if (!hasCommand(cmd, arg))
      throw new PfsError(
        "PFS_ERR_USAGE",
        `bench matrix needs ${cmd}: run npm install (it installs the system packages)`,
      );
  }
  const manifest =
    o.manifest ??
    join(repoRoot(), "bench/data/matrix", o.quick ? "MANIFEST-quick.json" : "MANIFEST.json");
  if (!o.manifest) {
    io.out(
      `datasets: bench/matrix-datasets.sh${o.quick ? " --quick" : ""} (cached in bench/data/matrix)\n`,
    );
    const r = spawnSync(
      "bash",
      [join(repoRoot(), "bench/matrix-datasets.sh"), ...(o.quick ? ["--quick"] : [])],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    if (r.status !== 0) throw new Error("bench/matrix-datasets.sh failed (see above)");
  }
  const datasets = readManifest(manifest, o.datasets);
  // from here on everything made is listed in `made`; runMatrixBench undoes it on every way out
  made.base = mkdtempSync("/dev/shm/pfs-matrix-");
  const cg = new SideCgroups(`pfs-matrix-${process.pid}`);
  made.killAll = () => cg.killAll();
  made.undo = () => cg.remove(); // widened below once the host setting changes
  const restoreCc = allowCongestionControls();
  made.undo = () => {
    cg.remove();
    restoreCc();
  };
  const prefix = `pfm${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
  const topo = topologyNames(prefix);
  made.topo = topo;
  buildTopology(topo);
  const c: Ctx = {
    o,
    io,
    made,
    topo,
    cg,
    mem: new PeakMemory(cg),
    work: made.base,
    digests: new Map(),
    runNo: 0,
  };
  setCongestionControl(c, "cubic");
  const plan = passes(o, datasets);
  const total =
    plan.reduce(
      (n, p) =>
        n + p.datasets.reduce((m, d) => m + p.tools.filter((t) => runsOn(t, d) === true).length, 0),
      0,
    ) * o.reps;
  io.out(`${plan.length} link settings, ${datasets.length} datasets, ${total} timed runs\n`);
  const startedAt = new Date().toISOString();
  const cells: Cell[] = [];
  for (const p of plan) {
    for (const d of p.datasets) {
      for (const tool of p.tools) {
        const cell = await runCell(c, p, d, tool, total);
        if (cell) cells.push(cell);
      }
    }
  }
  const result: MatrixResult = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: o.quick,
    reps: o.reps,
    machine: describeMachine(),
    method: [...METHOD],
    datasets: datasets.map(({ path: _p, base: _b, sha256: _s, ...info }) => info),
    links: o.links,
    cells,
  };
  return writeReport(result, outDir);
}

/** `pfs-dp bench matrix`: runs the plan and writes the report; Ctrl-C removes everything made. */
export async function runMatrixBench(
  flags: MatrixFlags & { out?: string },
  io: Io,
): Promise<number> {
  const o = planOptions(flags);
  const outDir = flags.out ?? join(repoRoot(), "bench/results");
  const made: Made = { nodes: [], started: [], children: [] };
  const onSignal = (sig: NodeJS.Signals): void => {
    io.err(`\n${sig}: stopping the matrix and removing what it made…\n`);
    cleanup(made);
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const written = await runMatrix(o, outDir, io, made);
    io.out(`written: ${written.join(", ")}\n`);
    return 0;
  } finally {
    cleanup(made);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
