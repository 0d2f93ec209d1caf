/**
 * String formats of the configuration: each is a check plus the words that
 * complete "… must be <expected>" in an error message. The schema names them
 * (`format: "listen"`), load.ts registers them with ajv, and the daemon uses the
 * parsers here (parseCores, parseBlobSize) to turn the validated text into values.
 */

import { isAbsolute } from "node:path";

import { SizeError, formatSize, parseSize } from "../util/size.js";
import { tryParseHostPort } from "./address.js";

export const BLOB_SIZE_MIN = 64 * 1024;
export const BLOB_SIZE_MAX = 1024 ** 4;
/** highest CPU number accepted in a core list (Linux's default NR_CPUS is lower) */
export const CORE_MAX = 4095;

const NODE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Why `text` is not a core list ("", "0", "0-3,6"), or undefined when it is one. */
function coresProblem(text: string): string | undefined {
  if (text === "") return undefined;
  const seen = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return `"${part}" is not a core number or range`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return `range "${part}" runs backwards`;
    if (hi > CORE_MAX) return `core ${hi} is above ${CORE_MAX}`;
    for (let c = lo; c <= hi; c++) {
      if (seen.has(c)) return `core ${c} is listed twice`;
      seen.add(c);
    }
  }
  return undefined;
}

/** The CPU numbers of a validated core list, ascending; [] for "" (one unpinned worker). */
export function parseCores(text: string): number[] {
  const why = coresProblem(text);
  if (why !== undefined) throw new RangeError(`bad core list "${text}": ${why}`);
  const out: number[] = [];
  for (const part of text === "" ? [] : text.split(",")) {
    const [lo, hi] = part.trim().split("-").map(Number) as [number, number | undefined];
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out.sort((a, b) => a - b);
}

function blobSizeProblem(text: string): string | undefined {
  let n: number;
  try {
    n = parseSize(text);
  } catch (err) {
    if (err instanceof SizeError) return err.message;
    throw err;
  }
  if (n < BLOB_SIZE_MIN || n > BLOB_SIZE_MAX) return `${formatSize(n)} is out of range`;
  // Exact for every size here: log2 of a non-power below 2^53 is never a whole number.
  if (!Number.isInteger(Math.log2(n))) return `${n} bytes is not a power of two`;
  return undefined;
}

/** Bytes of a validated blob size ("1GiB" → 1073741824). */
export function parseBlobSize(text: string): number {
  const why = blobSizeProblem(text);
  if (why !== undefined) throw new RangeError(`bad blob size "${text}": ${why}`);
  return parseSize(text);
}

export interface FormatSpec {
  /** why the text does not have this format ("" when the expected form says it all), or undefined when it has it */
  readonly problem: (s: string) => string | undefined;
  /** completes "must be …" */
  readonly expected: string;
}

const hostPortProblem = (s: string) => {
  const r = tryParseHostPort(s);
  return typeof r === "string" ? r : undefined;
};

export const FORMATS: Readonly<Record<string, FormatSpec>> = Object.freeze({
  "node-name": {
    problem: (s: string) => (NODE_NAME_RE.test(s) ? undefined : ""),
    expected: 'a name of 1..63 lowercase letters, digits and "-", starting with a letter or digit',
  },
  listen: {
    problem: hostPortProblem,
    expected: "ADDR:PORT with port 1..65535, e.g. 0.0.0.0:7443 or [::]:7443",
  },
  "rest-listen": {
    problem: (s: string) =>
      s.startsWith("unix:")
        ? isAbsolute(s.slice(5))
          ? undefined
          : "the socket path is not absolute"
        : hostPortProblem(s),
    expected: 'ADDR:PORT (e.g. 127.0.0.1:7445) or "unix:" and an absolute socket path',
  },
  cores: {
    problem: coresProblem,
    expected: 'a CPU list such as "0", "0-3" or "0-3,6" (or "" for one unpinned worker)',
  },
  "blob-size": {
    problem: blobSizeProblem,
    expected: "a power of two from 64KiB to 1TiB, e.g. 256MiB or 1GiB",
  },
  "abs-path": {
    problem: (s: string) => (isAbsolute(s) && !s.includes("\0") ? undefined : ""),
    expected: 'an absolute path (starting with "/")',
  },
  iface: {
    problem: (s: string) => (/^[^\s/:]{1,15}$/.test(s) && s !== "." && s !== ".." ? undefined : ""),
    expected: 'a network interface name of 1..15 characters without spaces, "/" or ":"',
  },
} satisfies Record<string, FormatSpec>);
