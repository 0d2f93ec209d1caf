/**
 * Byte sizes as people write them on a command line: "65536", "64K", "64KiB",
 * "1.5M", "2G". Units are binary (K = KiB = 1024); decimal "KB"/"MB" is refused
 * rather than guessed, because 64KB means 64000 to some readers and 65536 to others.
 */

const UNITS: Readonly<Record<string, number>> = Object.freeze({
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
});

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

export class SizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SizeError";
  }
}

/**
 * Parse a size into a whole number of bytes.
 * Throws SizeError naming the text when it is not a size, has an unknown unit,
 * is not a whole number of bytes, or exceeds Number.MAX_SAFE_INTEGER.
 */
export function parseSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) {
    throw new SizeError(`"${text}" is not a size (examples: 4096, 64K, 1M, 2GiB)`);
  }
  const num = m[1] as string;
  const unit = (m[2] as string).toLowerCase();
  const mult = UNITS[unit];
  if (mult === undefined) {
    const hint = /^[kmgt]b$/.test(unit)
      ? ` (use ${unit[0]?.toUpperCase()} or ${unit[0]?.toUpperCase()}iB: units are binary)`
      : "";
    throw new SizeError(`"${text}" has an unknown unit "${m[2]}"${hint}`);
  }
  const bytes = Number(num) * mult;
  if (!Number.isSafeInteger(bytes)) {
    throw new SizeError(
      Number.isInteger(bytes) || bytes > Number.MAX_SAFE_INTEGER
        ? `"${text}" is too large`
        : `"${text}" is not a whole number of bytes`,
    );
  }
  return bytes;
}

/** Format bytes for a person: 1536 → "1.50 KiB", 512 → "512 B". */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} ${units[0]}` : `${v.toFixed(2)} ${units[i]}`;
}
