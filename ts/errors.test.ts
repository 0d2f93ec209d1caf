import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { ERRORS, PfsError, codeFromC, formatError, isPfsErrorCode } from "./errors.js";

/**
 * Codes of `enum pfs_error` in dataplane/error.h. PFS_OK, PFS_ERR_BASE and
 * PFS_ERR_LAST are not errors (success and range markers) and are left out.
 */
function cErrorCodes(): Map<string, number> {
  const header = readFileSync(
    fileURLToPath(new URL("../dataplane/error.h", import.meta.url)),
    "utf8",
  );
  const body = /enum\s+pfs_error\s*\{([\s\S]*?)\}/.exec(header)?.[1];
  if (body === undefined) throw new Error("enum pfs_error not found in dataplane/error.h");
  const codes = new Map<string, number>();
  for (const m of body.matchAll(/^\s*(PFS_[A-Z0-9_]+)\s*=\s*(-?\d+)\s*,/gm)) {
    codes.set(m[1] as string, Number(m[2]));
  }
  for (const marker of ["PFS_OK", "PFS_ERR_BASE", "PFS_ERR_LAST"]) codes.delete(marker);
  return codes;
}

describe("error registry", () => {
  const entries = Object.entries(ERRORS);

  it("every code is named PFS_ERR_… and documented with a sentence", () => {
    for (const [code, spec] of entries) {
      expect(code).toMatch(/^PFS_ERR_[A-Z0-9_]+$/);
      expect(spec.docs.length, code).toBeGreaterThan(10);
      expect(spec.docs, code).toMatch(/\.$/);
    }
  });

  it("every code has an HTTP error status", () => {
    for (const [code, spec] of entries) {
      expect(Number.isInteger(spec.status), code).toBe(true);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
    }
  });

  it("C values are unique", () => {
    const values = entries.map(([, s]) => s.cCode).filter((v) => v !== null);
    expect(new Set(values).size).toBe(values.length);
  });

  it("mirrors every code of dataplane/error.h with the same value", () => {
    const c = cErrorCodes();
    expect(c.size).toBeGreaterThan(0);
    for (const [name, value] of c) {
      expect(isPfsErrorCode(name), `${name} missing from ts/errors.ts`).toBe(true);
      if (isPfsErrorCode(name)) expect(ERRORS[name].cCode, name).toBe(value);
    }
  });

  it("has no C value that dataplane/error.h does not define", () => {
    const c = cErrorCodes();
    for (const [code, spec] of entries) {
      if (spec.cCode !== null) expect(c.get(code), code).toBe(spec.cCode);
    }
  });

  it("has the control-plane codes", () => {
    for (const code of [
      "PFS_ERR_USAGE",
      "PFS_ERR_FILE_NOT_FOUND",
      "PFS_ERR_NATIVE_MISSING",
      "PFS_ERR_NATIVE_FAILED",
    ]) {
      expect(isPfsErrorCode(code), code).toBe(true);
    }
  });

  it("maps C values back to codes", () => {
    expect(codeFromC(-10010)).toBe("PFS_ERR_CHECKSUM");
    expect(codeFromC(-5)).toBeUndefined();
  });
});

describe("PfsError", () => {
  it("carries code, status, C value and hint", () => {
    const e = new PfsError("PFS_ERR_CHECKSUM", "block 3 is corrupted", "resend it");
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe("PFS_ERR_CHECKSUM");
    expect(e.status).toBe(ERRORS.PFS_ERR_CHECKSUM.status);
    expect(e.cCode).toBe(-10010);
    expect(e.toJSON()).toEqual({
      code: "PFS_ERR_CHECKSUM",
      message: "block 3 is corrupted",
      hint: "resend it",
    });
  });

  it("formats for people with the hint on its own line", () => {
    const e = new PfsError("PFS_ERR_USAGE", "missing --target", "pass --target NEW");
    expect(formatError(e)).toBe("error: missing --target\n  hint: pass --target NEW");
    expect(formatError(new PfsError("PFS_ERR_USAGE", "bad"))).toBe("error: bad");
  });

  it("reports other errors as internal", () => {
    expect(formatError(new TypeError("oops"))).toMatch(/^error: internal error: TypeError: oops/);
    expect(formatError("string thrown")).toBe("error: internal error: string thrown");
  });
});
