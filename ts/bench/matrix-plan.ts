/**
 * What `pfs-dp bench matrix` runs: the links, the datasets, which tool runs
 * on which dataset, and the loss sweep — as data, checked before anything
 * starts, so that a typo in --links fails at once and not an hour in.
 */

import { readFileSync } from "node:fs";

import { PfsError } from "../errors.js";
import {
  type DatasetInfo,
  type DatasetKind,
  type LinkInfo,
  TOOLS,
  type ToolId,
} from "./matrix-types.js";

export const LINKS: readonly LinkInfo[] = Object.freeze([
  { id: "100m-40ms", label: "100 Mbit/s, 40 ms RTT", rateMbit: 100, rttMs: 40 },
  { id: "1g-20ms", label: "1 Gbit/s, 20 ms RTT", rateMbit: 1000, rttMs: 20 },
  { id: "10g-1ms", label: "10 Gbit/s, 1 ms RTT", rateMbit: 10000, rttMs: 1 },
  { id: "unshaped", label: "unshaped (emulator only)", rateMbit: 0, rttMs: 0 },
]);

/** Where loss is swept, on which dataset, by which tools (the others are TCP too). */
export const LOSS_LINK = "1g-20ms";
export const LOSS_DATASET = "random";
export const LOSS_TOOLS: readonly ToolId[] = ["tcp", "tcp-bbr", "pfs-udp", "pfs-xdp"];

/** A dataset as bench/matrix-datasets.sh describes it in its MANIFEST.json. */
export interface ManifestEntry extends DatasetInfo {
  path: string;
  /** the previous version (updates) */
  base?: string;
  sha256: string;
}

export interface MatrixOptions {
  quick: boolean;
  reps: number;
  links: LinkInfo[];
  /** ids; all of the manifest's when empty */
  datasets: string[];
  tools: ToolId[];
  /** loss percentages swept on LOSS_LINK (0 is always run) */
  loss: number[];
  /** a MANIFEST.json to use instead of building bench/data/matrix */
  manifest?: string;
}

export interface MatrixFlags {
  quick?: boolean;
  reps?: string;
  links?: string;
  datasets?: string;
  tools?: string;
  loss?: string;
  manifest?: string;
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function pick<T>(what: string, names: string[], all: readonly T[], id: (t: T) => string): T[] {
  const out: T[] = [];
  for (const n of names) {
    const t = all.find((x) => id(x) === n);
    if (!t) {
      throw new PfsError(
        "PFS_ERR_USAGE",
        `--${what} ${n}: unknown; choose from ${all.map(id).join(", ")}`,
      );
    }
    out.push(t);
  }
  return out;
}

/** The flags, defaulted for --quick or the full matrix, validated. */
export function planOptions(f: MatrixFlags): MatrixOptions {
  const quick = f.quick === true;
  const reps = f.reps === undefined ? (quick ? 1 : 3) : Number(f.reps);
  if (!Number.isInteger(reps) || reps < 1 || reps > 20) {
    throw new PfsError("PFS_ERR_USAGE", `--reps ${f.reps}: expected a whole number 1..20`);
  }
  const linkIds = list(f.links) ?? (quick ? ["1g-20ms", "unshaped"] : LINKS.map((l) => l.id));
  const toolIds = list(f.tools) ?? [...TOOLS];
  const loss = (list(f.loss) ?? (quick ? ["1"] : ["0.1", "1", "5"])).map((s) => {
    const n = Number(s.replace(/%$/, ""));
    if (!Number.isFinite(n) || n < 0 || n >= 50) {
      throw new PfsError(
        "PFS_ERR_USAGE",
        `--loss ${s}: expected percentages below 50, e.g. 0.1,1,5`,
      );
    }
    return n;
  });
  return {
    quick,
    reps,
    links: pick("links", linkIds, LINKS, (l) => l.id),
    datasets: list(f.datasets) ?? [],
    tools: pick("tools", toolIds, TOOLS, (t) => t),
    loss: [...new Set(loss.filter((n) => n > 0))].sort((a, b) => a - b),
    ...(f.manifest !== undefined ? { manifest: f.manifest } : {}),
  };
}

const KINDS: readonly DatasetKind[] = ["novel", "update", "tree"];

/** Reads and checks a MANIFEST.json; `ids` (if any) selects and orders. */
export function readManifest(path: string, ids: string[]): ManifestEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `dataset manifest ${path}: ${(err as Error).message}; run bench/matrix-datasets.sh`,
    );
  }
  if (!Array.isArray(raw)) throw new PfsError("PFS_ERR_USAGE", `${path}: expected an array`);
  const all = raw.map((e: Partial<ManifestEntry>, i): ManifestEntry => {
    const ok =
      typeof e.id === "string" &&
      typeof e.path === "string" &&
      typeof e.bytes === "number" &&
      typeof e.sha256 === "string" &&
      KINDS.includes(e.kind as DatasetKind) &&
      (e.kind !== "update" || typeof e.base === "string");
    if (!ok) throw new PfsError("PFS_ERR_USAGE", `${path}: entry ${i} is incomplete`);
    return {
      id: e.id as string,
      kind: e.kind as DatasetKind,
      label: e.label ?? (e.id as string),
      origin: e.origin ?? "",
      path: e.path as string,
      bytes: e.bytes as number,
      files: e.files ?? 1,
      sha256: e.sha256 as string,
      ...(e.base !== undefined ? { base: e.base, baseBytes: e.baseBytes ?? 0 } : {}),
    };
  });
  return ids.length === 0 ? all : pick("datasets", ids, all, (d) => d.id);
}

/**
 * Whether `tool` runs on `d`: true, a reason it is not (shown in the table),
 * or false for a pairing left out of the table altogether (BBR is only run on
 * the dataset where loss is swept).
 */
export function runsOn(tool: ToolId, d: ManifestEntry): true | false | string {
  if (tool === "zstd-patch" && d.kind !== "update")
    return "needs a previous version to diff against";
  if (tool === "tcp-bbr" && d.id !== LOSS_DATASET) return false;
  return true;
}

/** pfs-linkem's link settings for a link and a loss percentage. */
export function linkemArgs(l: LinkInfo, lossPct: number): string[] {
  const args = ["--delay", `${Math.round((l.rttMs * 1000) / 2)}us`];
  if (l.rateMbit > 0) args.push("--rate", `${l.rateMbit}mbit`);
  if (lossPct > 0) args.push("--loss", `${lossPct}%`);
  return args;
}

/** One (link, loss) pass of the matrix with the datasets and tools it covers. */
export interface Pass {
  link: LinkInfo;
  lossPct: number;
  datasets: ManifestEntry[];
  tools: ToolId[];
}

export function passes(o: MatrixOptions, datasets: ManifestEntry[]): Pass[] {
  const out: Pass[] = [];
  for (const link of o.links) {
    out.push({ link, lossPct: 0, datasets, tools: o.tools });
    if (link.id !== LOSS_LINK) continue;
    const lossData = datasets.filter((d) => d.id === LOSS_DATASET);
    const lossTools = o.tools.filter((t) => LOSS_TOOLS.includes(t));
    if (lossData.length === 0 || lossTools.length === 0) continue;
    for (const lossPct of o.loss) out.push({ link, lossPct, datasets: lossData, tools: lossTools });
  }
  return out;
}

/** How the matrix measures, in words: the report's "method" section. */
export const METHOD: readonly string[] = [
  "Two test hosts are network namespaces joined through a third, where pfs-linkem (the project's emulator, docs/linkem.md) forwards every frame with the link's rate, one-way delay of half the RTT and loss, in both directions; offloads are off on every veth, so the emulator sees wire-sized frames.",
  "pfs-linkem forwards at about 1.4–2.3 Gbit/s on this machine: the 10 Gbit/s and unshaped links are bounded by the emulator, not by their nominal rate.",
  "Time: reference tools from starting the sender until the receiver has written everything (rsync: until the client exits); PacketFS as its daemon times the transfer, from the request to the receiver's verified commit (the client's own start-up is not counted).",
  "Wire bytes: Ethernet frames both hosts put on the link, both directions, headers, acknowledgements and control traffic included.",
  "CPU: user + system seconds of every process of each side (daemons and data planes included), from a cgroup per side; per GB of dataset.",
  "Peak memory: the largest sum of the peak resident memory (VmHWM, plus hugepages) of each side's processes alive at once, sampled every 10 ms (0 when every process of a side lived less than that); PacketFS's includes its daemon (Node.js), data plane and blob.",
  "Updates: rsync finds the previous version under the destination name, zstd --patch-from is given it at both ends, PacketFS sent it earlier over the same link (untimed), on fresh daemons; the others send the new version whole.",
  "Every received file or tree is checked by sha256 against the dataset. Received data goes to /dev/shm, so disk speed is not measured.",
];
