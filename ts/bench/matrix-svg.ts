/**
 * Hand-written SVG charts for the benchmark matrix report (bench/results/matrix-*.svg):
 * horizontal grouped bars on a log scale and a line chart, with no dependencies.
 *
 * This module only draws; matrix-report.ts decides what goes into each chart. The
 * output is self-contained: white background, fixed pixel layout, text widths
 * estimated from character counts so labels do not overlap, every string escaped
 * for XML. Each tool has one colour in every chart (Okabe–Ito palette). Bars carry
 * `class="bar"` and `data-tool`/`data-value` attributes so tests can check their lengths.
 */

import { type Stat, TOOLS, TOOL_LABELS, type ToolId } from "./matrix-types.js";

/** Okabe–Ito colours; TCP, the reference, in grey (CUBIC) and black (BBR). */
export const TOOL_COLORS: Readonly<Record<ToolId, string>> = Object.freeze({
  tcp: "#999999",
  "tcp-bbr": "#000000",
  rsync: "#E69F00",
  zstd3: "#CC79A7",
  "zstd-patch": "#009E73",
  "pfs-udp": "#0072B2",
  "pfs-xdp": "#D55E00",
});

/** A number to 2–3 significant digits: "0.050", "0.90", "1.25", "12.3", "123". */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a === 0) return "0";
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.001) return x.toPrecision(2);
  return x.toExponential(1);
}

/** Text safe in XML content and in double- or single-quoted attributes. */
export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (ch) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[ch]};`,
  );
}

/** A tick value: ticks are exact 1-2-5 multiples, so no padding zeros ("0.05", "1", "200"). */
function tick(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** Rough width of `s` in pixels at `size` px in a sans-serif font. */
function textWidth(s: string, size = 12): number {
  return s.length * size * 0.56;
}

/** Split `s` at spaces into lines of at most `max` characters (longer words stay whole). */
function wrap(s: string, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of s.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

type Attrs = Record<string, string | number>;

/** One element; numbers are rounded to 0.1 px, strings escaped, `body` is raw SVG. */
function el(name: string, attrs: Attrs, body?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === "number" ? r1(v) : escapeXml(v)}"`)
    .join("");
  return body === undefined ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

function text(x: number, y: number, s: string, attrs: Attrs = {}): string {
  return el("text", { x, y, ...attrs }, escapeXml(s));
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: Attrs): string {
  return el("line", { x1, y1, x2, y2, ...attrs });
}

function r1(x: number): string {
  return String(Math.round(x * 10) / 10);
}

const FONT = "Helvetica, Arial, sans-serif";

function svgDoc(width: number, height: number, title: string, body: string[]): string {
  const attrs = { xmlns: "http://www.w3.org/2000/svg", width, height, "font-family": FONT };
  const inner = [
    el("title", {}, escapeXml(title)),
    el("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }),
    ...body,
  ];
  const root = { ...attrs, viewBox: `0 0 ${width} ${r1(height)}`, "font-size": 12 };
  return `${el("svg", root, `\n${inner.join("\n")}\n`)}\n`;
}

interface LegendItem {
  label: string;
  /** draws the 14 × 12 swatch whose top left is (x, y) */
  swatch: (x: number, y: number) => string;
}

function toolSwatch(t: ToolId): LegendItem {
  const fill = TOOL_COLORS[t];
  return {
    label: TOOL_LABELS[t],
    swatch: (x, y) => el("rect", { x, y, width: 14, height: 12, fill }),
  };
}

/** Title, subtitle and a legend that wraps into rows; returns the SVG and its bottom y. */
function header(width: number, title: string, subtitle: string[], items: LegendItem[]) {
  const svg = [text(16, 26, title, { "font-size": 17, "font-weight": "bold", fill: "#111" })];
  let y = 26;
  for (const s of subtitle) svg.push(text(16, (y += 18), s, { fill: "#444" }));
  let x = 16;
  y += 12;
  for (const item of items) {
    const w = 20 + textWidth(item.label) + 20;
    if (x > 16 && x + w > width - 16) {
      x = 16;
      y += 20;
    }
    svg.push(item.swatch(x, y), text(x + 20, y + 10.5, item.label, { fill: "#222" }));
    x += w;
  }
  return { svg, bottom: y + 12 };
}

/** The 1-2-5 value at or below (`up` false) or at or above (`up` true) v > 0. */
function nice125(v: number, up: boolean): number {
  const base = 10 ** Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((k) => k * base);
  if (up) return steps.find((s) => s >= v * (1 - 1e-12)) ?? 10 * base;
  return [...steps].reverse().find((s) => s <= v * (1 + 1e-12)) ?? base;
}

/** 1-2-5 ticks within [lo, hi], or only the powers of ten when that would be more than 9. */
function logTicks(lo: number, hi: number): number[] {
  const all: { k: number; v: number }[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const k of [1, 2, 5]) {
      const v = Number((k * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) all.push({ k, v });
    }
  }
  const decades = all.filter((t) => t.k === 1);
  return (all.length <= 9 || decades.length < 2 ? all : decades).map((t) => t.v);
}

export interface Bar {
  tool: ToolId;
  stat?: Stat | undefined;
  /** why there is no bar */
  na: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
  /** a dashed vertical marker at this value (e.g. the dataset's own size) */
  marker?: number | undefined;
}

export interface BarChartSpec {
  title: string;
  subtitle: string[];
  axisTitle: string;
  unit: string;
  groups: BarGroup[];
  markerLabel?: string;
}

const BAR_H = 14;
const BAR_GAP = 4;
const GROUP_GAP = 14;
const DASHED = { stroke: "#333", "stroke-width": 1.5, "stroke-dasharray": "4 2" };
const SMALL = { "font-size": 11, fill: "#333" };

/** Horizontal grouped bars on a log scale, with min–max whiskers and values at the bar ends. */
export function barChart(spec: BarChartSpec): string {
  const W = 960;
  const bars = spec.groups.flatMap((g) => g.bars);
  const items = TOOLS.filter((t) => bars.some((b) => b.tool === t)).map(toolSwatch);
  if (spec.markerLabel !== undefined && spec.groups.some((g) => g.marker !== undefined)) {
    const swatch = (x: number, y: number) => line(x + 7, y - 1, x + 7, y + 13, DASHED);
    items.push({ label: spec.markerLabel, swatch });
  }
  const head = header(W, spec.title, spec.subtitle, items);
  const values = [
    ...bars.flatMap((b) => (b.stat ? [b.stat.min, b.stat.median, b.stat.max] : [])),
    ...spec.groups.flatMap((g) => (g.marker !== undefined ? [g.marker] : [])),
  ].filter((v) => v > 0 && Number.isFinite(v));
  const lo = values.length ? nice125(Math.min(...values) / 1.5, false) : 0.1;
  const hi = values.length ? nice125(Math.max(...values) * 1.02, true) : 10;
  const labels = spec.groups.map((g) => wrap(g.label, 26));
  const maxLabel = Math.max(0, ...labels.flat().map((l) => textWidth(l)));
  const [x0, x1] = [Math.min(280, Math.max(110, maxLabel + 30)), W - 90];
  const [llo, lhi] = [Math.log10(lo), Math.log10(hi)];
  const sx = (v: number) => x0 + ((Math.log10(v) - llo) / (lhi - llo)) * (x1 - x0);

  const back: string[] = [];
  const front: string[] = [];
  const top = head.bottom + 14;
  let y = top;
  let anyNa = false;
  spec.groups.forEach((g, gi) => {
    const lines = labels[gi] ?? [];
    const gh = Math.max(g.bars.length * (BAR_H + BAR_GAP) - BAR_GAP, lines.length * 14);
    if (gi % 2 === 1) {
      const band = { x: 8, y: y - GROUP_GAP / 2, width: W - 16, height: gh + GROUP_GAP };
      back.push(el("rect", { ...band, fill: "#f4f4f4" }));
    }
    lines.forEach((l, li) => {
      const ly = y + gh / 2 - ((lines.length - 1) * 14) / 2 + li * 14 + 4;
      front.push(text(x0 - 10, ly, l, { "text-anchor": "end", fill: "#111" }));
    });
    g.bars.forEach((b, bi) => {
      const by = y + bi * (BAR_H + BAR_GAP);
      const cy = by + BAR_H / 2;
      const s = b.stat;
      if (!s || !(s.median > 0)) {
        anyNa ||= !s;
        const why = s ? `0 ${spec.unit}` : `n/a (${b.na})`;
        front.push(text(x0 + 5, cy + 4, why, { ...SMALL, "font-style": "italic", fill: "#666" }));
        return;
      }
      const width = Math.max(1, sx(s.median) - x0);
      const data = { class: "bar", "data-tool": b.tool, "data-value": String(s.median) };
      const box = { x: x0, y: by, width, height: BAR_H, fill: TOOL_COLORS[b.tool] };
      front.push(el("rect", { ...data, ...box }));
      let end = x0 + width;
      if (s.max > s.min && s.min > 0) {
        const [a, z] = [sx(s.min), sx(s.max)];
        const d = `M${r1(a)} ${r1(cy)}H${r1(z)}M${r1(a)} ${r1(cy - 4)}v8M${r1(z)} ${r1(cy - 4)}v8`;
        front.push(el("path", { d, stroke: "#fff", "stroke-width": 3, fill: "none" }));
        front.push(el("path", { d, stroke: "#222", "stroke-width": 1.2, fill: "none" }));
        end = Math.max(end, z);
      }
      front.push(text(end + 5, cy + 4, `${num(s.median)} ${spec.unit}`, { "font-size": 11 }));
    });
    if (g.marker !== undefined && g.marker > 0) {
      front.push(line(sx(g.marker), y - 4, sx(g.marker), y + gh + 4, DASHED));
    }
    y += gh + GROUP_GAP;
  });
  const bottom = y - GROUP_GAP / 2;
  const axis: string[] = [];
  for (const t of logTicks(lo, hi)) {
    axis.push(line(sx(t), top - 8, sx(t), bottom, { stroke: "#ddd" }));
    axis.push(line(sx(t), bottom, sx(t), bottom + 5, { stroke: "#333" }));
    axis.push(text(sx(t), bottom + 18, tick(t), { ...SMALL, "text-anchor": "middle" }));
  }
  const frame = `M${r1(x0)} ${r1(top - 8)}V${r1(bottom)}H${r1(x1)}`;
  axis.push(el("path", { d: frame, stroke: "#333", fill: "none" }));
  axis.push(text((x0 + x1) / 2, bottom + 38, spec.axisTitle, { "text-anchor": "middle" }));
  let h = bottom + 52;
  if (anyNa) {
    axis.push(text(16, h, "n/a: not run, or every run failed (see matrix.md)", SMALL));
    h += 12;
  }
  return svgDoc(W, h, spec.title, [...head.svg, ...back, ...axis, ...front]);
}

/** 0 and 1-2-5 steps up to at least `max` × 1.05. */
function linearTicks(max: number): number[] {
  const step = nice125(Math.max(max, 1e-9) / 5, true);
  const top = Math.max(step, Math.ceil((max * 1.05) / step) * step);
  const ticks: number[] = [];
  for (let i = 0; i * step <= top * (1 + 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export interface LineChartSpec {
  title: string;
  subtitle: string[];
  /** the categories along x, equally spaced */
  xLabels: string[];
  xTitle: string;
  yTitle: string;
  /** one line per tool; undefined values are missing points (and break the line) */
  series: { tool: ToolId; values: (number | undefined)[] }[];
}

/** A line chart with markers: categorical x, linear y from 0, a line per tool. */
export function lineChart(spec: LineChartSpec): string {
  const W = 760;
  const tools = spec.series.map((s) => s.tool);
  const items = tools.map((t): LegendItem => {
    const stroke = TOOL_COLORS[t];
    const swatch = (x: number, y: number) =>
      line(x, y + 6, x + 14, y + 6, { stroke, "stroke-width": 2.5 }) +
      el("circle", { cx: x + 7, cy: y + 6, r: 4, fill: stroke, stroke: "#fff" });
    return { label: TOOL_LABELS[t], swatch };
  });
  const head = header(W, spec.title, spec.subtitle, items);
  const [x0, x1, top] = [80, W - 30, head.bottom + 20];
  const bottom = top + 280;
  const ticks = linearTicks(
    Math.max(0, ...spec.series.flatMap((s) => s.values.map((v) => v ?? 0))),
  );
  const yMax = ticks[ticks.length - 1] ?? 1;
  const sy = (v: number) => bottom - (v / yMax) * (bottom - top);
  const slot = (x1 - x0) / Math.max(1, spec.xLabels.length);
  const body: string[] = [];
  for (const t of ticks) {
    body.push(line(x0, sy(t), x1, sy(t), { stroke: "#ddd" }));
    body.push(text(x0 - 8, sy(t) + 4, tick(t), { ...SMALL, "text-anchor": "end" }));
  }
  spec.xLabels.forEach((l, i) => {
    const x = x0 + (i + 0.5) * slot;
    body.push(line(x, bottom, x, bottom + 5, { stroke: "#333" }));
    body.push(text(x, bottom + 19, l, { ...SMALL, "text-anchor": "middle" }));
  });
  const mid = (top + bottom) / 2;
  body.push(
    el("path", { d: `M${x0} ${r1(top - 6)}V${r1(bottom)}H${x1}`, stroke: "#333", fill: "none" }),
    text((x0 + x1) / 2, bottom + 40, spec.xTitle, { "text-anchor": "middle" }),
    text(22, mid, spec.yTitle, { "text-anchor": "middle", transform: `rotate(-90 22 ${r1(mid)})` }),
  );
  const missing: string[] = [];
  spec.series.forEach(({ tool, values }, ti) => {
    const dx = (ti - (tools.length - 1) / 2) * 3; // keeps equal values of several tools apart
    const pts = values.map((v, i) => {
      if (v === undefined) missing.push(`${TOOL_LABELS[tool]} at ${spec.xLabels[i] ?? i}`);
      return v === undefined ? undefined : { x: x0 + (i + 0.5) * slot + dx, y: sy(v), v };
    });
    const stroke = { fill: "none", stroke: TOOL_COLORS[tool], "stroke-width": 2.5 };
    // one polyline per run of consecutive points, so a missing point breaks the line
    const runs = pts.map((p) => (p ? `${r1(p.x)},${r1(p.y)}` : "|")).join(" ");
    for (const seg of runs.split("|").map((x) => x.trim())) {
      if (seg.includes(" ")) body.push(el("polyline", { points: seg, ...stroke }));
    }
    pts.forEach((p, i) => {
      if (!p) return;
      const data = { class: "point", "data-tool": tool, "data-x": spec.xLabels[i] ?? "" };
      const dot = { cx: p.x, cy: p.y, r: 4.5, fill: TOOL_COLORS[tool], stroke: "#fff" };
      body.push(el("circle", { ...data, "data-value": String(p.v), ...dot, "stroke-width": 1.5 }));
    });
  });
  let h = bottom + 56;
  const note = `No result (not run or failed): ${missing.join(", ")}.`;
  for (const l of missing.length ? wrap(note, 120) : []) {
    body.push(text(16, h, l, { ...SMALL, fill: "#666" }));
    h += 14;
  }
  return svgDoc(W, h, spec.title, [...head.svg, ...body]);
}
