/**
 * The shape of `pfs-dp bench matrix` results (bench/results/matrix.json): what
 * the runner (matrix.ts) writes and the report (matrix-report.ts) reads.
 */

/**
 * The competitors, each run over the same emulated link in the same run. The
 * TCP-based ones use CUBIC, Linux's default congestion control; `tcp-bbr` is
 * the same copy with BBR, run where loss is swept.
 */
export const TOOLS = [
  "tcp",
  "tcp-bbr",
  "rsync",
  "zstd3",
  "zstd-patch",
  "pfs-udp",
  "pfs-xdp",
] as const;
export type ToolId = (typeof TOOLS)[number];

export const TOOL_LABELS: Readonly<Record<ToolId, string>> = Object.freeze({
  tcp: "TCP copy (socat, CUBIC)",
  "tcp-bbr": "TCP copy (socat, BBR)",
  rsync: "rsync (daemon)",
  zstd3: "zstd -3 over TCP",
  "zstd-patch": "zstd -3 --patch-from over TCP",
  "pfs-udp": "PacketFS (udp)",
  "pfs-xdp": "PacketFS (xdp)",
});

/**
 * novel: bytes the receiver has never seen; update: a new version whose
 * previous version (`base`) the receiver already holds (rsync and zstd
 * --patch-from are given it, PacketFS sent it earlier); tree: a directory.
 */
export type DatasetKind = "novel" | "update" | "tree";

export interface DatasetInfo {
  id: string;
  kind: DatasetKind;
  label: string;
  /** where the bytes come from, for a reader who wants to reproduce them */
  origin: string;
  /** bytes of the file (or of all files of the tree) sent */
  bytes: number;
  files: number;
  /** bytes of the previous version, for updates */
  baseBytes?: number;
}

export interface LinkInfo {
  id: string;
  label: string;
  /** emulated rate in Mbit/s, 0 = not shaped (the emulator's own ceiling applies) */
  rateMbit: number;
  rttMs: number;
}

export interface Side<T> {
  sender: T;
  receiver: T;
}

/** One timed run of one tool. */
export interface RunResult {
  seconds: number;
  /** bytes both ends put on the wire (Ethernet frames, both directions, as the emulator received them) */
  wireBytes: number;
  /** CPU seconds (user + system) of all processes of each side during the run */
  cpuSeconds: Side<number>;
  /** peak resident memory of the largest process of each side, bytes */
  peakRssBytes: Side<number>;
  /** the received bytes have the sender's sha256 */
  verified: boolean;
  error?: string;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface Cell {
  dataset: string;
  link: string;
  lossPct: number;
  tool: ToolId;
  /** set when the tool was not run here, with the reason (e.g. zstd-patch on novel data) */
  skipped?: string;
  runs: RunResult[];
  /** over the successful runs; absent when none succeeded */
  seconds?: Stat;
  wireBytes?: Stat;
  /** CPU seconds per GB of dataset, medians */
  cpuSecondsPerGB?: Side<number>;
  peakRssBytes?: Side<number>;
  /** every run succeeded and verified */
  verified: boolean;
}

export interface MatrixResult {
  version: 1;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  reps: number;
  /** `uname -a`, CPU model and count, memory, kernel, tool versions */
  machine: Record<string, string>;
  /** how the links are emulated and what that limits, in words */
  method: string[];
  datasets: DatasetInfo[];
  links: LinkInfo[];
  cells: Cell[];
}
