/**
 * Replacing a file so that a reader sees the old content or the new, never half
 * of it: write a temporary file beside it with the final mode, fsync, rename.
 */

import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** A fresh path beside `file` for a temporary copy. */
export function tempPathFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/** Write `data` to `file` atomically with permission bits `mode` (not subject to the umask). */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = tempPathFor(file);
  const fd = openSync(tmp, "wx", mode);
  try {
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dirname(file));
}

/** fsync a directory so a rename in it survives a crash; best effort (some filesystems refuse). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // not all filesystems allow fsync on a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
