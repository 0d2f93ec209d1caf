#!/usr/bin/env node
// Runs every test of the project and prints one closing tally.
//
//   1. C tests: ctest in the CMake build directory ($PFS_BUILD_DIR, default build)
//   2. TypeScript tests: vitest
//
// Output of both streams through as it comes. The last line is always
//   N passed, N failed[, N skipped]
// summed over both runners. Exit status is non-zero when a test failed, when a
// runner could not run, or when a runner ran no test at all (a silent "0 tests"
// must never look like success).
//
// Usage: node test/run.mjs [--only c|ts]
//   --only c    only the C tests (used by .ci/run for the sanitizer build)
//   --only ts   only the TypeScript tests

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = resolve(root, process.env.PFS_BUILD_DIR || "build");

function parseArgs(argv) {
  const i = argv.indexOf("--only");
  if (i < 0) return { c: true, ts: true };
  const which = argv[i + 1];
  if (which !== "c" && which !== "ts") {
    console.error("usage: node test/run.mjs [--only c|ts]");
    process.exit(2);
  }
  return { c: which === "c", ts: which === "ts" };
}

function banner(text) {
  process.stdout.write(`\n--- ${text} ---\n`);
}

/** Run a command in the repo root; tee its stdout if `capture`. Resolves {code, out}. */
function run(cmd, args, { capture = false } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"],
    });
    let out = "";
    if (capture) {
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        out += chunk;
        process.stdout.write(chunk);
      });
    }
    child.on("error", (err) => resolvePromise({ code: null, out, error: err }));
    child.on("close", (code, signal) => resolvePromise({ code: signal ? 128 : code, out }));
  });
}

/** Result of one runner: counts, or a reason it could not give any. */
function result(passed, failed, skipped, problem) {
  return { passed, failed, skipped, problem };
}

// "100% tests passed, 0 tests failed out of 12" (ctest's closing summary). Tests
// that did not run are listed after "The following tests did not run:" as
// "  7 - name (Skipped)" and are counted in the total but not as failed.
function parseCtest(out) {
  const m = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(out);
  if (!m) return undefined;
  const failed = Number(m[2]);
  const total = Number(m[3]);
  const notRun = out.split("The following tests did not run:")[1] ?? "";
  const skipped = (notRun.match(/^\s*\d+ - .*\((Skipped|Disabled)\)\s*$/gm) ?? []).length;
  return { passed: total - failed - skipped, failed, skipped, total };
}

async function runCtest() {
  banner(`C tests (ctest, ${buildDir})`);
  if (!existsSync(join(buildDir, "CTestTestfile.cmake"))) {
    const msg = "C build missing: run npm install (or npm run build)";
    process.stdout.write(`${msg}\n`);
    return result(0, 0, 0, msg);
  }
  const r = await run("ctest", ["--test-dir", buildDir, "--output-on-failure", "-j2"], {
    capture: true,
  });
  if (r.error) return result(0, 0, 0, `could not run ctest: ${r.error.message}`);
  const counts = parseCtest(r.out);
  if (!counts) return result(0, 0, 0, `ctest printed no summary (exit status ${r.code})`);
  if (counts.total === 0) return result(0, 0, 0, "ctest ran no test");
  const problem =
    r.code !== 0 && counts.failed === 0 ? `ctest exited with status ${r.code}` : undefined;
  return result(counts.passed, counts.failed, counts.skipped, problem);
}

async function runVitest() {
  banner("TypeScript tests (vitest)");
  const tmp = mkdtempSync(join(tmpdir(), "pfs-vitest-"));
  const report = join(tmp, "report.json");
  try {
    const r = await run("npx", [
      "--no-install",
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile=${report}`,
    ]);
    if (r.error) return result(0, 0, 0, `could not run vitest: ${r.error.message}`);
    if (!existsSync(report)) {
      return result(0, 0, 0, `vitest wrote no report (exit status ${r.code}); run npm install`);
    }
    const j = JSON.parse(readFileSync(report, "utf8"));
    const passed = j.numPassedTests ?? 0;
    const failed = j.numFailedTests ?? 0;
    const skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    if (passed + failed === 0) return result(0, 0, skipped, "vitest ran no test");
    // A test file that fails to load fails its suite without failing a test.
    const problem =
      r.code !== 0 && failed === 0
        ? `vitest exited with status ${r.code} (${j.numFailedTestSuites ?? "?"} failed suites)`
        : undefined;
    return result(passed, failed, skipped, problem);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const only = parseArgs(process.argv.slice(2));
  const results = [];
  if (only.c) results.push(["C", await runCtest()]);
  if (only.ts) results.push(["TypeScript", await runVitest()]);

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const problems = [];
  for (const [name, r] of results) {
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    if (r.problem) problems.push(`${name}: ${r.problem}`);
  }
  // A runner that could not report counts as one failure, so the tally never
  // reads "0 failed" for a broken run.
  failed += problems.length;

  process.stdout.write("\n");
  for (const p of problems) process.stdout.write(`test/run.mjs: ${p}\n`);
  for (const [name, r] of results) {
    // Worded unlike the tally so that only the last line reads as the total.
    process.stdout.write(
      `${name} tests: passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped}\n`,
    );
  }
  const tally = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
  process.stdout.write(`${tally}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
