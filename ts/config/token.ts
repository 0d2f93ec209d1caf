/**
 * The REST API's bearer token: 32 random bytes, base64url, in <config-dir>/token
 * (mode 0600). Whoever can read it can drive the node, like the private key.
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";

import { PfsError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import type { ConfigPaths } from "./paths.js";

/** A fresh bearer token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Write a fresh token to paths.token (mode 0600) unless one exists and `force`
 * is not set. Returns whether it wrote one.
 */
export function createToken(paths: ConfigPaths, opts: { force?: boolean } = {}): boolean {
  if (!opts.force && existsSync(paths.tokenFile)) return false;
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(paths.tokenFile, newToken() + "\n", 0o600);
  return true;
}

/** The REST token of `paths`; PFS_ERR_FILE_NOT_FOUND if there is none. */
export function loadToken(paths: ConfigPaths): string {
  let text: string;
  try {
    text = readFileSync(paths.tokenFile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new PfsError(
        "PFS_ERR_FILE_NOT_FOUND",
        `no API token: ${paths.tokenFile} does not exist`,
        `create one with: pfs-dp init --config-dir ${paths.dir}`,
      );
    }
    throw err;
  }
  const token = text.trim();
  if (token === "") {
    throw new PfsError("PFS_ERR_CONFIG", `the API token file ${paths.tokenFile} is empty`);
  }
  return token;
}
