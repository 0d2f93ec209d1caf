#!/usr/bin/env node
// Codec benchmark: PacketFS wire bytes and speed against rsync, rsync -z and
// zstd --patch-from, on real version updates, novel data, random data and a
// resend, all measured in the same run on the same machine.
//
// For each case, PacketFS (build/pfs-codec-bench) is given every base in order
// ("sent earlier") and then the target; it is never told which base the target
// resembles. The reference tools are given the right old file. Wire bytes:
//   PacketFS        wire_bytes as the tool reports it for the target
//   rsync, rsync -z "Total bytes sent" + "Total bytes received" from --stats
//   zstd            size of the --patch-from output (the frame is the wire)
// Speeds are medians of --runs runs; PacketFS's wire bytes must be identical in
// every run (the codec is deterministic) and a difference is reported.
// Timings are compared as ratios within this run, never asserted.
//
// Usage: node bench/codec.mjs [--quick] [--runs N] [--cases a,b] [--tool PATH]
//                             [--data DIR] [--out DIR] [-- TOOL-ARGS...]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(BENCH_DIR);
const MB = 1e6; // MB/s here means 10^6 bytes per second; GB/s, 10^9.

// Each case names datasets by the pkg@ver that bench/datasets.sh was asked for
// (MANIFEST.tsv's "requested" column). `ref` is the old file the reference
// tools get: by default the last base (the one sent most recently).
const CASES = [
  { id: "typescript-patch", kind: "update", bases: ["typescript@5.6.2"], target: "typescript@5.6.3",
    about: "patch release, typescript 5.6.2 -> 5.6.3" },
  { id: "typescript-minor", kind: "update", bases: ["typescript@5.5.4"], target: "typescript@5.6.3",
    about: "minor release (more changed), typescript 5.5.4 -> 5.6.3" },
  { id: "react-dom", kind: "update", bases: ["react-dom@18.2.0"], target: "react-dom@18.3.1",
    about: "react-dom 18.2.0 -> 18.3.1" },
  { id: "lodash", kind: "update", bases: ["lodash@4.17.20"], target: "lodash@4.17.21",
    about: "lodash 4.17.20 -> 4.17.21" },
  { id: "babel-parser", kind: "update", bases: ["@babel/parser@7.25.0"], target: "@babel/parser@7.26.0",
    about: "@babel/parser 7.25.0 -> 7.26.0" },
  { id: "prettier", kind: "update", bases: ["prettier@3.3.2"], target: "prettier@3.3.3",
    about: "prettier 3.3.2 -> 3.3.3" },
  { id: "prettier-multi", kind: "update", bases: ["prettier@3.3.1", "prettier@3.3.2"], target: "prettier@3.3.3",
    about: "two earlier versions sent (3.3.1, 3.3.2), then 3.3.3; references get 3.3.2" },
  { id: "mixed-multi", kind: "update", bases: ["prettier@3.3.2", "react-dom@18.2.0", "lodash@4.17.20"],
    target: "prettier@3.3.3", ref: "prettier@3.3.2",
    about: "prettier 3.3.2, then unrelated react-dom and lodash sent, then prettier 3.3.3; references get prettier 3.3.2" },
  { id: "novel", kind: "novel", bases: [], target: "typescript@5.6.3",
    about: "compressible real data never seen before: typescript 5.6.3 alone" },
  { id: "random", kind: "random", bases: [], target: "random",
    about: "64 MiB from /dev/urandom, incompressible" },
  { id: "resend", kind: "redundant", bases: ["typescript@5.6.3"], target: "typescript@5.6.3",
    about: "typescript 5.6.3 sent again after it was sent once" },
];
const QUICK_CASES = ["lodash", "prettier-multi", "novel", "random", "resend"];

// Counters that must not change from run to run (speeds may).
const DETERMINISTIC = ["input_bytes", "wire_bytes", "pointer_bytes", "literal_bytes", "header_bytes",
  "base_bytes", "blocks", "pointers", "literal_raw_bytes", "roundtrip_ok"];
const SPEEDS = ["chunk_MBps", "encode_MBps", "decode_MBps", "zstd3_MBps"];

const HELP = `usage: node bench/codec.mjs [options] [-- extra pfs-codec-bench args]
  --quick        ${QUICK_CASES.join(", ")}; 1 run
  --runs N       runs per measurement (default 3; --quick: 1)
  --cases a,b    only these cases (${CASES.map((c) => c.id).join(", ")})
  --tool PATH    codec tool (default build/pfs-codec-bench)
  --data DIR     datasets (default bench/data, made by bench/datasets.sh)
  --out DIR      results directory (default bench/results)
Arguments after -- go to every pfs-codec-bench run (e.g. -- --log-size 1G).`;

function parseArgs(argv) {
  const o = { quick: false, runs: null, cases: null, extra: [],
    tool: path.join(REPO, "build/pfs-codec-bench"), toolGiven: false,
    data: path.join(BENCH_DIR, "data"), out: path.join(BENCH_DIR, "results") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--") { o.extra = argv.slice(i + 1); break; }
    else if (a === "--quick") o.quick = true;
    else if (a === "--runs") o.runs = Number(val());
    else if (a === "--cases") o.cases = val().split(",").filter(Boolean);
    else if (a === "--tool") { o.tool = path.resolve(val()); o.toolGiven = true; }
    else if (a === "--data") o.data = path.resolve(val());
    else if (a === "--out") o.out = path.resolve(val());
    else if (a === "-h" || a === "--help") { console.log(HELP); process.exit(0); }
    else die(`unknown argument '${a}'\n${HELP}`);
  }
  if (o.runs === null) o.runs = o.quick ? 1 : 3;
  if (!Number.isInteger(o.runs) || o.runs < 1) die("--runs must be a positive integer");
  const ids = o.cases ?? (o.quick ? QUICK_CASES : CASES.map((c) => c.id));
  for (const id of ids) if (!CASES.some((c) => c.id === id)) die(`unknown case '${id}'`);
  o.caseList = CASES.filter((c) => ids.includes(c.id));
  return o;
}

function die(msg) {
  console.error(`codec.mjs: ${msg}`);
  process.exit(1);
}

const log = (msg) => process.stderr.write(`${msg}\n`);

// --- running things ----------------------------------------------------------

function run(cmd, args, { allowFail = false } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, timeout: 30 * 60 * 1000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) {
    if (allowFail) return { ok: false, seconds, stdout: "", stderr: String(r.error), status: null };
    throw new Error(`${cmd}: ${r.error.message}`);
  }
  const ok = r.status === 0;
  if (!ok && !allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr.trim().slice(-2000)}`);
  }
  return { ok, seconds, stdout: r.stdout, stderr: r.stderr, status: r.status ?? r.signal };
}

function firstLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return ((r.stdout || "") + (r.stderr || "")).split("\n").find((l) => l.trim())?.trim() ?? null;
  } catch {
    return null;
  }
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sha256File = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

function sameFile(a, b) {
  return fs.statSync(a).size === fs.statSync(b).size && fs.readFileSync(a).equals(fs.readFileSync(b));
}

// --- machine -----------------------------------------------------------------

function machine() {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout || "";
  const field = (k) => lscpu.match(new RegExp(`^${k}:\\s*(.+)$`, "m"))?.[1]?.trim() ?? null;
  let osName = null;
  try {
    osName = fs.readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? null;
  } catch { /* not Linux */ }
  let memTotal = os.totalmem();
  return {
    cpu_model: field("Model name") ?? os.cpus()[0]?.model ?? null,
    cpus: Number(field("CPU\\(s\\)")) || os.cpus().length,
    threads_per_core: Number(field("Thread\\(s\\) per core")) || null,
    ram_bytes: memTotal,
    kernel: os.release(),
    os: osName,
    arch: os.arch(),
    hostname_hash: createHash("sha256").update(os.hostname()).digest("hex").slice(0, 8),
  };
}

function toolVersions(o) {
  let tool = { path: o.tool };
  try {
    const st = fs.statSync(o.tool);
    tool = { ...tool, bytes: st.size, mtime: st.mtime.toISOString(), sha256: sha256File(o.tool) };
  } catch { /* reported elsewhere */ }
  let git = null;
  const g = spawnSync("git", ["-C", REPO, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  if (g.status === 0) git = g.stdout.trim();
  return {
    zstd: firstLine("zstd", ["--version"])?.replace(/^\*+\s*|\s*\*+$/g, "") ?? null,
    rsync: firstLine("rsync", ["--version"])?.replace(/\s+/g, " ") ?? null,
    gcc: firstLine("gcc", ["--version"]),
    node: process.version,
    pfs_codec_bench: tool,
    git_head: git,
  };
}

// --- datasets ----------------------------------------------------------------

function loadManifest(dataDir) {
  const f = path.join(dataDir, "MANIFEST.tsv");
  if (!fs.existsSync(f)) die(`${path.relative(process.cwd(), f) || f} not found: run bench/datasets.sh`);
  const [head, ...rows] = fs.readFileSync(f, "utf8").trim().split("\n").map((l) => l.split("\t"));
  const col = Object.fromEntries(head.map((h, i) => [h, i]));
  const byRequested = new Map();
  for (const r of rows) {
    const e = { name: r[col.name], origin: r[col.origin], bytes: Number(r[col.bytes]),
      sha256: r[col.sha256], requested: r[col.requested] ?? r[col.name] };
    e.path = path.join(dataDir, e.name);
    byRequested.set(e.requested, e);
  }
  return byRequested;
}

function resolveDataset(manifest, spec) {
  const e = manifest.get(spec);
  if (!e) die(`dataset ${spec} is not in MANIFEST.tsv: run bench/datasets.sh`);
  if (!fs.existsSync(e.path)) die(`${e.path} missing: run bench/datasets.sh`);
  const size = fs.statSync(e.path).size;
  if (size !== e.bytes) die(`${e.path} is ${size} bytes, MANIFEST.tsv says ${e.bytes}: run bench/datasets.sh --force`);
  return e;
}

// --- PacketFS ------------------------------------------------------------------

function parseToolJson(stdout) {
  const s = stdout.trim();
  try {
    return JSON.parse(s);
  } catch { /* fall through: tolerate log lines around the object */ }
  const a = s.indexOf("{"), b = s.lastIndexOf("}");
  if (a >= 0 && b > a) return JSON.parse(s.slice(a, b + 1));
  throw new Error("no JSON object in output");
}

function runPacketFS(o, c) {
  const args = [...c.baseFiles.flatMap((b) => ["--base", b.path]), "--target", c.targetFile.path, ...o.extra, "--json"];
  const res = { command: [o.tool, ...args].map(shellQuote).join(" "), runs: [], error: null, warnings: [] };
  for (let i = 0; i < o.runs; i++) {
    const r = run(o.tool, args, { allowFail: true });
    if (!r.ok) {
      res.error = `exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" | ")}`;
      return res;
    }
    let j;
    try {
      j = parseToolJson(r.stdout);
    } catch (e) {
      res.error = `${e.message}: ${r.stdout.slice(0, 300)}`;
      return res;
    }
    res.runs.push({ ...j, process_seconds: r.seconds });
  }
  const first = res.runs[0];
  const detKeys = new Set([...DETERMINISTIC, ...Object.keys(first).filter((k) => k.endsWith("_bytes"))]);
  res.deterministic = true;
  for (const k of detKeys) {
    const vals = res.runs.map((r) => r[k]);
    if (vals.some((v) => v !== vals[0])) {
      res.deterministic = false;
      res.warnings.push(`${k} differs between runs: ${vals.join(", ")}`);
    }
  }
  res.figures = { ...first };
  const speedKeys = new Set([...SPEEDS, ...Object.keys(first).filter((k) => k.endsWith("_MBps"))]);
  for (const k of speedKeys) res.figures[k] = median(res.runs.map((r) => r[k]));
  res.figures.process_seconds = median(res.runs.map((r) => r.process_seconds));
  res.roundtrip_ok = res.runs.every((r) => r.roundtrip_ok === true);
  if (!res.roundtrip_ok) res.warnings.push("roundtrip_ok is not true in every run: decoded output differed");
  if (typeof first.input_bytes === "number" && first.input_bytes !== c.targetFile.bytes) {
    res.warnings.push(`input_bytes ${first.input_bytes} != target size ${c.targetFile.bytes}`);
  }
  if (typeof first.wire_bytes !== "number") res.error = "tool JSON has no numeric wire_bytes";
  return res;
}

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

// --- reference tools ---------------------------------------------------------

// zstd at `level`, with --patch-from the right old file when there is one.
// Times `runs` runs (median) and checks that the output decodes to the target.
function runZstd(o, c, tmp, level, runs, extraArgs = []) {
  const out = path.join(tmp, `z${level}.zst`);
  const ref = c.refFile ? [`--patch-from=${c.refFile.path}`, "--memory=2048MB"] : [];
  const args = [`-${level}`, ...extraArgs, ...ref, c.targetFile.path, "-o", out, "-f", "-q"];
  const seconds = [];
  for (let i = 0; i < runs; i++) seconds.push(run("zstd", args).seconds);
  const bytes = fs.statSync(out).size;
  const back = path.join(tmp, "zback");
  run("zstd", ["-d", ...ref, out, "-o", back, "-f", "-q"]);
  const verified = sameFile(back, c.targetFile.path);
  fs.rmSync(back);
  fs.rmSync(out);
  const s = median(seconds);
  return { command: ["zstd", ...args].map(shellQuote).join(" "), bytes, seconds, median_seconds: s,
    MBps: c.targetFile.bytes / s / MB, verified };
}

const statNum = (text, label) => {
  const m = text.match(new RegExp(`^${label}:\\s*([\\d,.]+)`, "m"));
  return m ? Number(m[1].replace(/,/g, "")) : null;
};

// rsync's delta algorithm over its local pipe: the old file sits at the
// destination under the target's name (or nothing does, without a base).
function runRsync(o, c, tmp, compress) {
  const name = path.basename(c.targetFile.path);
  const src = path.join(tmp, "rsrc"), dst = path.join(tmp, "rdst");
  fs.rmSync(src, { recursive: true, force: true });
  fs.rmSync(dst, { recursive: true, force: true });
  fs.mkdirSync(src);
  fs.mkdirSync(dst);
  fs.copyFileSync(c.targetFile.path, path.join(src, name));
  if (c.refFile) fs.copyFileSync(c.refFile.path, path.join(dst, name));
  const args = ["--no-whole-file", "--stats", "-I", ...(compress ? ["-z", "--debug=nstr2"] : []),
    path.join(src, name), dst + "/"];
  const r = run("rsync", args);
  const text = r.stdout + r.stderr;
  const sent = statNum(text, "Total bytes sent"), received = statNum(text, "Total bytes received");
  const verified = sameFile(path.join(src, name), path.join(dst, name));
  fs.rmSync(src, { recursive: true, force: true });
  fs.rmSync(dst, { recursive: true, force: true });
  if (sent === null || received === null) throw new Error(`rsync --stats not understood:\n${text}`);
  return {
    command: ["rsync", ...args].map(shellQuote).join(" ").replaceAll(tmp, "$TMP"),
    bytes: sent + received, sent, received,
    literal_data: statNum(text, "Literal data"), matched_data: statNum(text, "Matched data"),
    compressor: text.match(/negotiated compress: (.+)$/m)?.[1]?.trim() ?? (compress ? "unknown" : null),
    seconds: r.seconds, verified,
  };
}

// A reference tool that fails is reported, not fatal: the other figures stand.
function attempt(c, name, fn) {
  try {
    return fn();
  } catch (e) {
    log(`[${c.id}]   ${name} failed: ${e.message}`);
    return { error: e.message, bytes: null, verified: false };
  }
}

// --- one case ----------------------------------------------------------------

function runCase(o, c, manifest) {
  c.baseFiles = c.bases.map((b) => resolveDataset(manifest, b));
  c.targetFile = resolveDataset(manifest, c.target);
  const refSpec = c.ref ?? c.bases[c.bases.length - 1] ?? null;
  c.refFile = refSpec ? resolveDataset(manifest, refSpec) : null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `pfs-bench-${c.id}-`));
  // zstd refuses a file as both input and --patch-from reference (the resend
  // case): give it a copy of the old file.
  if (c.refFile && c.refFile.path === c.targetFile.path) {
    const copy = path.join(tmp, `ref-${c.refFile.name}`);
    fs.copyFileSync(c.refFile.path, copy);
    c.refFile = { ...c.refFile, path: copy };
  }
  const out = {
    id: c.id, kind: c.kind, about: c.about,
    bases: c.baseFiles.map(({ name, origin, bytes, sha256 }) => ({ name, origin, bytes, sha256 })),
    target: (({ name, origin, bytes, sha256 }) => ({ name, origin, bytes, sha256 }))(c.targetFile),
    reference_old_file: c.refFile?.name ?? null,
    input_bytes: c.targetFile.bytes,
  };
  try {
    log(`[${c.id}] PacketFS x${o.runs}`);
    out.pfs = runPacketFS(o, c);
    if (out.pfs.error) log(`[${c.id}]   PacketFS failed: ${out.pfs.error}`);
    for (const w of out.pfs.warnings) log(`[${c.id}]   WARNING: ${w}`);
    log(`[${c.id}] zstd -3${c.refFile ? " --patch-from" : ""} x${o.runs}, -19 x1`);
    out.zstd3_patch = attempt(c, "zstd -3", () => runZstd(o, c, tmp, 3, o.runs));
    out.zstd19_patch = attempt(c, "zstd -19", () => runZstd(o, c, tmp, 19, 1));
    log(`[${c.id}] zstd -3 -T1 (plain) x${o.runs}`);
    out.zstd3_plain = attempt(c, "zstd -3 -T1", () => runZstd(o, { ...c, refFile: null }, tmp, 3, o.runs, ["-T1"]));
    log(`[${c.id}] rsync, rsync -z`);
    out.rsync = attempt(c, "rsync", () => runRsync(o, c, tmp, false));
    out.rsync_z = attempt(c, "rsync -z", () => runRsync(o, c, tmp, true));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// --- goals -------------------------------------------------------------------

const pfsFig = (cs, k) => (cs?.pfs && !cs.pfs.error ? cs.pfs.figures[k] ?? null : null);

// Each goal: { goal, status: met | NOT MET | not measured, detail }.
function evaluateGoals(results) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const goals = [];
  const add = (goal, status, detail, failing) => goals.push({ goal, status, detail, ...(failing ? { failing } : {}) });
  const verdict = (ok) => (ok ? "met" : "NOT MET");

  const updates = results.filter((r) => r.kind === "update");
  const upd = updates.map((r) => ({ id: r.id, wire: pfsFig(r, "wire_bytes"), zstd: r.zstd3_patch?.bytes ?? null }));
  const measured = upd.filter((u) => u.wire !== null && u.zstd !== null);
  add("version updates: wire <= zstd -3 --patch-from on every pair",
    !updates.length || measured.length < upd.length ? "not measured" : verdict(measured.every((u) => u.wire <= u.zstd)),
    upd.map((u) => `${u.id}: ${fmtB(u.wire)} vs ${fmtB(u.zstd)}` +
      (u.wire !== null && u.zstd ? ` (PacketFS/zstd ${fmtX(u.wire / u.zstd)})` : "")).join("; ") || "no update case run",
    measured.filter((u) => u.wire > u.zstd).map((u) => `${u.id} ${fmtB(u.wire)} vs ${fmtB(u.zstd)}`).join("; "));

  const rnd = byId.random;
  const rw = pfsFig(rnd, "wire_bytes");
  add("random: wire <= 1.01 x input", rw === null ? "not measured" : verdict(rw <= 1.01 * rnd.input_bytes),
    rw === null ? "random case not run or failed" :
      `${fmtB(rw)} for ${fmtB(rnd.input_bytes)} = ${(rw / rnd.input_bytes).toFixed(4)} x input`);

  // Chunking speed hardly depends on content; measured on the largest input.
  const withChunk = results.filter((r) => pfsFig(r, "chunk_MBps") !== null)
    .sort((a, b) => b.input_bytes - a.input_bytes);
  const ch = withChunk[0];
  add("chunking >= 1.5 GB/s", ch ? verdict(pfsFig(ch, "chunk_MBps") >= 1500) : "not measured",
    ch ? `${fmtS(pfsFig(ch, "chunk_MBps"))} MB/s on ${ch.id} (largest input); ` +
      `all cases: ${withChunk.map((r) => `${r.id} ${fmtS(pfsFig(r, "chunk_MBps"))}`).join(", ")}`
      : "tool reports no chunk_MBps");

  const re = pfsFig(rnd, "encode_MBps");
  add("encode >= 800 MB/s on random", re === null ? "not measured" : verdict(re >= 800),
    re === null ? "random case not run or failed" : `${fmtS(re)} MB/s`);

  const nov = byId.novel;
  const ne = pfsFig(nov, "encode_MBps");
  const zin = pfsFig(nov, "zstd3_MBps"), zcli = nov?.zstd3_plain?.MBps ?? null;
  const zref = zin ?? zcli;
  add("encode >= 0.8 x zstd -3 speed on novel compressible data",
    ne === null || zref === null ? "not measured" : verdict(ne >= 0.8 * zref),
    ne === null ? "novel case not run or failed" :
      `encode ${fmtS(ne)} MB/s vs zstd -3 ${fmtS(zref)} MB/s (${zin !== null ? "in-process, from the tool" : "CLI -T1"})` +
      ` = ${(ne / zref).toFixed(2)} x` + (zin !== null && zcli !== null ? `; zstd -3 -T1 CLI: ${fmtS(zcli)} MB/s` : ""));

  const red = byId.resend;
  const rde = pfsFig(red, "encode_MBps");
  add("encode >= 1.5 GB/s on redundant data (resend)", rde === null ? "not measured" : verdict(rde >= 1500),
    rde === null ? "resend case not run or failed" : `${fmtS(rde)} MB/s`);

  const dec = results.filter((r) => pfsFig(r, "decode_MBps") !== null);
  const slow = dec.filter((r) => pfsFig(r, "decode_MBps") < 2000);
  add("decode >= 2 GB/s (every case)", dec.length ? verdict(!slow.length) : "not measured",
    dec.length ? `min ${fmtS(Math.min(...dec.map((r) => pfsFig(r, "decode_MBps"))))} MB/s` +
      (slow.length ? `; below 2 GB/s: ${slow.map((r) => `${r.id} ${fmtS(pfsFig(r, "decode_MBps"))}`).join(", ")}` : "")
      : "no decode figures");
  return goals;
}

// --- report ------------------------------------------------------------------

const fmtB = (n) => (n === null || n === undefined ? "—" : n.toLocaleString("en-US"));
const fmtS = (x) => (x === null || x === undefined ? "—" : x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const fmtP = (b, input) => (b === null || b === undefined ? "—" : `${((100 * b) / input).toPrecision(3)} %`);
const fmtX = (r) => (r > 0.99 && r < 1.01 ? `${r.toFixed(4)} x` : `${r.toFixed(r < 10 ? 2 : 1)} x`);

function wireRows(r) {
  const np = r.reference_old_file ? " --patch-from" : " (no base)";
  return [
    ["PacketFS", r.pfs && !r.pfs.error ? r.pfs.figures.wire_bytes : null],
    ["rsync", r.rsync?.bytes ?? null],
    [`rsync -z${r.rsync_z?.compressor ? ` (${r.rsync_z.compressor})` : ""}`, r.rsync_z?.bytes ?? null],
    [`zstd -3${np}`, r.zstd3_patch?.bytes ?? null],
    [`zstd -19${np}`, r.zstd19_patch?.bytes ?? null],
  ];
}

function renderMarkdown(doc) {
  const L = [];
  const m = doc.machine, t = doc.tools;
  L.push("# PacketFS codec benchmark", "");
  L.push(`Generated by \`node bench/codec.mjs ${doc.options.argv.join(" ")}\` on ${doc.date}. ` +
    "Every figure below comes from this run; raw figures are in `codec.json`.", "");
  L.push("## Machine", "");
  L.push(`- CPU: ${m.cpu_model}, ${m.cpus} logical CPUs (${m.threads_per_core ?? "?"} thread(s) per core)`);
  L.push(`- RAM: ${(m.ram_bytes / 2 ** 30).toFixed(1)} GiB; kernel ${m.kernel}; ${m.os}`);
  L.push(`- Load average at start / end: ${doc.loadavg.start.map((x) => x.toFixed(2)).join(" ")} / ` +
    `${doc.loadavg.end.map((x) => x.toFixed(2)).join(" ")} (other work on the machine skews speeds)`);
  L.push(`- Tools: ${t.zstd}; ${t.rsync}; ${t.gcc}; node ${t.node}`);
  const pt = t.pfs_codec_bench;
  const rel = path.relative(REPO, pt.path);
  L.push(`- pfs-codec-bench: \`${rel.startsWith("..") ? pt.path : rel}\`` +
    (pt.sha256 ? ` (sha256 ${pt.sha256.slice(0, 16)}…, built ${pt.mtime})` : "") +
    (t.git_head ? `, repository at ${t.git_head}` : ", repository has no commit yet") +
    (doc.options.extra.length ? `, extra args \`${doc.options.extra.join(" ")}\`` : ""));
  L.push(`- Runs per measurement: ${doc.options.runs} (speeds are medians; MB = 10^6 bytes)`, "");

  L.push("## Datasets", "");
  L.push("Made by `bench/datasets.sh` (uncompressed tars of published npm packages).", "");
  L.push("| file | origin | bytes | sha256 |", "| --- | --- | ---: | --- |");
  const seen = new Set();
  for (const r of doc.cases) {
    for (const d of [...r.bases, r.target]) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      L.push(`| ${d.name} | ${d.origin} | ${fmtB(d.bytes)} | ${d.sha256.slice(0, 16)}… |`);
    }
  }
  L.push("");

  L.push("## Wire bytes per case", "");
  L.push("PacketFS is given every base in order and then the target, and finds what it can point at by " +
    "itself. rsync and zstd are given the right old file. Smallest wire marked ★. % = wire / input.", "");
  for (const r of doc.cases) {
    L.push(`### ${r.id}: ${r.about}`, "");
    L.push(`Input: ${r.target.name}, ${fmtB(r.input_bytes)} bytes. ` +
      (r.bases.length ? `Sent before (PacketFS): ${r.bases.map((b) => b.name).join(", ")}. ` +
        `Old file given to rsync/zstd: ${r.reference_old_file}.` : "No base: nothing sent before."), "");
    const rows = wireRows(r);
    const vals = rows.map(([, b]) => b).filter((b) => b !== null);
    const best = vals.length ? Math.min(...vals) : null;
    L.push("| tool | wire bytes | % of input |", "| --- | ---: | ---: |");
    for (const [name, b] of rows) {
      const mark = b !== null && b === best ? " ★" : "";
      const cell = b === null ? "—" : `${mark ? "**" : ""}${fmtB(b)}${mark ? "**" : ""}${mark}`;
      L.push(`| ${name} | ${cell} | ${fmtP(b, r.input_bytes)} |`);
    }
    L.push("");
    if (r.pfs?.error) L.push(`**PacketFS failed:** ${r.pfs.error}`, "");
    else if (r.pfs) {
      const f = r.pfs.figures;
      const parts = ["pointer_bytes", "literal_bytes", "header_bytes", "literal_raw_bytes", "pointers", "blocks"]
        .filter((k) => typeof f[k] === "number").map((k) => `${k} ${fmtB(f[k])}`);
      if (parts.length) L.push(`PacketFS breakdown: ${parts.join(", ")}; roundtrip_ok ${r.pfs.roundtrip_ok}.`, "");
      for (const w of r.pfs.warnings) L.push(`**Warning:** ${w}`, "");
    }
    for (const [k, name] of [["rsync", "rsync"], ["rsync_z", "rsync -z"], ["zstd3_patch", "zstd -3"],
      ["zstd19_patch", "zstd -19"], ["zstd3_plain", "zstd -3 -T1"]]) {
      if (r[k]?.error) L.push(`**${name} failed:** ${r[k].error.split("\n")[0]}`, "");
      else if (r[k] && !r[k].verified) L.push(`**${name} output did not reproduce the input.**`, "");
    }
    const rs = r.rsync, rz = r.rsync_z;
    if (rs && !rs.error) {
      L.push(`rsync: literal ${fmtB(rs.literal_data)}, matched ${fmtB(rs.matched_data)}, ` +
        `sent ${fmtB(rs.sent)} + received ${fmtB(rs.received)}; -z: sent ${fmtB(rz?.sent)} + received ${fmtB(rz?.received)}.`, "");
    }
  }

  L.push("## Speed", "");
  L.push("PacketFS figures are the tool's own (in-process, single core), medians of the runs. " +
    "zstd -3 (tool) is the tool's in-process zstd -3 on the same input; the CLI columns are wall time of " +
    "the zstd process (start-up and file I/O included).", "");
  L.push("| case | input MB | chunk MB/s | encode MB/s | decode MB/s | zstd -3 (tool) MB/s | zstd -3 -T1 CLI MB/s | zstd -3 patch CLI MB/s | encode / zstd -3 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of doc.cases) {
    const e = pfsFig(r, "encode_MBps"), zin = pfsFig(r, "zstd3_MBps"), zcli = r.zstd3_plain?.MBps ?? null;
    const zr = zin ?? zcli;
    L.push(`| ${r.id} | ${(r.input_bytes / MB).toFixed(1)} | ${fmtS(pfsFig(r, "chunk_MBps"))} | ${fmtS(e)} | ` +
      `${fmtS(pfsFig(r, "decode_MBps"))} | ${fmtS(zin)} | ${fmtS(zcli)} | ` +
      `${r.reference_old_file ? fmtS(r.zstd3_patch?.MBps) : "—"} | ${e !== null && zr ? (e / zr).toFixed(2) : "—"} |`);
  }
  L.push("");

  L.push("## Goals", "");
  L.push("| goal | status | figures |", "| --- | --- | --- |");
  for (const g of doc.goals) L.push(`| ${g.goal} | ${g.status === "met" ? "met" : `**${g.status}**`} | ${g.detail} |`);
  L.push("");

  L.push("## Where PacketFS loses", "");
  const losses = [];
  for (const r of doc.cases) {
    if (r.pfs?.error) { losses.push(`- ${r.id}: PacketFS failed (${r.pfs.error}).`); continue; }
    const w = pfsFig(r, "wire_bytes");
    if (w === null) continue;
    const beat = wireRows(r).slice(1).filter(([, b]) => b !== null && b < w);
    if (beat.length) {
      losses.push(`- ${r.id}: PacketFS sends ${fmtB(w)} bytes; smaller: ` +
        beat.map(([n, b]) => `${n} ${fmtB(b)} (PacketFS ${fmtX(w / b)} larger)`).join(", ") + ".");
    }
    if (!r.pfs.roundtrip_ok) losses.push(`- ${r.id}: decode did not reproduce the input.`);
    if (!r.pfs.deterministic) losses.push(`- ${r.id}: wire bytes differ between runs (${r.pfs.warnings.join("; ")}).`);
  }
  for (const g of doc.goals) {
    if (g.status === "NOT MET") losses.push(`- Goal not met: ${g.goal} — ${g.failing ? `fails on ${g.failing}` : g.detail}.`);
  }
  L.push(...(losses.length ? losses : ["Nowhere in this run: PacketFS sent the fewest bytes in every case and met every measured goal."]));
  const unmeasured = doc.goals.filter((g) => g.status === "not measured");
  if (unmeasured.length) L.push("", `Not measured in this run: ${unmeasured.map((g) => g.goal).join("; ")}.`);
  L.push("");
  return L.join("\n");
}

// --- main --------------------------------------------------------------------

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.tool)) {
    const shown = o.toolGiven ? o.tool : "build/pfs-codec-bench";
    die(`${shown} not found: run npm install`);
  }
  try {
    fs.accessSync(o.tool, fs.constants.X_OK);
  } catch {
    die(`${o.tool} is not executable`);
  }
  for (const [cmd, args] of [["zstd", ["--version"]], ["rsync", ["--version"]]]) {
    if (spawnSync(cmd, args).error) die(`${cmd} not found: apt-get install ${cmd}`);
  }
  const manifest = loadManifest(o.data);
  const loadStart = os.loadavg();
  const date = new Date().toISOString();
  const results = [];
  for (const c of o.caseList) {
    try {
      results.push(runCase(o, c, manifest));
    } catch (e) {
      die(`case ${c.id}: ${e.message}`);
    }
  }
  const doc = {
    schema: 1, date,
    options: { argv: process.argv.slice(2), runs: o.runs, quick: o.quick, extra: o.extra,
      cases: o.caseList.map((c) => c.id) },
    machine: machine(), tools: toolVersions(o),
    loadavg: { start: loadStart, end: os.loadavg() },
    cases: results,
  };
  doc.goals = evaluateGoals(results);
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, "codec.json"), JSON.stringify(doc, null, 2) + "\n");
  const md = renderMarkdown(doc);
  fs.writeFileSync(path.join(o.out, "codec.md"), md);
  console.log(md);
  log(`wrote ${path.join(o.out, "codec.json")} and codec.md`);
  // Speeds and sizes are reported, never asserted; a broken round trip or a
  // tool that failed is an error.
  const broken = results.filter((r) => r.pfs?.error || !r.pfs?.roundtrip_ok);
  if (broken.length) {
    log(`codec.mjs: PacketFS failed or did not round-trip on: ${broken.map((r) => r.id).join(", ")}`);
    process.exitCode = 1;
  }
}

main();
