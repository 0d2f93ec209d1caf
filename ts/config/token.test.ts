import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { type ConfigPaths, configPaths } from "./paths.js";
import { createToken, loadToken } from "./token.js";

let dir: string;
let paths: ConfigPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-token-"));
  paths = configPaths(join(dir, "node"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o777;

function thrown(fn: () => unknown): PfsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("REST token", () => {
  it("is 32 random bytes in base64url, in a 0600 file", () => {
    expect(createToken(paths)).toBe(true);
    const t = loadToken(paths);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, "base64url")).toHaveLength(32);
    expect(mode(paths.tokenFile)).toBe(0o600);
  });

  it("is kept unless forced", () => {
    createToken(paths);
    const t = loadToken(paths);
    expect(createToken(paths)).toBe(false);
    expect(loadToken(paths)).toBe(t);
    expect(createToken(paths, { force: true })).toBe(true);
    expect(loadToken(paths)).not.toBe(t);
  });

  it("missing, says how to make one", () => {
    expect(thrown(() => loadToken(paths)).code).toBe("PFS_ERR_FILE_NOT_FOUND");
  });
});
