/**
 * The matrix report on a small synthetic result (2 links, 3 datasets, every tool,
 * a loss sweep, skipped and failed cells): summarize(), matrix.md's figures and
 * verdicts, and the SVG charts (well-formed, escaped, legends, bar lengths).
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import {
  HEADLINE_CHART,
  renderCharts,
  renderMarkdown,
  summarize,
  writeReport,
} from "./matrix-report.js";
import {
  type Cell,
  type DatasetInfo,
  type MatrixResult,
  type RunResult,
  TOOLS,
  TOOL_LABELS,
  type ToolId,
} from "./matrix-types.js";

const DATASETS: DatasetInfo[] = [
  {
    id: "random",
    kind: "novel",
    label: "random 100 MB",
    origin: "urandom",
    bytes: 100e6,
    files: 1,
  },
  {
    id: "ts",
    kind: "update",
    label: "typescript 5.6.2 → 5.6.3",
    origin: "npm pack typescript@5.6.3",
    bytes: 23.5e6,
    files: 1,
    baseBytes: 23.4e6,
  },
  {
    id: "tree",
    kind: "tree",
    label: "source tree <src & docs>",
    origin: "git",
    bytes: 250e6,
    files: 5000,
  },
];
const BYTES = Object.fromEntries(DATASETS.map((d) => [d.id, d.bytes]));
const G1 = { id: "1g-20ms", label: "1 Gbit/s, 20 ms", rateMbit: 1000, rttMs: 20 };
const LAN = { id: "10g-lan", label: "10 Gbit/s, 0.2 ms", rateMbit: 10000, rttMs: 0.2 };

function run(seconds: number, extra: Partial<RunResult> = {}): RunResult {
  return {
    seconds,
    wireBytes: 1e6,
    cpuSeconds: { sender: 0.5, receiver: 0.4 },
    peakRssBytes: { sender: 50e6, receiver: 40e6 },
    verified: true,
    ...extra,
  };
}

/** Wire bytes as a share of the dataset; the novel one costs every tool its size. */
const WIRE: Record<ToolId, number> = {
  tcp: 1.04,
  "tcp-bbr": 1.04,
  rsync: 0.3,
  zstd3: 0.6,
  "zstd-patch": 0.05,
  "pfs-udp": 0.004,
  "pfs-xdp": 0.004,
};
const wireOf = (dataset: string, tool: ToolId) =>
  (BYTES[dataset] as number) * (dataset === "random" ? (WIRE[tool] > 1 ? 1.04 : 1.06) : WIRE[tool]);

type Spec = number | number[] | { skipped: string } | RunResult[];

/** A cell as the runner builds it; a number t means runs t × 0.98, t, t × 1.03. */
function cell(dataset: string, link: string, tool: ToolId, spec: Spec, lossPct = 0): Cell {
  const base = { dataset, link, lossPct, tool };
  if (!Array.isArray(spec) && typeof spec === "object") {
    return { ...base, skipped: spec.skipped, runs: [], verified: false };
  }
  const specs = typeof spec === "number" ? [spec * 0.98, spec, spec * 1.03] : spec;
  const runs = specs.map((s, i) =>
    typeof s === "number" ? run(s, { wireBytes: wireOf(dataset, tool) * (1 + i / 100) }) : s,
  );
  return { ...base, runs, ...summarize(runs, BYTES[dataset] as number) };
}

const SKIP = { skipped: "no base version for novel data" };
const XDP_ERROR = "xdp: no driver for <veth0> & co";
/** Median seconds per link, dataset and tool (TOOLS order); null = no cell. */
const TIMES: Record<string, Record<string, (Spec | null)[]>> = {
  "1g-20ms": {
    random: [1.0, 1.1, 1.3, 1.2, SKIP, 1.25, 1.1],
    ts: [[4.1, 4.2, 4.3], 4.0, 0.9, 2.0, 1.5, [0.2, 0.21, 0.23], 0.15],
    tree: [3.0, 3.1, 2.5, 2.6, 2.8, 2.6, [run(0, { error: XDP_ERROR, verified: false })]],
  },
  "10g-lan": {
    random: [0.1, 0.11, [run(0.2), run(0.2, { verified: false })], 0.3, SKIP, 0.096, 0.09],
    ts: [0.5, 0.5, 0.05, 0.3, 0.2, 0.047, null],
    tree: [0.8, 0.9, 0.5, [run(0.6), run(0, { error: "connection reset" })], 0.7, 0.53, null],
  },
};
/** Loss sweep on 1g-20ms random: tool → seconds at 0.1 %, 1 %, 5 %. */
const LOSS: Partial<Record<ToolId, Spec[]>> = {
  tcp: [1.25, 4.0, 20],
  "tcp-bbr": [1.2, 1.3, [run(0, { error: "timeout after 600 s" })]],
  "pfs-udp": [1.25, 1.5625, 2.5],
};

function matrix(): MatrixResult {
  const cells: Cell[] = [];
  for (const [link, byDataset] of Object.entries(TIMES)) {
    for (const [dataset, specs] of Object.entries(byDataset)) {
      TOOLS.forEach((tool, i) => {
        const spec = specs[i];
        if (spec !== null && spec !== undefined) cells.push(cell(dataset, link, tool, spec));
      });
    }
  }
  for (const [tool, specs] of Object.entries(LOSS)) {
    [0.1, 1, 5].forEach((loss, i) =>
      cells.push(cell("random", "1g-20ms", tool as ToolId, specs[i] as Spec, loss)),
    );
  }
  return {
    version: 1,
    startedAt: "2026-12-01T10:00:00.000Z",
    finishedAt: "2026-12-01T11:30:00.000Z",
    quick: false,
    reps: 3,
    machine: { cpu: "AMD EPYC, 2 cores", kernel: "6.18 <test & co>" },
    method: ["links emulated with netem in a network namespace", "medians of 3 runs"],
    datasets: DATASETS,
    links: [G1, LAN],
    cells,
  };
}

/** The Markdown section whose heading starts with `heading`. */
function section(md: string, heading: string): string {
  const found = md.split(/\n(?=## )/).find((s) => s.startsWith(`## ${heading}`));
  expect(found, heading).toBeDefined();
  return found as string;
}

/** The table row of `tool` on `dataset` in a link section, as cells. */
function rowOf(sec: string, dataset: string, tool: ToolId): string[] {
  const line = sec.split("\n").find((l) => l.startsWith(`| ${dataset} | ${TOOL_LABELS[tool]} |`));
  expect(line, `${dataset} / ${tool}`).toBeDefined();
  return (line as string).split(" | ").slice(2);
}

function verdict(md: string, prefix: string): string {
  const line = section(md, "What the table says")
    .split("\n")
    .find((l) => l.startsWith(`- ${prefix}`));
  expect(line, prefix).toBeDefined();
  return line as string;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Throws unless `xml` is one well-formed element: balanced tags, quoted attributes, entities. */
function checkXml(xml: string): void {
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  const badText = /[<>]|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i;
  const stack: string[] = [];
  let last = 0;
  let roots = 0;
  for (const m of xml.matchAll(tag)) {
    const between = xml.slice(last, m.index);
    if (badText.test(between)) throw new Error(`bad text before ${m[0]}: ${between}`);
    if (stack.length === 0 && between.trim() !== "") throw new Error("text outside the root");
    if (badText.test((m[3] ?? "").replace(/="[^"]*"/g, (v) => v.replace(/[<>]/g, "")))) {
      throw new Error(`bad attribute in ${m[0]}`);
    }
    const [, close, name, , self] = m as unknown as string[];
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> does not close the open element`);
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name as string);
    } else if (stack.length === 0) roots++;
    last = (m.index ?? 0) + m[0].length;
  }
  if (xml.slice(last).trim() !== "") throw new Error("text after the root");
  if (stack.length > 0 || roots !== 1)
    throw new Error(`unclosed ${stack.join(", ")} / ${roots} roots`);
}

function bars(svg: string): { tool: string; value: number; width: number }[] {
  return [...svg.matchAll(/<rect class="bar" ([^>]*)\/>/g)].map((m) => {
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[1] as string)?.[1] as string;
    return {
      tool: attr("data-tool"),
      value: Number(attr("data-value")),
      width: Number(attr(" width")),
    };
  });
}

describe("summarize", () => {
  it("takes the middle value of an odd count and min/max of all", () => {
    const s = summarize([run(3), run(1), run(2)], 1e9);
    expect(s.seconds).toEqual({ median: 2, min: 1, max: 3 });
    expect(s.verified).toBe(true);
  });

  it("takes the mean of the two middle values of an even count", () => {
    const s = summarize(
      [4, 1, 3, 2].map((x) => run(x, { wireBytes: x * 10 })),
      1e9,
    );
    expect(s.seconds?.median).toBe(2.5);
    expect(s.wireBytes).toEqual({ median: 25, min: 10, max: 40 });
  });

  it("ignores runs with an error, and is then not verified", () => {
    const s = summarize([run(1), run(2), run(100, { error: "boom" })], 1e9);
    expect(s.seconds).toEqual({ median: 1.5, min: 1, max: 2 });
    expect(s.verified).toBe(false);
  });

  it("is not verified when any run is unverified, but still has its times", () => {
    const s = summarize([run(1), run(2, { verified: false }), run(3)], 1e9);
    expect(s.verified).toBe(false);
    expect(s.seconds?.median).toBe(2);
  });

  it("has no figures and is not verified without a successful run", () => {
    expect(summarize([], 1e9)).toEqual({ verified: false });
    expect(summarize([run(1, { error: "x" })], 1e9)).toEqual({ verified: false });
  });

  it("gives CPU seconds per GB of dataset and median peak RSS", () => {
    const runs = [1, 2, 3].map((x) =>
      run(1, {
        cpuSeconds: { sender: x, receiver: x / 2 },
        peakRssBytes: { sender: x * 1e6, receiver: 7 },
      }),
    );
    const s = summarize(runs, 500e6);
    expect(s.cpuSecondsPerGB).toEqual({ sender: 4, receiver: 2 });
    expect(s.peakRssBytes).toEqual({ sender: 2e6, receiver: 7 });
  });
});

describe("matrix.md", () => {
  const md = renderMarkdown(matrix());

  it("has its sections in order, with every machine entry and method line", () => {
    const order = ["The machine", "Method", "Datasets", G1.label, LAN.label, "Under packet loss"];
    const at = [...order, "What the table says", "Charts"].map((h) => md.indexOf(`\n## ${h}`));
    expect(at.every((x, i) => x > 0 && (i === 0 || x > (at[i - 1] as number)))).toBe(true);
    expect(md).toContain("- kernel: 6.18 &lt;test & co&gt;");
    expect(md).toContain("- links emulated with netem in a network namespace");
    expect(md).toContain("full matrix, 3 runs per cell");
    expect(section(md, "Datasets")).toContain(
      "| typescript 5.6.2 → 5.6.3 | update | 23.5 | 1 | 23.4 |",
    );
  });

  it("gives median time with its spread and the multiple of TCP's time", () => {
    const sec = section(md, G1.label);
    expect(rowOf(sec, "typescript 5.6.2 → 5.6.3", "tcp").slice(0, 2)).toEqual([
      "4.20 (4.10–4.30)",
      "1.00×",
    ]);
    expect(rowOf(sec, "typescript 5.6.2 → 5.6.3", "pfs-udp").slice(0, 2)).toEqual([
      "0.21 (0.20–0.23)",
      "0.05×",
    ]);
    expect(rowOf(sec, "random 100 MB", "pfs-udp")[1]).toBe("1.25×");
    // wire MB and share of the dataset, CPU s/GB and RSS MB per side, verified
    expect(rowOf(sec, "random 100 MB", "tcp").slice(2)).toEqual([
      "105",
      "105 %",
      "5.00 / 4.00",
      "50.0 / 40.0",
      "yes |",
    ]);
  });

  it("shows skipped and failed cells instead of dropping them", () => {
    expect(rowOf(section(md, G1.label), "random 100 MB", "zstd-patch")[0]).toBe(
      "not run: no base version for novel data",
    );
    const failed = rowOf(section(md, G1.label), "source tree &lt;src & docs&gt;", "pfs-xdp");
    expect(failed[0]).toBe("failed: xdp: no driver for &lt;veth0&gt; & co");
    const lan = section(md, LAN.label);
    expect(rowOf(lan, "random 100 MB", "rsync").at(-1)).toBe("NO |");
    const partial = rowOf(lan, "source tree &lt;src & docs&gt;", "zstd3");
    expect(partial[0]).toBe("0.60");
    expect(partial.at(-1)).toBe("failed: connection reset |");
  });

  it("writes — for the multiple of TCP when TCP has no result", () => {
    const r = matrix();
    r.cells = r.cells.filter((c) => !(c.link === LAN.id && c.dataset === "ts" && c.tool === "tcp"));
    const text = renderMarkdown(r);
    expect(rowOf(section(text, LAN.label), "typescript 5.6.2 → 5.6.3", "pfs-udp")[1]).toBe("—");
    expect(verdict(text, "typescript 5.6.2 → 5.6.3 on 10 Gbit/s")).toContain("no TCP result");
  });

  it("says no result when PacketFS has no cell", () => {
    const r = matrix();
    r.cells = r.cells.filter((c) => !(c.link === LAN.id && c.tool === "pfs-udp"));
    expect(verdict(renderMarkdown(r), "random 100 MB on 10 Gbit/s")).toContain(
      "PacketFS (udp): no result; fastest other: TCP 0.10 s → no comparison",
    );
  });

  it("gives goodput under loss as a share of the tool's own loss-free goodput", () => {
    const sec = section(md, "Under packet loss");
    expect(sec).toContain("| tool | 0 % loss | 0.1 % loss | 1 % loss | 5 % loss |");
    expect(sec).toContain(
      `| ${TOOL_LABELS.tcp} | 100 (100 %) | 80.0 (80 %) | 25.0 (25 %) | 5.00 (5 %) |`,
    );
    expect(sec).toContain(
      `| ${TOOL_LABELS["pfs-udp"]} | 80.0 (100 %) | 80.0 (100 %) | 64.0 (80 %) | 40.0 (50 %) |`,
    );
    expect(sec).toMatch(/\| TCP copy \(socat, BBR\) \| .* \| failed \|/);
  });

  it("says PacketFS wins, ties within 5 % or loses against the fastest other tool", () => {
    expect(verdict(md, "typescript 5.6.2 → 5.6.3 on 1 Gbit/s, 20 ms")).toBe(
      "- typescript 5.6.2 → 5.6.3 on 1 Gbit/s, 20 ms: PacketFS (udp) 0.21 s, 0.05× TCP's time; " +
        "fastest other: rsync 0.90 s → PacketFS wins; PacketFS (xdp) 0.15 s, 0.036× TCP's time → PacketFS (xdp) wins",
    );
    expect(verdict(md, "random 100 MB on 1 Gbit/s")).toContain(
      "fastest other: TCP 1.00 s → PacketFS loses: 1.25× TCP's time",
    );
    const tree = verdict(md, "source tree &lt;src & docs&gt; on 1 Gbit/s");
    expect(tree).toContain("rsync 2.50 s → PacketFS ties (within 5 %)"); // 1.04×
    expect(tree).toContain("PacketFS (xdp): no result (failed: xdp: no driver");
    expect(verdict(md, "random 100 MB on 10 Gbit/s")).toContain("→ PacketFS ties (within 5 %)"); // 0.96×
    expect(verdict(md, "typescript 5.6.2 → 5.6.3 on 10 Gbit/s")).toMatch(
      /rsync 0.050 s → PacketFS wins$/,
    ); // 0.94×
    expect(verdict(md, "source tree &lt;src & docs&gt; on 10 Gbit/s")).toContain(
      "→ PacketFS loses: 1.06× rsync's time",
    );
  });

  it("links every chart by its relative file name", () => {
    for (const name of Object.keys(renderCharts(matrix()))) expect(md).toContain(`](${name})`);
  });
});

describe("charts", () => {
  const charts = renderCharts(matrix());

  it("draws a time chart per link (headline first), the wire chart and the loss chart", () => {
    expect(Object.keys(charts)).toEqual([
      HEADLINE_CHART,
      "matrix-time-10g-lan.svg",
      "matrix-wire.svg",
      "matrix-loss.svg",
    ]);
  });

  it("are well-formed XML with every tool of the chart in the legend", () => {
    for (const bad of ["<svg><g></svg>", "<svg>a & b</svg>", "<svg/><svg/>", '<svg a="<"/>']) {
      expect(() => checkXml(bad), bad).toThrow();
    }
    for (const [name, svg] of Object.entries(charts)) {
      expect(() => checkXml(svg), name).not.toThrow();
      const tools: ToolId[] =
        name === "matrix-loss.svg" ? ["tcp", "tcp-bbr", "pfs-udp"] : [...TOOLS];
      for (const t of tools)
        expect(svg, `${name}: ${t}`).toContain(`>${xmlEscape(TOOL_LABELS[t])}</text>`);
    }
    expect(charts["matrix-loss.svg"]).not.toContain(TOOL_LABELS.rsync);
  });

  it("escapes text for XML", () => {
    const svg = charts[HEADLINE_CHART] as string;
    expect(svg).toContain(">source tree &lt;src &amp; docs&gt;</text>");
    expect(svg).not.toContain("<src");
  });

  it("draws a longer log-scale bar for a larger value", () => {
    for (const name of [HEADLINE_CHART, "matrix-wire.svg"]) {
      const all = bars(charts[name] as string);
      expect(all.length).toBeGreaterThan(10);
      for (const a of all) {
        for (const b of all) if (a.value > b.value * 1.01) expect(a.width).toBeGreaterThan(b.width);
      }
    }
  });

  it("draws no bar but n/a for skipped and failed cells", () => {
    const svg = charts[HEADLINE_CHART] as string;
    expect(svg).toContain("n/a (not run)");
    expect(svg).toContain("n/a (failed)");
    expect(bars(svg).filter((b) => b.tool === "pfs-xdp")).toHaveLength(2); // tree failed
  });

  it("draws one loss chart per (dataset, link) measured under loss, and none without", () => {
    const r = matrix();
    r.cells.push(cell("tree", "10g-lan", "tcp", 1.0, 1));
    expect(Object.keys(renderCharts(r))).toEqual(
      expect.arrayContaining([
        "matrix-loss.svg",
        "matrix-loss-random-1g-20ms.svg",
        "matrix-loss-tree-10g-lan.svg",
      ]),
    );
    r.cells = r.cells.filter((c) => c.lossPct === 0);
    expect(Object.keys(renderCharts(r)).some((n) => n.includes("loss"))).toBe(false);
    expect(renderMarkdown(r)).not.toContain("## Under packet loss");
  });
});

describe("writeReport", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes matrix.json, matrix.md and every chart and returns their paths", () => {
    dir = mkdtempSync(join(tmpdir(), "pfs-matrix-report-"));
    const r = matrix();
    const paths = writeReport(r, join(dir, "results"));
    expect(paths.map((p) => basename(p))).toEqual([
      "matrix.json",
      "matrix.md",
      ...Object.keys(renderCharts(r)),
    ]);
    const json = readFileSync(join(dir, "results", "matrix.json"), "utf8");
    expect(JSON.parse(json)).toEqual(r);
    expect(json).toContain('\n  "version": 1,');
    expect(readFileSync(join(dir, "results", "matrix.md"), "utf8")).toBe(renderMarkdown(r));
  });
});
