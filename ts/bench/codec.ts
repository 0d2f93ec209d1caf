/**
 * `pfs-dp bench codec`: how many wire bytes the pointer codec needs to send a
 * target file to a peer that already holds zero or more base files.
 *
 * The work is done by the C tool pfs-codec-bench (file bytes never pass through
 * JavaScript); this module checks the arguments, runs the tool, checks the shape of
 * its JSON report and presents it.
 */

import { PfsError } from "../errors.js";
import { checkReport, pushFlags, runJsonTool } from "../native.js";
import { checkFile } from "../util/files.js";
import type { Io } from "../util/io.js";
import { formatSize } from "../util/size.js";

export const CODEC_TOOL = "pfs-codec-bench";

export interface CodecBenchOptions {
  /** Files the peer already has, sent first in this order. */
  base: readonly string[];
  /** The file whose wire cost is measured. */
  target?: string | undefined;
  json?: boolean | undefined;
  blockSize?: number | undefined;
  litMax?: number | undefined;
  avgChunk?: number | undefined;
  chunkLevel?: number | undefined;
  minMatch?: number | undefined;
  logSize?: number | undefined;
  level?: number | undefined;
  sparseLevel?: number | undefined;
}

/** The report fields this control plane relies on, in the order they are printed. */
export const REPORT_NUMBERS = [
  "input_bytes",
  "wire_bytes",
  "ratio",
  "pointer_bytes",
  "literal_bytes",
  "literal_raw_bytes",
  "header_bytes",
  "base_bytes",
  "blocks",
  "pointers",
  "encode_MBps",
  "decode_MBps",
] as const;

type ReportNumber = (typeof REPORT_NUMBERS)[number];

export type CodecReport = { [K in ReportNumber]: number } & {
  roundtrip_ok: boolean;
  /** Further fields the tool reports are kept and printed after the known ones. */
  [extra: string]: unknown;
};

export const USAGE_EXAMPLE = "pfs-dp bench codec --base old.tar --target new.tar";

/** Arguments for pfs-codec-bench, after checking that every named file exists. */
export async function codecToolArgs(opts: CodecBenchOptions): Promise<string[]> {
  if (opts.target === undefined || opts.target === "") {
    throw new PfsError(
      "PFS_ERR_USAGE",
      "bench codec needs --target NEW: the file to send",
      `for example: ${USAGE_EXAMPLE}`,
    );
  }
  for (const b of opts.base) await checkFile("base", b);
  await checkFile("target", opts.target);

  const args = ["--target", opts.target];
  for (const b of opts.base) args.push("--base", b);
  pushFlags(args, [
    ["--block-size", opts.blockSize],
    ["--lit-max", opts.litMax],
    ["--avg-chunk", opts.avgChunk],
    ["--chunk-level", opts.chunkLevel],
    ["--min-match", opts.minMatch],
    ["--log-size", opts.logSize],
    ["--level", opts.level],
    ["--sparse-level", opts.sparseLevel],
  ]);
  args.push("--json");
  return args;
}

/** Check the tool's JSON against the contract; PFS_ERR_NATIVE_FAILED if it is off. */
export function validateReport(value: unknown): CodecReport {
  return checkReport(CODEC_TOOL, value, REPORT_NUMBERS, ["roundtrip_ok"]) as CodecReport;
}

/** The report with the known keys first (fixed order), then the others sorted. */
export function stableReport(r: CodecReport): Record<string, unknown> {
  const known = new Set<string>([...REPORT_NUMBERS, "roundtrip_ok"]);
  const out: Record<string, unknown> = {};
  for (const k of REPORT_NUMBERS) out[k] = r[k];
  out["roundtrip_ok"] = r.roundtrip_ok;
  for (const k of Object.keys(r).sort()) if (!known.has(k)) out[k] = r[k];
  return out;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "-";
}

export function formatReport(r: CodecReport, opts: CodecBenchOptions): string {
  const bases = opts.base.length === 1 ? "1 base" : `${opts.base.length} bases`;
  const lines = [
    `codec bench: ${opts.target ?? "?"} after ${bases} (${formatSize(r.base_bytes)} already sent)`,
    `  input      ${formatSize(r.input_bytes)}`,
    `  wire       ${formatSize(r.wire_bytes)}  (ratio ${r.ratio.toFixed(2)})`,
    `  pointers   ${formatSize(r.pointer_bytes)} on the wire (${pct(r.pointer_bytes, r.wire_bytes)}), ${r.pointers} pointers`,
    `  literals   ${formatSize(r.literal_bytes)} on the wire (${pct(r.literal_bytes, r.wire_bytes)}), ${formatSize(r.literal_raw_bytes)} before compression`,
    `  headers    ${formatSize(r.header_bytes)} in ${r.blocks} blocks`,
    `  speed      encode ${r.encode_MBps.toFixed(1)} MB/s, decode ${r.decode_MBps.toFixed(1)} MB/s`,
    `  round-trip ${r.roundtrip_ok ? "OK" : "FAILED: decoded bytes differ from the input"}`,
  ];
  return lines.join("\n") + "\n";
}

/**
 * Run the benchmark and print its report. Returns the exit code: 0, or 1 when
 * the round trip failed (decoded bytes differ from the target).
 */
export async function runCodecBench(opts: CodecBenchOptions, io: Io): Promise<number> {
  const args = await codecToolArgs(opts);
  const report = validateReport(await runJsonTool(CODEC_TOOL, args));
  if (opts.json) io.out(JSON.stringify(stableReport(report), null, 2) + "\n");
  else io.out(formatReport(report, opts));
  return report.roundtrip_ok ? 0 : 1;
}
