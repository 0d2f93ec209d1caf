/**
 * The demo's dataset: real files from this machine packed into an
 * uncompressed tar (v1), and a deterministic next version of it (v2) — about
 * 1 % of the files with a few lines appended, and a few new files — the shape
 * of a software or backup update. Both tars are written by a minimal ustar
 * writer with fixed owner, mode and mtime, so the same machine always yields
 * the same bytes, whoever runs the demo.
 */

import { closeSync, lstatSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Where the dataset comes from, in order, until the size asked for is reached. */
export const DATASET_ROOTS: readonly string[] = Object.freeze([
  "/usr/share/doc",
  "/usr/lib/python3",
  "/usr/lib/python3.11",
  "/usr/share/perl",
  "/usr/share",
]);

export interface SourceFile {
  /** absolute path on this machine */
  path: string;
  size: number;
}

export interface TarEntry {
  /** path inside the archive */
  name: string;
  data: Buffer;
}

/**
 * Regular, readable files below the roots, depth first in sorted order, until
 * their sizes sum to at least `maxBytes` (the last file may overshoot).
 * Unreadable directories and files are skipped; each file is taken once.
 */
export function collectFiles(roots: readonly string[], maxBytes: number): SourceFile[] {
  const out: SourceFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (total >= maxBytes) return;
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size > 0 && !seen.has(path) && tarName(path) !== undefined) {
        seen.add(path);
        out.push({ path, size: st.size });
        total += st.size;
      }
    }
  };
  for (const root of roots) {
    if (total >= maxBytes) break;
    walk(root);
  }
  return out;
}

/** The name a file gets in the archive, or undefined when ustar cannot hold it. */
function tarName(path: string): string | undefined {
  const name = `dataset${path}`;
  return splitName(name) ? name : undefined;
}

/** ustar keeps a path as prefix (≤ 155 bytes) + "/" + name (≤ 100 bytes). */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) {
      return { prefix, name: rest };
    }
  }
  return undefined;
}

const MTIME = 1_700_000_000; // fixed: the same files give the same archive

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** One 512-byte ustar header for a regular file. */
export function tarHeader(entryName: string, size: number): Buffer {
  const split = splitName(entryName);
  if (!split) throw new Error(`${entryName}: too long for a ustar header`);
  const h = Buffer.alloc(512);
  h.write(split.name, 0, 100);
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(MTIME, 12), 136);
  h.write("        ", 148); // the checksum is summed with its own field as spaces
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  h.write("root", 265);
  h.write("root", 297);
  h.write(split.prefix, 345, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

/** Writes the entries as an uncompressed tar; returns its size in bytes. */
export function writeTar(out: string, entries: Iterable<TarEntry>): number {
  const fd = openSync(out, "w");
  let size = 0;
  const put = (b: Buffer): void => {
    writeSync(fd, b);
    size += b.length;
  };
  try {
    for (const e of entries) {
      put(tarHeader(e.name, e.data.length));
      put(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) put(Buffer.alloc(pad));
    }
    put(Buffer.alloc(1024)); // two zero blocks end the archive
  } finally {
    closeSync(fd);
  }
  return size;
}

/** Every 100th file (offset 50) changes in v2: about 1 %. */
export function isChanged(index: number): boolean {
  return index % 100 === 50;
}

export const ADDED_FILES = 3;

/** What v2 appends to a changed file: a few deterministic lines. */
export function appendix(index: number): Buffer {
  return Buffer.from(
    `\n# PacketFS demo v2: file ${index} changed in this version\n`.repeat(1 + (index % 7)),
  );
}

/** A new file of v2: deterministic text, 40–80 KB. */
export function addedFile(k: number): TarEntry {
  const lines: string[] = [];
  let x = 0x9e3779b9 ^ (k + 1);
  let size = 0;
  const target = 40_000 + k * 20_000;
  while (size < target) {
    x = (x * 1103515245 + 12345) >>> 0; // a fixed LCG: the same text on every machine
    const line = `release note ${k}.${lines.length}: item ${x.toString(36)} updated\n`;
    lines.push(line);
    size += line.length;
  }
  return { name: `dataset/NEW-IN-V2/notes-${k}.txt`, data: Buffer.from(lines.join("")) };
}

function* version(files: readonly SourceFile[], v: 1 | 2): Generator<TarEntry> {
  for (const [i, f] of files.entries()) {
    let data: Buffer;
    try {
      data = readFileSync(f.path);
    } catch {
      data = Buffer.alloc(0); // unreadable after all: keep the slot, so v1 and v2 align
    }
    if (v === 2 && isChanged(i)) data = Buffer.concat([data, appendix(i)]);
    yield { name: tarName(f.path) as string, data };
  }
  if (v === 2) for (let k = 0; k < ADDED_FILES; k++) yield addedFile(k);
}

export interface Dataset {
  v1: string;
  v2: string;
  v1Bytes: number;
  v2Bytes: number;
  files: number;
  changed: number;
  added: number;
  /** the roots the files came from, for the person watching */
  roots: string[];
}

/** Builds v1.tar and v2.tar in `dir` from about `maxBytes` of this machine's files. */
export function makeDataset(
  dir: string,
  maxBytes: number,
  roots: readonly string[] = DATASET_ROOTS,
): Dataset {
  const files = collectFiles(roots, maxBytes);
  if (files.length === 0) throw new Error(`no readable files below ${roots.join(", ")}`);
  const v1 = join(dir, "v1.tar");
  const v2 = join(dir, "v2.tar");
  const rootOf = (path: string) => roots.find((r) => path.startsWith(r + "/"));
  const used = roots.filter((r) => files.some((f) => rootOf(f.path) === r));
  return {
    v1,
    v2,
    v1Bytes: writeTar(v1, version(files, 1)),
    v2Bytes: writeTar(v2, version(files, 2)),
    files: files.length,
    changed: files.filter((_, i) => isChanged(i)).length,
    added: ADDED_FILES,
    roots: used,
  };
}
