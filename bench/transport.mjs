#!/usr/bin/env node
// Transport benchmark: pfs-transfer-bench (two session engines in two
// processes, UDP on loopback, the received file written to /dev/shm, checked
// and renamed into place) against a plain TCP copy (socat, 1 MiB buffers) of the
// same 1 GiB random file into /dev/shm, in the same run, on the same machine.
// Writes bench/results/transport.{json,md}.
// Usage: node bench/transport.mjs [--quick] [--tool PATH] [--out DIR]
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes("--quick");
// --render-only: rewrite transport.md from transport.json (no runs)
const renderOnly = args.includes("--render-only");
const tool = path.resolve(opt("--tool", path.join(root, "build/pfs-transfer-bench")));
const outDir = path.resolve(opt("--out", path.join(root, "bench/results")));
const data = path.join(root, "bench/data");
const runs = quick ? 1 : 3;

if (!existsSync(tool)) {
  console.error(`${tool} not found: run npm install (it builds the C tools)`);
  process.exit(1);
}
// 1 GiB of random bytes in memory-backed /dev/shm, so that disk speed is not measured
const random = "/dev/shm/pfs-bench-random-1G.bin";
let SIZE = quick ? 256 << 20 : 1 << 30;
if (!renderOnly) {
  execFileSync("sh", ["-c", `head -c ${SIZE} /dev/urandom > ${random}`]);
  process.on("exit", () => rmSync(random, { force: true }));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function pfs(extra) {
  const res = [];
  for (let i = 0; i < runs; i++) {
    // logs of 512 MiB unless a case needs more (a resend must find the whole file)
    const log = extra.includes("--log-size") ? [] : ["--log-size", String(512 << 20)];
    const out = execFileSync(tool, ["--target", random, ...log, "--json", ...extra], {
      encoding: "utf8",
      timeout: 600_000,
    });
    res.push(JSON.parse(out));
  }
  return {
    args: extra.join(" "),
    goodput_MBps: median(res.map((r) => r.goodput_MBps)),
    seconds: median(res.map((r) => r.seconds)),
    wire_bytes: res[0].wire_bytes,
    retransmitted_bytes: median(res.map((r) => r.retransmitted_bytes)),
    verified: res.every((r) => r.verified && r.completed),
    runs: res,
  };
}

async function tcpOnce(file, dest) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const sink = spawn("socat", ["-u", "-b", "1048576", `TCP-LISTEN:${port},reuseaddr`, `OPEN:${dest},creat,trunc`]);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = process.hrtime.bigint();
  execFileSync("socat", ["-u", "-b", "1048576", `OPEN:${file}`, `TCP:127.0.0.1:${port}`]);
  await new Promise((r) => sink.on("exit", r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (dest !== "/dev/null") rmSync(dest, { force: true });
  return secs;
}

async function tcp(file, dest) {
  const bytes = statSync(file).size;
  const secs = [];
  for (let i = 0; i < runs; i++) secs.push(await tcpOnce(file, dest));
  const s = median(secs);
  return { seconds: s, goodput_MBps: bytes / s / 1e6 };
}

const cases = [
  ["bbr, no loss", ["--cc", "bbr"]],
  ["cubic, no loss", ["--cc", "cubic"]],
  ["bbr, 1% loss", ["--cc", "bbr", "--loss", "0.01"]],
  ["bbr, 5% loss", ["--cc", "bbr", "--loss", "0.05"]],
  ["bbr, 10% loss", ["--cc", "bbr", "--loss", "0.10"]],
  ["cubic, 1% loss", ["--cc", "cubic", "--loss", "0.01"]],
  ["bbr, resend (base = target)", ["--cc", "bbr", "--base", random, "--log-size", String(2 * SIZE)]],
  ["bbr, no loss, mem backend (one process, no kernel)", ["--cc", "bbr", "--backend", "mem"]],
];
let results = [];
let tcpRes, tcpNull, machine;
if (renderOnly) {
  const j = JSON.parse(readFileSync(path.join(outDir, "transport.json"), "utf8"));
  ({ machine, tcp: tcpRes, tcp_to_dev_null: tcpNull, results } = j);
  SIZE = j.bytes;
} else {
  tcpRes = await tcp(random, "/dev/shm/pfs-bench-tcp-out.bin");
  tcpNull = await tcp(random, "/dev/null");
  for (const [name, extra] of quick ? cases.filter((c, i) => i < 3) : cases) {
    process.stderr.write(`[transport] ${name}\n`);
    results.push({ name, ...pfs(extra) });
  }
  machine = {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    ram_GiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    date: new Date().toISOString(),
    load: os.loadavg(),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, "transport.json"),
    JSON.stringify({ machine, bytes: SIZE, tcp: tcpRes, tcp_to_dev_null: tcpNull, results }, null, 2),
  );
}

const base = results.find((r) => r.name === "bbr, no loss") ?? results[0];
const L = [];
L.push("# PacketFS transport benchmark (loopback)");
L.push("");
L.push(`Generated by \`node bench/transport.mjs${quick ? " --quick" : ""}\` on ${machine.date}; raw figures in \`transport.json\`.`);
L.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ram_GiB} GiB, kernel ${machine.kernel}; load at end ${machine.load.map((x) => x.toFixed(2)).join(" ")}.`);
L.push("");
L.push("Both ends run on this machine: `pfs-transfer-bench` forks a receiver, the two session engines talk UDP over");
L.push("127.0.0.1 (kernel UDP backend, recvmmsg/sendmmsg with UDP GSO/GRO), 1472-byte packets, AEAD on every packet;");
L.push("the receiver writes the file under a temporary name in /dev/shm, checks its XXH3-128 digest, syncs and renames it,");
L.push("and the benchmark then compares it with the source byte for byte (`verified`).");
L.push(`Loss is injected on each receiving side by the seeded fault layer. The file is ${SIZE / 2 ** 20} MiB of random bytes`);
L.push(`(nothing for pointers to find, except in the resend case), medians of ${runs} run(s). The TCP reference is a socat`);
L.push("copy with 1 MiB buffers over the same loopback into a file in /dev/shm, same run; the same copy into /dev/null");
L.push(`ran at ${tcpNull.goodput_MBps.toFixed(0)} MB/s.`);
L.push("");
L.push("| case | goodput MB/s | vs TCP | vs own loss-free | seconds | wire bytes | resent bytes | verified |");
L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
L.push(`| TCP copy (socat -b 1 MiB) into /dev/shm | ${tcpRes.goodput_MBps.toFixed(0)} | 1.00 | — | ${tcpRes.seconds.toFixed(3)} | — | — | — |`);
for (const r of results) {
  const own = /^bbr, (no loss$|\d+% loss)/.test(r.name) ? (r.goodput_MBps / base.goodput_MBps).toFixed(2) : "—";
  L.push(`| PacketFS ${r.name} | ${r.goodput_MBps.toFixed(0)} | ${(r.goodput_MBps / tcpRes.goodput_MBps).toFixed(2)} | ${own} | ${r.seconds.toFixed(3)} | ${r.wire_bytes.toLocaleString("en-US")} | ${r.retransmitted_bytes.toLocaleString("en-US")} | ${r.verified} |`);
}
L.push("");
L.push("## What this says");
L.push("");
const cubic = results.find((r) => r.name === "cubic, no loss");
const pct = (r) => ((r.goodput_MBps / tcpRes.goodput_MBps) * 100).toFixed(0);
L.push(`- Loss-free, PacketFS reaches ${pct(base)} % of the TCP copy's goodput with BBR${cubic ? ` and ${pct(cubic)} % with CUBIC` : ""} (goal: 80 %): **not met**.`);
L.push("  Both processes are CPU-bound for the whole transfer (user + system time is about twice the wall time).");
L.push("  Per byte, the sender chunks, fingerprints and indexes the data (the encoder alone runs random data at");
L.push("  ~1.4 GB/s on one core, bench/results/codec.md), seals 1.4 KB packets with AES-256-GCM and copies each byte");
L.push("  twice; the receiver opens every packet, reassembles and decodes blocks, and writes the file — the write alone");
L.push("  (page allocation and copy into /dev/shm) is the largest single cost in its profile, as it is for socat.");
L.push("  TCP moves 64 KB segments through the kernel with no per-packet crypto and no encoding. With two cores shared");
L.push("  by sender and receiver there is no spare core to pipeline the encoder; 80 % of this TCP figure would need");
L.push("  the sender's per-byte cost below what its encoder alone costs today.");
const l1 = results.find((r) => r.name === "bbr, 1% loss");
if (l1) L.push(`- At 1 % loss BBR keeps ${((l1.goodput_MBps / base.goodput_MBps) * 100).toFixed(0)} % of its loss-free goodput (goal: 90 %).`);
const rs = results.find((r) => r.name.includes("resend"));
if (rs) {
  const runs_ = rs.runs.map((r) => r.goodput_MBps.toFixed(0)).join(", ");
  L.push(
    `- Redundant data: sending the same ${SIZE / 2 ** 20} MiB again costs ${rs.wire_bytes.toLocaleString("en-US")} wire bytes instead of ${results[0].wire_bytes.toLocaleString("en-US")},`,
  );
  L.push(
    `  and runs at ${rs.goodput_MBps.toFixed(0)} MB/s (runs: ${runs_}) — ${(rs.goodput_MBps / tcpRes.goodput_MBps).toFixed(2)}× the TCP copy over loopback, which is a`,
  );
  L.push("  memory-speed link. The goal \"delivered at codec speed, far above TCP\" is **not met here**: the receiver");
  L.push("  still writes every byte of the file (from its log into the new file, then reads it back for the digest),");
  L.push("  which the codec alone does not do (bench/results/codec.md: ~10 GB/s on redundant input). On a real link,");
  L.push(`  sending ${rs.wire_bytes.toLocaleString("en-US")} bytes instead of the file is what decides: PacketFS is faster than a`);
  L.push(`  plain copy whenever the link is slower than ~${Math.round((rs.goodput_MBps * 8) / 1000)} Gbit/s.`);
}
writeFileSync(path.join(outDir, "transport.md"), L.join("\n") + "\n");
console.log(L.join("\n"));
