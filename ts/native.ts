/**
 * Running the data plane's C tools.
 *
 * The control plane never moves file bytes: it starts a C tool (built by CMake into
 * the build directory), waits for it without blocking the event loop, and reads one
 * JSON report from its stdout. The tool contract:
 *   - success: exit 0, one JSON value on stdout;
 *   - failure: exit non-zero, and on stderr a line
 *       {"error":{"code":"PFS_ERR_…","message":"…"}}
 *     whose code is a name from dataplane/error.h (or an errno name such as "EIO").
 * Anything else (crash, signal, unparsable output) becomes PFS_ERR_NATIVE_FAILED.
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { access, constants } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { PfsError, isPfsErrorCode } from "./errors.js";

const BUILD_HINT = "run npm install (builds the C tools) or npm run build";

/** Bound on what we keep of a tool's output: reports are small, logs are not ours. */
const MAX_STDOUT = 16 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

let cachedRoot: string | undefined;

/**
 * The repository root: the nearest directory above this module holding
 * package.json. Works from ts/ (tests) and from dist/ts/ (compiled CLI).
 */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the repository root (no package.json above ts/)");
    dir = up;
  }
}

/** The CMake build directory: $PFS_BUILD_DIR (relative to the repo root) or <repo>/build. */
export function buildDir(): string {
  const env = process.env["PFS_BUILD_DIR"];
  return resolve(repoRoot(), env && env.length > 0 ? env : "build");
}

export function toolPath(name: string): string {
  return join(buildDir(), name);
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

function missing(name: string, path: string): PfsError {
  return new PfsError(
    "PFS_ERR_NATIVE_MISSING",
    `C tool ${name} is not built (looked for ${path})`,
    BUILD_HINT,
  );
}

/** Find the tool's error object in its stderr (last JSON line with an "error" key). */
export function parseToolError(name: string, stderr: string): PfsError | undefined {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("{"));
  for (let i = lines.length - 1; i >= 0; i--) {
    let obj: unknown;
    try {
      obj = JSON.parse(lines[i] as string);
    } catch {
      continue;
    }
    const e = (obj as { error?: unknown } | null)?.error as
      { code?: unknown; message?: unknown } | undefined;
    if (typeof e !== "object" || e === null || typeof e.code !== "string") continue;
    const message = typeof e.message === "string" ? e.message : "(no message)";
    if (isPfsErrorCode(e.code)) return new PfsError(e.code, `${name}: ${message}`);
    // errno names and codes newer than this registry still reach the person.
    return new PfsError("PFS_ERR_NATIVE_FAILED", `${name}: ${e.code}: ${message}`);
  }
  return undefined;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Run a C tool from the build directory with `args` and collect its output.
 * Rejects with PFS_ERR_NATIVE_MISSING when the binary is absent, with the tool's
 * own code when it reports one, and with PFS_ERR_NATIVE_FAILED otherwise.
 */
export async function runTool(
  name: string,
  args: readonly string[],
  opts: { signal?: AbortSignal } = {},
): Promise<ToolResult> {
  const path = toolPath(name);
  try {
    await access(path, constants.X_OK);
  } catch {
    throw missing(name, path);
  }
  return new Promise<ToolResult>((resolvePromise, reject) => {
    const child = spawn(path, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = "";
    let stderr = "";
    let overflow = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      if (stdout.length + chunk.length > MAX_STDOUT) {
        overflow = true;
        child.kill("SIGTERM");
        return;
      }
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_STDERR);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "EACCES") reject(missing(name, path));
      else reject(new PfsError("PFS_ERR_NATIVE_FAILED", `${name}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      if (overflow) {
        reject(
          new PfsError("PFS_ERR_NATIVE_FAILED", `${name}: report exceeds ${MAX_STDOUT} bytes`),
        );
      } else if (code === 0) {
        resolvePromise({ stdout, stderr });
      } else {
        const known = signal === null ? parseToolError(name, stderr) : undefined;
        if (known) return reject(known);
        const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
        const detail = tail(stderr, 5);
        reject(
          new PfsError(
            "PFS_ERR_NATIVE_FAILED",
            `${name} ${how}${detail ? `:\n${detail}` : ""}`,
            signal !== null ? "this is a bug in the C tool; please report it" : undefined,
          ),
        );
      }
    });
  });
}

/** Run a tool whose stdout is one JSON value, and parse it. */
export async function runJsonTool(
  name: string,
  args: readonly string[],
  opts: { signal?: AbortSignal } = {},
): Promise<unknown> {
  const { stdout } = await runTool(name, args, opts);
  try {
    return JSON.parse(stdout);
  } catch {
    const shown = stdout.length > 200 ? `${stdout.slice(0, 200)}…` : stdout;
    throw new PfsError(
      "PFS_ERR_NATIVE_FAILED",
      `${name} printed output that is not JSON: ${JSON.stringify(shown)}`,
    );
  }
}

/**
 * Checks a tool's JSON report against its contract: one object whose `numbers`
 * are non-negative finite numbers and whose `booleans` are true or false.
 * PFS_ERR_NATIVE_FAILED names the first field that is off.
 */
export function checkReport(
  tool: string,
  value: unknown,
  numbers: readonly string[],
  booleans: readonly string[],
): Record<string, unknown> {
  const bad = (what: string) =>
    new PfsError("PFS_ERR_NATIVE_FAILED", `${tool} report is malformed: ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("expected one JSON object");
  }
  const obj = value as Record<string, unknown>;
  for (const k of numbers) {
    const v = obj[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw bad(`"${k}" must be a non-negative number, got ${JSON.stringify(v)}`);
    }
  }
  for (const k of booleans) {
    if (typeof obj[k] !== "boolean") {
      throw bad(`"${k}" must be true or false, got ${JSON.stringify(obj[k])}`);
    }
  }
  return obj;
}

/** Appends `flag value` for every pair whose value is set. */
export function pushFlags(args: string[], pairs: [string, string | number | undefined][]): void {
  for (const [flag, v] of pairs) if (v !== undefined) args.push(flag, String(v));
}
