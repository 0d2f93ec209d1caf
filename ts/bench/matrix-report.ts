/**
 * The report side of `pfs-dp bench matrix`: turns a MatrixResult (matrix-types.ts)
 * into bench/results/matrix.md, the SVG charts (matrix-svg.ts) and matrix.json.
 *
 * Everything the Markdown says is computed from the result, including the
 * "What the table says" verdicts, so a new run cannot leave stale prose behind.
 * `summarize` is the one place that reduces a cell's runs to its medians; the
 * runner uses it to fill the Stat fields of each Cell, and the report trusts them.
 *
 * Units: 1 MB = 1e6 bytes, 1 GB = 1e9 bytes; times in seconds.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type Bar, type BarGroup, barChart, lineChart, num } from "./matrix-svg.js";
import {
  type Cell,
  type DatasetInfo,
  type LinkInfo,
  type MatrixResult,
  type RunResult,
  type Side,
  type Stat,
  TOOLS,
  TOOL_LABELS,
  type ToolId,
} from "./matrix-types.js";

/** The chart the README shows: time per dataset on the 1 Gbit/s, 20 ms link. */
export const HEADLINE_CHART = "matrix-time-1g-20ms.svg";
/** The link whose wire bytes are charted (the first link when it is absent). */
export const WIRE_LINK = "1g-20ms";

/** The fields of a Cell that summarize() computes from its runs. */
export type CellSummary = Pick<
  Cell,
  "seconds" | "wireBytes" | "cpuSecondsPerGB" | "peakRssBytes" | "verified"
>;

/** Median of a non-empty list; the mean of the two middle values for even counts. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function stat(xs: readonly number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * Reduce one cell's runs: Stats and medians over the runs without `error`
 * (fields absent when there are none); CPU seconds per GB (1e9 bytes) of the
 * dataset; `verified` only when there was a run and every run verified without error.
 */
export function summarize(runs: readonly RunResult[], datasetBytes: number): CellSummary {
  const ok = runs.filter((run) => run.error === undefined);
  const verified = runs.length > 0 && runs.every((run) => run.error === undefined && run.verified);
  if (ok.length === 0) return { verified };
  const out: CellSummary = {
    seconds: stat(ok.map((run) => run.seconds)),
    wireBytes: stat(ok.map((run) => run.wireBytes)),
    peakRssBytes: {
      sender: median(ok.map((run) => run.peakRssBytes.sender)),
      receiver: median(ok.map((run) => run.peakRssBytes.receiver)),
    },
    verified,
  };
  if (datasetBytes > 0) {
    const gb = datasetBytes / 1e9;
    out.cpuSecondsPerGB = {
      sender: median(ok.map((run) => run.cpuSeconds.sender)) / gb,
      receiver: median(ok.map((run) => run.cpuSeconds.receiver)) / gb,
    };
  }
  return out;
}

/** Short tool names for prose. */
const SHORT: Readonly<Record<ToolId, string>> = {
  tcp: "TCP",
  "tcp-bbr": "TCP (BBR)",
  rsync: "rsync",
  zstd3: "zstd -3",
  "zstd-patch": "zstd --patch-from",
  "pfs-udp": "PacketFS (udp)",
  "pfs-xdp": "PacketFS (xdp)",
};
const PFS: readonly ToolId[] = ["pfs-udp", "pfs-xdp"];
/** PacketFS ties with a competitor when its time is within this fraction of theirs. */
export const TIE_BAND = 0.05;

/** Text for a Markdown table cell or line: no line breaks, pipes and angle brackets escaped. */
function md(s: string): string {
  return s
    .replace(/\s*[\r\n]+\s*/g, " ")
    .replace(/\|/g, "\\|")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

function row(cols: readonly string[]): string {
  return `| ${cols.join(" | ")} |`;
}

/** A Markdown table; `align` has "l" or "r" per column. */
function table(head: readonly string[], align: readonly string[], rows: string[][]): string[] {
  return [row(head), row(align.map((a) => (a === "r" ? "---:" : "---"))), ...rows.map(row)];
}

const LINK_COLUMNS = [
  ..."dataset|tool|time s (min–max)|× TCP|wire MB|wire / data".split("|"),
  ..."CPU s/GB send / recv|peak RSS MB send / recv|verified".split("|"),
];

const mb = (bytes: number) => num(bytes / 1e6);

/** A multiple, e.g. "1.00×", "0.05×", "0.036×", "12.3×". */
export function times(q: number): string {
  return `${q >= 10 ? q.toFixed(1) : q >= 0.1 ? q.toFixed(2) : Number(q.toPrecision(2))}×`;
}

/** "median (min–max)", or the median alone when min and max print the same. */
function spread(s: Stat): string {
  const [lo, hi] = [num(s.min), num(s.max)];
  return lo !== hi ? `${num(s.median)} (${lo}–${hi})` : num(s.median);
}

function rateText(link: LinkInfo): string {
  if (link.rateMbit <= 0) return "not shaped";
  return link.rateMbit >= 1000 && link.rateMbit % 1000 === 0
    ? `${link.rateMbit / 1000} Gbit/s`
    : `${link.rateMbit} Mbit/s`;
}

function goodputMBps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

/** The cells of one link and dataset (at one loss rate unless `lossPct` is undefined). */
function cellsOf(r: MatrixResult, link: string, dataset: string, lossPct?: number): Cell[] {
  return r.cells.filter(
    (c) =>
      c.link === link && c.dataset === dataset && (lossPct === undefined || c.lossPct === lossPct),
  );
}

/** What a cell has to show: a time, or why it has none. */
type CellState =
  | { kind: "ok"; seconds: Stat }
  | { kind: "skipped"; why: string }
  | { kind: "failed"; why: string };

function cellState(c: Cell): CellState {
  if (c.skipped !== undefined) return { kind: "skipped", why: c.skipped };
  if (c.seconds !== undefined) return { kind: "ok", seconds: c.seconds };
  const err = c.runs.find((run) => run.error !== undefined)?.error;
  return { kind: "failed", why: err ?? (c.runs.length === 0 ? "no runs" : "no successful run") };
}

function okSeconds(c: Cell | undefined): number | undefined {
  const st = c && cellState(c);
  return st?.kind === "ok" ? st.seconds.median : undefined;
}

/** The tools (in TOOLS order) that have at least one of `cells`. */
function toolsIn(cells: readonly Cell[]): ToolId[] {
  return TOOLS.filter((t) => cells.some((c) => c.tool === t));
}

interface LossPair {
  link: LinkInfo;
  dataset: DatasetInfo;
  /** the tools measured under loss here */
  tools: ToolId[];
  /** every loss value at which one of `tools` has a cell, ascending (0 included) */
  losses: number[];
}

/** The (link, dataset) pairs measured under loss, in `links` then `datasets` order. */
function lossPairs(r: MatrixResult): LossPair[] {
  return r.links.flatMap((link) =>
    r.datasets.flatMap((dataset) => {
      const cells = cellsOf(r, link.id, dataset.id);
      const tools = toolsIn(cells.filter((c) => c.lossPct > 0));
      if (tools.length === 0) return [];
      const measured = cells.filter((c) => tools.includes(c.tool)).map((c) => c.lossPct);
      const losses = [...new Set(measured)].sort((a, b) => a - b);
      return [{ link, dataset, tools, losses }];
    }),
  );
}

/** Goodput in MB/s of `tool` at `loss`, when it has a time there. */
function goodputAt(cells: readonly Cell[], d: DatasetInfo, tool: ToolId, loss: number) {
  const s = okSeconds(cells.find((c) => c.tool === tool && c.lossPct === loss));
  return s !== undefined && s > 0 ? goodputMBps(d.bytes, s) : undefined;
}

function linkRows(r: MatrixResult, link: LinkInfo): string[][] {
  const rows: string[][] = [];
  for (const d of r.datasets) {
    const cells = cellsOf(r, link.id, d.id, 0);
    const tcp = okSeconds(cells.find((c) => c.tool === "tcp"));
    for (const tool of toolsIn(cells)) {
      const c = cells.find((x) => x.tool === tool) as Cell;
      const st = cellState(c);
      const name = [md(d.label), TOOL_LABELS[tool]];
      if (st.kind !== "ok") {
        const why = st.kind === "skipped" ? `not run: ${st.why}` : `failed: ${st.why}`;
        rows.push([...name, md(why), "—", "—", "—", "—", "—", st.kind === "failed" ? "NO" : "—"]);
        continue;
      }
      const s = st.seconds;
      const failed = c.runs.find((run) => run.error !== undefined)?.error;
      const side = (x: Side<number> | undefined, f: (v: number) => string) =>
        x ? `${f(x.sender)} / ${f(x.receiver)}` : "—";
      rows.push([
        ...name,
        spread(s),
        tcp !== undefined ? times(s.median / tcp) : "—",
        c.wireBytes ? mb(c.wireBytes.median) : "—",
        c.wireBytes && d.bytes > 0 ? `${num((c.wireBytes.median / d.bytes) * 100)} %` : "—",
        side(c.cpuSecondsPerGB, num),
        side(c.peakRssBytes, mb),
        c.verified ? "yes" : failed !== undefined ? md(`failed: ${failed}`) : "NO",
      ]);
    }
  }
  return rows;
}

function lossSection(r: MatrixResult): string[] {
  const pairs = lossPairs(r);
  if (pairs.length === 0) return [];
  const out = [
    "## Under packet loss",
    "",
    "Goodput in MB/s (dataset bytes / median time), and in parentheses the share of the " +
      "tool's own loss-free goodput on the same link.",
  ];
  for (const { link, dataset, tools, losses } of pairs) {
    const cells = cellsOf(r, link.id, dataset.id);
    const gp = (tool: ToolId, loss: number) => goodputAt(cells, dataset, tool, loss);
    const rows = tools.map((tool) => {
      const base = gp(tool, 0);
      return [
        TOOL_LABELS[tool],
        ...losses.map((loss) => {
          const c = cells.find((x) => x.tool === tool && x.lossPct === loss);
          const v = gp(tool, loss);
          if (!c) return "—";
          if (v === undefined) return cellState(c).kind === "skipped" ? "not run" : "failed";
          return base !== undefined ? `${num(v)} (${Math.round((v / base) * 100)} %)` : num(v);
        }),
      ];
    });
    out.push("", `### ${md(dataset.label)} on ${md(link.label)}`, "");
    out.push(
      ...table(
        ["tool", ...losses.map((l) => `${l} % loss`)],
        ["l", ...losses.map(() => "r")],
        rows,
      ),
    );
  }
  return [...out, ""];
}

/** One "What the table says" line, or undefined when the dataset was not run on the link. */
export function verdictLine(r: MatrixResult, link: LinkInfo, d: DatasetInfo): string | undefined {
  const cells = cellsOf(r, link.id, d.id, 0);
  if (cells.length === 0) return undefined;
  const tcp = okSeconds(cells.find((c) => c.tool === "tcp"));
  let fastest: { tool: ToolId; s: number } | undefined;
  for (const tool of TOOLS.filter((t) => !PFS.includes(t))) {
    const s = okSeconds(cells.find((c) => c.tool === tool));
    if (s !== undefined && (fastest === undefined || s < fastest.s)) fastest = { tool, s };
  }
  const other = fastest
    ? `fastest other: ${SHORT[fastest.tool]} ${num(fastest.s)} s`
    : "fastest other: no result";
  const parts = PFS.filter((t) => t === "pfs-udp" || cells.some((c) => c.tool === t)).map((t) => {
    const c = cells.find((x) => x.tool === t);
    const st = c && cellState(c);
    if (st?.kind !== "ok") {
      const why =
        st === undefined ? "" : ` (${st.kind === "skipped" ? "not run" : "failed"}: ${st.why})`;
      return { what: `${SHORT[t]}: no result${why}`, verdict: "no comparison" };
    }
    const s = st.seconds.median;
    const vsTcp = tcp !== undefined ? `${times(s / tcp)} TCP's time` : "no TCP result";
    let verdict = "no comparison";
    if (fastest) {
      const q = s / fastest.s;
      const who = t === "pfs-udp" ? "PacketFS" : SHORT[t];
      if (Math.abs(q - 1) <= TIE_BAND + 1e-9) verdict = `${who} ties (within ${TIE_BAND * 100} %)`;
      else if (q < 1) verdict = `${who} wins`;
      else verdict = `${who} loses: ${times(q)} ${SHORT[fastest.tool]}'s time`;
    }
    return { what: `${SHORT[t]} ${num(s)} s, ${vsTcp}`, verdict };
  });
  const [first, ...rest] = parts;
  if (!first) return undefined;
  const tail = rest.map((p) => `; ${p.what} → ${p.verdict}`).join("");
  return md(`${d.label} on ${link.label}: ${first.what}; ${other} → ${first.verdict}${tail}`);
}

/** `matrix-<parts joined by "-">.svg`, with characters unsafe in file names replaced. */
function chartName(...parts: string[]): string {
  return `matrix-${parts.join("-").replace(/[^A-Za-z0-9._-]/g, "_")}.svg`;
}

/** One bar group per dataset measured loss-free on `link`, one bar per tool. */
function barGroups(r: MatrixResult, link: string, value: (c: Cell) => Stat | undefined) {
  return r.datasets.flatMap((d): BarGroup[] => {
    const cells = cellsOf(r, link, d.id, 0);
    const bars = toolsIn(cells).map((tool): Bar => {
      const c = cells.find((x) => x.tool === tool) as Cell;
      const st = cellState(c);
      const stat = st.kind === "ok" ? value(c) : undefined;
      return { tool, stat, na: { ok: "no value", skipped: "not run", failed: "failed" }[st.kind] };
    });
    return bars.length ? [{ label: d.label, bars, marker: d.bytes / 1e6 }] : [];
  });
}

function runsNote(r: MatrixResult): string {
  const runs = `${r.reps} run${r.reps === 1 ? "" : "s"} per tool`;
  return `${runs}, ${r.quick ? "quick" : "full"} matrix, ${r.startedAt.slice(0, 10)}`;
}

/** Every chart of `r`, file name → SVG text; the headline chart first when it exists. */
export function renderCharts(r: MatrixResult): Record<string, string> {
  const out: Record<string, string> = {};
  const isHead = (l: LinkInfo) => Number(chartName("time", l.id) === HEADLINE_CHART);
  for (const link of [...r.links].sort((a, b) => isHead(b) - isHead(a))) {
    out[chartName("time", link.id)] = barChart({
      title: `Time to send each dataset — ${link.label}`,
      subtitle: [`Bars: median time; whiskers: fastest–slowest run. ${runsNote(r)}.`],
      axisTitle: "time (s, log scale) — shorter is better",
      unit: "s",
      groups: barGroups(r, link.id, (c) => c.seconds).map(({ label, bars }) => ({ label, bars })),
    });
  }
  const wireLink = r.links.find((l) => l.id === WIRE_LINK) ?? r.links[0];
  if (wireLink) {
    const inMB = (s: Stat | undefined) =>
      s && { median: s.median / 1e6, min: s.min / 1e6, max: s.max / 1e6 };
    out["matrix-wire.svg"] = barChart({
      title: `Bytes on the wire for each dataset — ${wireLink.label}`,
      subtitle: [`Bars: median bytes both ends sent; whiskers: min–max. ${runsNote(r)}.`],
      axisTitle: "wire bytes (MB = 10^6 bytes, log scale) — shorter is better",
      unit: "MB",
      groups: barGroups(r, wireLink.id, (c) => inMB(c.wireBytes)),
      markerLabel: "dataset size",
    });
  }
  const pairs = lossPairs(r);
  pairs.forEach(({ link, dataset, tools, losses }, i) => {
    const cells = cellsOf(r, link.id, dataset.id);
    const svg = lineChart({
      title: `Goodput under packet loss — ${dataset.label}, ${link.label}`,
      subtitle: [
        `Goodput = ${num(dataset.bytes / 1e6)} MB (10^6 bytes) / median time. ${runsNote(r)}.`,
      ],
      xLabels: losses.map((l) => `${l} %`),
      xTitle: "packet loss on the link (%)",
      yTitle: "goodput (MB/s)",
      series: tools.map((tool) => ({
        tool,
        values: losses.map((l) => goodputAt(cells, dataset, tool, l)),
      })),
    });
    if (i === 0) out["matrix-loss.svg"] = svg;
    if (pairs.length > 1) out[chartName("loss", dataset.id, link.id)] = svg;
  });
  return out;
}

/** bench/results/matrix.md for `r`. */
export function renderMarkdown(r: MatrixResult): string {
  const out: string[] = [
    "# PacketFS benchmark matrix",
    "",
    `Generated by \`pfs-dp bench matrix\`; run from ${md(r.startedAt)} to ${md(r.finishedAt)}, ` +
      `${r.quick ? "quick" : "full"} matrix, ${r.reps} run${r.reps === 1 ? "" : "s"} per cell ` +
      "(figures are medians). Raw figures in `matrix.json`.",
    "",
    "## The machine",
    "",
    ...Object.entries(r.machine).map(([k, v]) => `- ${md(k)}: ${md(v)}`),
    "",
    "## Method",
    "",
    ...r.method.map((m) => `- ${md(m)}`),
    "",
    "## Datasets",
    "",
    ...table(
      ["dataset", "kind", "MB", "files", "base MB (updates)", "origin"],
      [..."llrrrl"],
      r.datasets.map((d) => [
        md(d.label),
        d.kind,
        (d.bytes / 1e6).toFixed(1),
        String(d.files),
        d.baseBytes !== undefined ? (d.baseBytes / 1e6).toFixed(1) : "—",
        md(d.origin),
      ]),
    ),
    "",
  ];
  for (const link of r.links) {
    out.push(
      `## ${md(link.label)}`,
      "",
      `Emulated link: ${rateText(link)}, RTT ${link.rttMs} ms, no loss. Time: median of the runs ` +
        "(fastest–slowest) in seconds; × TCP: that median over TCP's on the same dataset; wire: " +
        "bytes both ends put on the wire (MB) and as a share of the dataset; CPU: seconds per GB " +
        "of dataset; RSS: peak of the largest process (MB).",
      "",
      ...table(LINK_COLUMNS, [..."llrrrrrrl"], linkRows(r, link)),
      "",
    );
  }
  out.push(...lossSection(r));
  out.push(
    "## What the table says",
    "",
    `PacketFS against TCP and against the fastest other tool on each link (loss-free); ` +
      `a tie is within ±${TIE_BAND * 100} % of the other tool's time.`,
    "",
  );
  for (const link of r.links) {
    for (const d of r.datasets) {
      const line = verdictLine(r, link, d);
      if (line !== undefined) out.push(`- ${line}`);
    }
  }
  const charts = Object.keys(renderCharts(r));
  out.push("", "## Charts", "");
  if (charts.includes(HEADLINE_CHART)) out.push(`![Time per dataset](${HEADLINE_CHART})`, "");
  out.push(...charts.map((f) => `- [${f}](${f})`), "");
  return out.join("\n");
}

/** Write matrix.json, matrix.md and every chart into `dir`; returns the paths written. */
export function writeReport(r: MatrixResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ["matrix.json", JSON.stringify(r, null, 2) + "\n"],
    ["matrix.md", renderMarkdown(r)],
    ...Object.entries(renderCharts(r)),
  ];
  return files.map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  });
}
