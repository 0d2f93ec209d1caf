/**
 * `pfs-dp bench transfer`: two session engines on this machine move a target
 * file (after an optional base) through injected faults (loss, reordering,
 * duplication, corruption) and report goodput, wire bytes, what travelled as
 * pointers and whether the bytes arrived intact. The C tool pfs-transfer-bench
 * does the work — file bytes never pass through JavaScript; this module checks
 * arguments, runs it, checks its report and presents it.
 */

import { stat } from "node:fs/promises";

import { PfsError } from "../errors.js";
import { checkReport, pushFlags, runJsonTool } from "../native.js";
import { checkFile } from "../util/files.js";
import type { Io } from "../util/io.js";
import { formatSize } from "../util/size.js";

export const TRANSFER_TOOL = "pfs-transfer-bench";
export const TRANSFER_EXAMPLE = "pfs-dp bench transfer --target big.bin --loss 0.01";

export interface TransferBenchOptions {
  target?: string | undefined;
  base?: string | undefined;
  loss?: number | undefined;
  reorder?: number | undefined;
  duplicate?: number | undefined;
  corrupt?: number | undefined;
  rate?: number | undefined; /* Mbit/s */
  cc?: string | undefined;
  backend?: string | undefined;
  mtu?: number | undefined;
  /** An existing directory the receiver writes into (default: a fresh one in /dev/shm). */
  receiveRoot?: string | undefined;
  json?: boolean | undefined;
}

const NUMBERS = [
  "input_bytes",
  "seconds",
  "goodput_MBps",
  "wire_bytes",
  "retransmitted_bytes",
  "packets_sent",
  "pointer_bytes",
  "repairs",
] as const;

export type TransferReport = { [K in (typeof NUMBERS)[number]]: number } & {
  completed: boolean;
  verified: boolean;
  [extra: string]: unknown;
};

function usage(message: string): PfsError {
  return new PfsError("PFS_ERR_USAGE", message, `for example: ${TRANSFER_EXAMPLE}`);
}

/** PFS_ERR_USAGE unless `dir` is an existing directory (the tool does not create it). */
async function checkReceiveRoot(dir: string): Promise<void> {
  const bad = (why: string) =>
    new PfsError(
      "PFS_ERR_USAGE",
      `--receive-root ${dir} ${why}`,
      "create the directory, or leave out --receive-root for a fresh one in /dev/shm",
    );
  if (dir === "") throw bad("is empty: name a directory");
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(code === "ENOENT" ? "does not exist" : `cannot be read: ${String(err)}`);
  }
  if (!st.isDirectory()) throw bad("is not a directory");
}

/** Arguments for pfs-transfer-bench after checking every value. */
export async function transferToolArgs(o: TransferBenchOptions): Promise<string[]> {
  if (!o.target) throw usage("bench transfer needs --target FILE: the file to send");
  for (const [name, v] of [
    ["--loss", o.loss],
    ["--reorder", o.reorder],
    ["--duplicate", o.duplicate],
    ["--corrupt", o.corrupt],
  ] as const) {
    if (v !== undefined && !(v >= 0 && v < 1)) {
      throw usage(`${name} ${v} is not a fraction in [0, 1) (0.01 = 1 %)`);
    }
  }
  if (o.rate !== undefined && !(o.rate > 0))
    throw usage(`--rate ${o.rate} must be more than 0 Mbit/s`);
  if (o.cc !== undefined && !["bbr", "cubic", "fixed"].includes(o.cc)) {
    throw usage(`--cc ${o.cc} is not one of bbr, cubic, fixed`);
  }
  if (o.cc === "fixed" && o.rate === undefined) throw usage("--cc fixed needs --rate MBIT");
  if (o.backend !== undefined && !["udp", "mem"].includes(o.backend)) {
    throw usage(
      `--backend ${o.backend} is not one of udp, mem (xdp comes with the AF_XDP backend)`,
    );
  }
  if (o.mtu !== undefined && !(o.mtu >= 576 && o.mtu <= 65507)) {
    throw usage(`--mtu ${o.mtu} is out of range (576 .. 65507 bytes of UDP payload)`);
  }
  await checkFile("target", o.target);
  if (o.base !== undefined) await checkFile("base", o.base);
  if (o.receiveRoot !== undefined) await checkReceiveRoot(o.receiveRoot);

  const args = ["--target", o.target];
  if (o.base !== undefined) args.push("--base", o.base);
  pushFlags(args, [
    ["--loss", o.loss],
    ["--reorder", o.reorder],
    ["--duplicate", o.duplicate],
    ["--corrupt", o.corrupt],
    ["--rate", o.rate],
    ["--cc", o.cc],
    ["--backend", o.backend],
    ["--mtu", o.mtu],
    ["--receive-root", o.receiveRoot],
  ]);
  args.push("--json");
  return args;
}

export function validateTransferReport(value: unknown): TransferReport {
  return checkReport(TRANSFER_TOOL, value, NUMBERS, ["completed", "verified"]) as TransferReport;
}

/** ", 1.0 % loss, 0.5 % duplicated" for the faults that were injected. */
function faultsText(o: TransferBenchOptions): string {
  const pct = (p: number) => `${(p * 100).toFixed(1)} %`;
  return [
    o.loss ? `${pct(o.loss)} loss` : "",
    o.reorder ? `${pct(o.reorder)} reordered` : "",
    o.duplicate ? `${pct(o.duplicate)} duplicated` : "",
    o.corrupt ? `${pct(o.corrupt)} corrupted` : "",
  ]
    .filter((t) => t !== "")
    .map((t) => `, ${t}`)
    .join("");
}

export function formatTransferReport(r: TransferReport, o: TransferBenchOptions): string {
  const share = (n: number) =>
    r.input_bytes > 0 ? `${((100 * n) / r.input_bytes).toFixed(1)} %` : "-";
  return (
    [
      `transfer bench: ${o.target} over ${o.backend ?? "udp"}, ${o.cc ?? "bbr"}${faultsText(o)}`,
      `  input      ${formatSize(r.input_bytes)}`,
      `  time       ${r.seconds.toFixed(3)} s, goodput ${r.goodput_MBps.toFixed(1)} MB/s`,
      `  wire       ${formatSize(r.wire_bytes)} (${share(r.wire_bytes)} of the input), ` +
        `${formatSize(r.retransmitted_bytes)} resent`,
      `  pointers   ${formatSize(r.pointer_bytes)} (${share(r.pointer_bytes)} of the input) ` +
        `sent as references, ${r.repairs} block${r.repairs === 1 ? "" : "s"} repaired`,
      `  verified   ${r.completed && r.verified ? "yes: the receiver holds the same bytes" : "NO"}`,
    ].join("\n") + "\n"
  );
}

/** Runs the benchmark; exit code 1 unless the transfer completed and verified. */
export async function runTransferBench(o: TransferBenchOptions, io: Io): Promise<number> {
  const report = validateTransferReport(
    await runJsonTool(TRANSFER_TOOL, await transferToolArgs(o)),
  );
  io.out(o.json ? JSON.stringify(report, null, 2) + "\n" : formatTransferReport(report, o));
  return report.completed && report.verified ? 0 : 1;
}
