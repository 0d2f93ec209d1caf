#!/usr/bin/env node
// AF_XDP benchmark: one veth pair between two network namespaces made for the
// run, and on it, in the same run, pfs-transfer-bench with both ends on AF_XDP
// in native mode, on AF_XDP in generic mode, and on the kernel UDP backend,
// against a plain TCP copy (socat, 1 MiB buffers) of the same 1 GiB random file:
//
//   namespace xb<pid>a                              namespace xb<pid>b
//   sender (pfs-transfer-bench / socat)             receiver (its child / socat)
//   xb<pid>a0 198.18.20.1/24 ------ veth, 1 queue ------ xb<pid>b0 198.18.20.2/24
//
// Every case runs 3 times, interleaved (native, generic, udp, tcp, native, ...),
// so that a slow minute of this shared machine hits all cases alike; medians
// are reported and every run is kept. Writes bench/results/xdp.{json,md}.
// Usage: node bench/xdp.mjs [--quick] [--tool PATH] [--out DIR] [--render-only]
//   --quick        256 MiB and 1 run: a smoke test of the script
//   --render-only  rewrite xdp.md from xdp.json (no runs, no root needed)
// Needs root (namespaces, XDP), iproute2, socat and /usr/bin/time. The
// namespaces, the files and any XDP program are removed on every exit path.
import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes("--quick");
const renderOnly = args.includes("--render-only");
const tool = path.resolve(
  opt("--tool", process.env.PFS_TRANSFER_BENCH ?? path.join(root, "build/pfs-transfer-bench")),
);
const outDir = path.resolve(opt("--out", path.join(root, "bench/results")));
const RUNS = quick ? 1 : 3;
const SIZE = quick ? 256 << 20 : 1 << 30;
const TCP_BUFFER = 1048576; // socat -b: always state the buffer (FIELD-NOTES)
const TCP_PORT = 5001;
const RUN_TIMEOUT_MS = 600_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- what this process made, removed on every exit path ----------------------

const P = `xb${process.pid}`; // interface names ≤ 15 bytes: xb + pid (≤ 7) + a0
const topo = {
  nsA: `${P}a`,
  nsB: `${P}b`,
  ifA: `${P}a0`,
  ifB: `${P}b0`,
  ipA: "198.18.20.1",
  ipB: "198.18.20.2",
};
const made = { ns: [], files: [], groups: new Set() }; // groups: pids leading a process group

const quiet = (cmd, argv) => {
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
};
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// XDP programs a killed data plane left on our interfaces: detach them and
// unpin libxdp's dispatcher (pinned as dispatch-IFINDEX-PROGID; the prog id is
// global, so this matches only ours).
function detachLeftovers(ns) {
  const links = quiet("ip", ["-n", ns, "-d", "-o", "link", "show"]);
  for (const line of links.split("\n")) {
    const dev = line.match(/^\d+: ([^:@]+)/)?.[1];
    const id = line.match(/prog\/xdp id (\d+)/)?.[1];
    if (!dev || !id) continue;
    quiet("ip", ["-n", ns, "link", "set", "dev", dev, "xdpgeneric", "off"]);
    quiet("ip", ["-n", ns, "link", "set", "dev", dev, "xdpdrv", "off"]);
    const pins = "/sys/fs/bpf/xdp";
    for (const d of existsSync(pins) ? readdirSync(pins) : [])
      if (d.startsWith("dispatch-") && d.endsWith(`-${id}`))
        rmSync(path.join(pins, d), { recursive: true, force: true });
  }
}

function cleanup() {
  if (made.groups.size) {
    // SIGTERM lets a data plane detach its program; SIGKILL what is left
    for (const g of made.groups)
      try {
        process.kill(-g, "SIGTERM");
      } catch {}
    sleepSync(1000);
    for (const g of made.groups)
      try {
        process.kill(-g, "SIGKILL");
      } catch {}
    made.groups.clear();
  }
  for (const ns of made.ns) {
    detachLeftovers(ns);
    // the data plane's lock files are named after the namespace's inode
    try {
      const ino = statSync(`/run/netns/${ns}`).ino;
      for (const f of existsSync("/run/packetfs") ? readdirSync("/run/packetfs") : [])
        if (f.startsWith(`xdp-${ino}-`)) rmSync(path.join("/run/packetfs", f), { force: true });
    } catch {}
    quiet("ip", ["netns", "del", ns]);
  }
  made.ns = [];
  for (const f of made.files) rmSync(f, { recursive: true, force: true });
  made.files = [];
}

// --- processes ---------------------------------------------------------------

// Runs argv in a process group of its own (so that cleanup reaches a
// receiver the benchmark forked); resolves {code, signal, out, err}.
function run(argv, timeoutMs = RUN_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.on("error", reject);
    if (child.pid) made.groups.add(child.pid);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs / 1000} s)`;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      made.groups.delete(child.pid);
      resolve({ code, signal, out, err });
    });
  });
}

function must(r, what) {
  if (r.code !== 0)
    throw new Error(`${what} failed (${r.signal ?? `exit ${r.code}`}): ${r.err.trim()}`);
  return r;
}

function ipSync(...argv) {
  execFileSync("ip", argv, { stdio: ["ignore", "ignore", "pipe"] });
}

function makePair() {
  for (const ns of [topo.nsA, topo.nsB]) {
    ipSync("netns", "add", ns);
    made.ns.push(ns);
    ipSync("-n", ns, "link", "set", "lo", "up");
  }
  ipSync(
    "-n",
    topo.nsA,
    "link",
    "add",
    topo.ifA,
    "numtxqueues",
    "1",
    "numrxqueues",
    "1",
    "type",
    "veth",
    "peer",
    "name",
    topo.ifB,
    "netns",
    topo.nsB,
    "numtxqueues",
    "1",
    "numrxqueues",
    "1",
  );
  ipSync("-n", topo.nsA, "addr", "add", `${topo.ipA}/24`, "dev", topo.ifA);
  ipSync("-n", topo.nsB, "addr", "add", `${topo.ipB}/24`, "dev", topo.ifB);
  ipSync("-n", topo.nsA, "link", "set", topo.ifA, "up");
  ipSync("-n", topo.nsB, "link", "set", topo.ifB, "up");
}

// --- the cases -----------------------------------------------------------------

const CASES = [
  { name: "xdp native", kind: "pfs", args: ["--backend", "xdp", "--xdp-mode", "native"] },
  { name: "xdp generic", kind: "pfs", args: ["--backend", "xdp", "--xdp-mode", "generic"] },
  { name: "udp", kind: "pfs", args: ["--backend", "udp"] },
  { name: `tcp (socat -b ${TCP_BUFFER})`, kind: "tcp", args: [] },
];

async function pfsOnce(file, extra) {
  // a receive root of ours: a benchmark that dies leaves its own behind
  const rx = `/dev/shm/pfs-bench-xdp-${process.pid}-rx`;
  made.files.push(rx);
  mkdirSync(rx, { recursive: true });
  const argv = [
    tool,
    "--target",
    file,
    "--netns",
    `${topo.nsA},${topo.nsB}`,
    "--addr",
    `${topo.ipA},${topo.ipB}`,
    "--receive-root",
    rx,
    "--log-size",
    String(512 << 20),
    "--time-limit",
    "300",
    ...extra,
  ];
  const r = await run(argv);
  rmSync(rx, { recursive: true, force: true });
  let j;
  try {
    j = JSON.parse(r.out);
  } catch {
    throw new Error(
      `pfs-transfer-bench ${extra.join(" ")} printed no result (exit ${r.code}): ${r.err.trim()}`,
    );
  }
  const side = (s) => ({
    cpu_s: s.cpu_s,
    frames_per_cpu_s: s.frames_per_cpu_s,
    tx_frames: s.tx_frames,
    rx_frames: s.rx_frames,
    tx_dropped: s.tx_dropped,
    rx_dropped: s.rx_dropped,
    ...(s.xdp_mode !== undefined
      ? { xdp_mode: s.xdp_mode, zero_copy: s.zero_copy, umem: s.umem }
      : {}),
  });
  return {
    exit: r.code,
    verified: j.verified === true && j.completed === true && r.code === 0,
    goodput_MBps: j.goodput_MBps,
    seconds: j.seconds,
    packets_per_s: j.packets_per_s,
    packets_sent: j.packets_sent,
    retransmitted_bytes: j.retransmitted_bytes,
    sender: side(j.sender),
    receiver: side(j.receiver),
  };
}

// "%U %S" of /usr/bin/time, the last line of stderr
const cpuOf = (err) => {
  const m = err
    .trim()
    .split("\n")
    .pop()
    .match(/^([\d.]+) ([\d.]+)$/);
  return m ? +m[1] + +m[2] : null;
};

async function tcpOnce(file) {
  const dest = `/dev/shm/pfs-bench-xdp-${process.pid}-tcp.bin`;
  made.files.push(dest);
  const timed = (ns, ...argv) => [
    "ip",
    "netns",
    "exec",
    ns,
    "/usr/bin/time",
    "-f",
    "%U %S",
    ...argv,
  ];
  const listener = run(
    timed(
      topo.nsB,
      "socat",
      "-u",
      "-b",
      String(TCP_BUFFER),
      `TCP-LISTEN:${TCP_PORT},reuseaddr`,
      `OPEN:${dest},creat,trunc`,
    ),
  );
  for (let i = 0; i < 50; i++) {
    if (quiet("ip", ["netns", "exec", topo.nsB, "ss", "-Hltn", `sport = :${TCP_PORT}`]).trim())
      break;
    await sleep(100);
  }
  const t0 = process.hrtime.bigint();
  const snd = must(
    await run(
      timed(
        topo.nsA,
        "socat",
        "-u",
        "-b",
        String(TCP_BUFFER),
        `OPEN:${file}`,
        `TCP:${topo.ipB}:${TCP_PORT}`,
      ),
    ),
    "the TCP sender",
  );
  const rcv = must(await listener, "the TCP receiver");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let verified = true;
  try {
    execFileSync("cmp", ["-s", file, dest]);
  } catch {
    verified = false;
  }
  rmSync(dest, { force: true });
  return {
    verified,
    goodput_MBps: +(SIZE / seconds / 1e6).toFixed(1),
    seconds: +seconds.toFixed(4),
    sender: { cpu_s: cpuOf(snd.err) },
    receiver: { cpu_s: cpuOf(rcv.err) },
  };
}

function summarize(c, runs) {
  const med = (f) => {
    const xs = runs.map(f).filter((x) => typeof x === "number");
    return xs.length ? median(xs) : null;
  };
  const sideMed = (s) => ({
    cpu_s: med((r) => r[s].cpu_s),
    frames_per_cpu_s: med((r) => r[s].frames_per_cpu_s),
    dropped: runs.reduce((n, r) => n + (r[s].tx_dropped ?? 0) + (r[s].rx_dropped ?? 0), 0),
  });
  return {
    name: c.name,
    kind: c.kind,
    args: c.args.join(" "),
    verified: runs.every((r) => r.verified),
    goodput_MBps: med((r) => r.goodput_MBps),
    seconds: med((r) => r.seconds),
    packets_per_s: med((r) => r.packets_per_s),
    retransmitted_bytes: med((r) => r.retransmitted_bytes),
    sender: sideMed("sender"),
    receiver: sideMed("receiver"),
    xdp_modes: [
      ...new Set(
        runs
          .flatMap((r) => [r.sender.xdp_mode, r.receiver.xdp_mode])
          .filter((m) => m !== undefined),
      ),
    ],
    zero_copy: runs.some((r) => r.sender.zero_copy || r.receiver.zero_copy),
    runs,
  };
}

async function measure() {
  if (!existsSync(tool))
    throw new Error(`${tool} not found: build it (cmake --build build) or give --tool`);
  if (process.getuid?.() !== 0)
    throw new Error("needs root: it makes network namespaces and attaches XDP programs");
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
    process.on(sig, () => {
      process.stderr.write(`[xdp] ${sig}: cleaning up\n`);
      process.exit(128 + os.constants.signals[sig]); // 'exit' runs cleanup
    });
  process.on("exit", cleanup);
  const loadStart = os.loadavg();
  makePair();
  const file = `/dev/shm/pfs-bench-xdp-${process.pid}-random.bin`;
  made.files.push(file);
  must(await run(["sh", "-c", `head -c ${SIZE} /dev/urandom > ${file}`]), "making the random file");
  const runs = CASES.map(() => []);
  for (let i = 0; i < RUNS; i++)
    for (const [k, c] of CASES.entries()) {
      process.stderr.write(`[xdp] run ${i + 1}/${RUNS}: ${c.name}\n`);
      const r = c.kind === "tcp" ? await tcpOnce(file) : await pfsOnce(file, c.args);
      process.stderr.write(`[xdp]   ${r.goodput_MBps} MB/s${r.verified ? "" : " NOT VERIFIED"}\n`);
      runs[k].push(r);
    }
  const machine = {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    ram_GiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    date: new Date().toISOString(),
    load_start: loadStart,
    load_end: os.loadavg(),
  };
  const doc = {
    machine,
    bytes: SIZE,
    runs_per_case: RUNS,
    order: "interleaved: run i of every case, then run i+1",
    topology: { ...topo, link: "veth, 1 tx and 1 rx queue per end, MTU 1500", payload_mtu: 1472 },
    tool_args: `--netns A,B --addr ${topo.ipA},${topo.ipB} --log-size ${512 << 20} --time-limit 300`,
    tcp_buffer_bytes: TCP_BUFFER,
    cases: CASES.map((c, k) => summarize(c, runs[k])),
  };
  cleanup();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "xdp.json"), JSON.stringify(doc, null, 2) + "\n");
  return doc;
}

// --- the report ----------------------------------------------------------------

const f0 = (x) => (x == null ? "—" : Math.round(x).toLocaleString("en-US"));
const f2 = (x) => (x == null ? "—" : x.toFixed(2));
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

function render(doc) {
  const { machine: m, cases } = doc;
  const by = (n) => cases.find((c) => c.name.startsWith(n));
  const nat = by("xdp native");
  const gen = by("xdp generic");
  const udp = by("udp");
  const tcp = by("tcp");
  const L = [];
  L.push("# PacketFS over AF_XDP on veth (two network namespaces)");
  L.push("");
  L.push(
    `Generated by \`node bench/xdp.mjs${doc.runs_per_case === 1 ? " --quick" : ""}\` on ${m.date}; every run in \`xdp.json\`.`,
  );
  L.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ram_GiB} GiB, kernel ${m.kernel}; load average ${m.load_start.map(f2).join(" ")} at the start, ${m.load_end.map(f2).join(" ")} at the end.`,
  );
  L.push(
    "The machine is shared with other work and noisy: compare cases within this run, as ratios, not with other runs.",
  );
  L.push("");
  L.push("## Method");
  L.push("");
  L.push(
    `- One veth pair between two network namespaces made for the run (1 transmit and 1 receive queue per end, MTU 1500,`,
  );
  L.push(
    `  ${doc.topology.ipA}/24 and ${doc.topology.ipB}/24); both ends run on this machine's ${m.cores} cores.`,
  );
  L.push(
    `- The file: ${doc.bytes / 2 ** 20} MiB of random bytes in /dev/shm (nothing for PacketFS's pointers to find).`,
  );
  L.push(
    "- PacketFS: `pfs-transfer-bench` with `" +
      doc.tool_args +
      "` and, per case, `--backend xdp --xdp-mode native`,",
  );
  L.push(
    "  `--backend xdp --xdp-mode generic` or `--backend udp`; BBR, 1472-byte UDP payloads, AEAD on every packet. The sender",
  );
  L.push(
    "  runs in the first namespace, its forked receiver in the second; the receiver writes the file to /dev/shm, checks its",
  );
  L.push("  digest, and the benchmark compares it with the source byte for byte (`verified`).");
  L.push(
    `- TCP: \`socat -u -b ${doc.tcp_buffer_bytes}\` (1 MiB buffers) from the first namespace to a socat listener in the second,`,
  );
  L.push(
    "  which writes the file to /dev/shm; timed from starting the sender until the listener has written everything and",
  );
  L.push(
    "  exited; compared with `cmp` afterwards. CPU seconds are each socat's user + system time (`/usr/bin/time`).",
  );
  L.push(
    `- ${doc.runs_per_case} run(s) per case, ${doc.order}; each figure is the median of its own runs (so one row's`,
  );
  L.push("  figures may come from different runs).");
  L.push(
    "- goodput = file bytes / transfer seconds. packets/s = the sender's data packets / transfer seconds. frames per",
  );
  L.push(
    "  CPU-second = the frames a side sent and received over the whole run / that process's CPU seconds — the per-core",
  );
  L.push(
    "  packet rate. CPU seconds run from set-up to the end and include the receiver's byte-for-byte comparison. Kernel",
  );
  L.push(
    "  work done in softirq context is charged to whichever process happened to run, so per-side CPU is approximate.",
  );
  L.push("");
  L.push(
    "| case | goodput MB/s | vs TCP | runs MB/s | packets/s | sender frames/CPU-s | receiver frames/CPU-s | sender CPU s | receiver CPU s | drops (runs summed) | XDP mode | verified |",
  );
  L.push("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
  for (const c of cases) {
    const drops = c.kind === "tcp" ? "—" : f0(c.sender.dropped + c.receiver.dropped);
    L.push(
      `| ${c.name} | ${f0(c.goodput_MBps)} | ${f2(ratio(c.goodput_MBps, tcp?.goodput_MBps))} | ${c.runs.map((r) => f0(r.goodput_MBps)).join(", ")} | ${f0(c.packets_per_s)} | ${f0(c.sender.frames_per_cpu_s)} | ${f0(c.receiver.frames_per_cpu_s)} | ${f2(c.sender.cpu_s)} | ${f2(c.receiver.cpu_s)} | ${drops} | ${c.xdp_modes.join(", ") || "—"} | ${c.verified} |`,
    );
  }
  L.push("");
  L.push("## What this shows");
  L.push("");
  const cmp = (a, b, what, key) => {
    const r = ratio(key(a), key(b));
    if (r == null) return null;
    return `${what} ${f0(key(a))} vs ${f0(key(b))} (${f2(r)}×)`;
  };
  if (nat && udp) {
    const parts = [
      cmp(nat, udp, "goodput", (c) => c.goodput_MBps),
      cmp(nat, udp, "packets/s", (c) => c.packets_per_s),
      cmp(nat, udp, "sender frames per CPU-second", (c) => c.sender.frames_per_cpu_s),
      cmp(nat, udp, "receiver frames per CPU-second", (c) => c.receiver.frames_per_cpu_s),
    ].filter(Boolean);
    L.push(
      `- By the medians, AF_XDP native against the kernel UDP backend, same engine, same link: ${parts.join("; ")}.`,
    );
    const loses = [
      ["goodput", (c) => c.goodput_MBps],
      ["packets per second", (c) => c.packets_per_s],
      ["sender frames per CPU-second", (c) => c.sender.frames_per_cpu_s],
      ["receiver frames per CPU-second", (c) => c.receiver.frames_per_cpu_s],
    ]
      .filter(([, k]) => k(nat) != null && k(udp) != null && k(nat) < k(udp))
      .map(([n]) => n);
    L.push(
      loses.length
        ? `- Where AF_XDP loses, by the medians: native mode is below kernel UDP in ${loses.join(", ")} on this link.`
        : "- By the medians, native AF_XDP is at or above kernel UDP in every column here.",
    );
  }
  if (nat && gen) {
    L.push(
      `- Generic (SKB) mode against native: ${[
        cmp(gen, nat, "goodput", (c) => c.goodput_MBps),
        cmp(gen, nat, "sender frames per CPU-second", (c) => c.sender.frames_per_cpu_s),
        cmp(gen, nat, "receiver frames per CPU-second", (c) => c.receiver.frames_per_cpu_s),
      ]
        .filter(Boolean)
        .join("; ")}.`,
    );
  }
  if (tcp) {
    const best = cases
      .filter((c) => c.kind === "pfs")
      .sort((a, b) => b.goodput_MBps - a.goodput_MBps)[0];
    if (best)
      L.push(
        `- The TCP copy moved the file at ${f0(tcp.goodput_MBps)} MB/s; the fastest PacketFS case here (${best.name}) reached ${f0(best.goodput_MBps)} MB/s, ${f2(ratio(best.goodput_MBps, tcp.goodput_MBps))}× of it. TCP sends 64 KB segments through veth with no per-packet crypto; PacketFS seals and sends 1472-byte packets.`,
      );
  }
  const pfsCases = cases.filter((c) => c.kind === "pfs");
  const range = (c, k) => {
    const xs = c.runs.map(k).filter((x) => typeof x === "number");
    return [Math.min(...xs), Math.max(...xs)];
  };
  if (doc.runs_per_case > 1) {
    const spread = cases.map((c) => {
      const [lo, hi] = range(c, (r) => r.goodput_MBps);
      return `${c.name} ${f0(lo)}–${f0(hi)}`;
    });
    L.push(`- Run-to-run spread of goodput (MB/s, min–max): ${spread.join("; ")}.`);
    // pairs of PacketFS cases whose ranges overlap: the medians do not rank them
    const pairs = pfsCases.flatMap((a, i) =>
      pfsCases.slice(i + 1).flatMap((b) => {
        const [alo, ahi] = range(a, (r) => r.goodput_MBps);
        const [blo, bhi] = range(b, (r) => r.goodput_MBps);
        return alo <= bhi && blo <= ahi ? [`${a.name} and ${b.name}`] : [];
      }),
    );
    L.push(
      pairs.length
        ? `  Goodput ranges overlap for ${pairs.join("; ")}: this run does not rank those by goodput.`
        : "  No two PacketFS cases' goodput ranges overlap.",
    );
    if (nat && udp) {
      const rounds = nat.runs.map((r, i) => [r.goodput_MBps, udp.runs[i]?.goodput_MBps]);
      const ahead = rounds.filter(([a, b]) => a > b).length;
      L.push(
        `- Round by round (native and udp ran seconds apart within a round), goodput native vs udp: ${rounds.map(([a, b]) => `${f0(a)} vs ${f0(b)}`).join(", ")} — native ahead in ${ahead} of ${rounds.length}.`,
      );
    }
    // the least disturbed run of each case: its highest per-core packet rate
    const perCore = (r) => r.sender.frames_per_cpu_s + r.receiver.frames_per_cpu_s;
    const bestRun = (c) => [...c.runs].sort((x, y) => perCore(y) - perCore(x))[0];
    L.push(
      `- Each case's least disturbed run (highest frames per CPU-second; goodput at sender / receiver frames per CPU-second): ${pfsCases
        .map((c) => {
          const r = bestRun(c);
          return `${c.name} ${f0(r.goodput_MBps)} MB/s at ${f0(r.sender.frames_per_cpu_s)} / ${f0(r.receiver.frames_per_cpu_s)}`;
        })
        .join("; ")}.`,
    );
    if (nat && udp) {
      const [bn, bu] = [bestRun(nat), bestRun(udp)];
      const lost = [
        ["goodput", (r) => r.goodput_MBps],
        ["sender frames per CPU-second", (r) => r.sender.frames_per_cpu_s],
        ["receiver frames per CPU-second", (r) => r.receiver.frames_per_cpu_s],
      ]
        .filter(([, k]) => k(bn) < k(bu))
        .map(([n, k]) => `${n} ${f0(k(bn))} vs ${f0(k(bu))} (${f2(k(bn) / k(bu))}×)`);
      L.push(
        lost.length
          ? `- Where AF_XDP loses, least disturbed run against least disturbed run: native is below kernel UDP in ${lost.join("; ")}.`
          : "- Least disturbed run against least disturbed run, native AF_XDP is at or above kernel UDP.",
      );
    }
  }
  L.push(
    `- Frames the sender received (the receiver's acknowledgements and verdicts; median per run): ${pfsCases
      .map((c) => `${c.name} ${f0(median(c.runs.map((r) => r.sender.rx_frames)))}`)
      .join(
        ", ",
      )}, for ${f0(median(pfsCases[0].runs.map((r) => r.sender.tx_frames)))} frames sent.`,
  );
  const idle = pfsCases.flatMap((c) =>
    c.runs
      .map((r, i) => ({ c, r, i }))
      .filter(({ r }) => r.seconds > 0 && r.sender.cpu_s < 0.5 * r.seconds),
  );
  if (idle.length)
    L.push(
      `- In ${idle.length} run(s) the sender was on a CPU for less than half of the transfer time (${idle.map(({ c, r, i }) => `${c.name} run ${i + 1}: ${f2(r.sender.cpu_s)} CPU-s over ${f2(r.seconds)} s`).join("; ")}): those runs waited rather than computed — on the other work of this shared machine or on the transfer itself; this benchmark does not tell which.`,
    );
  const drops = cases.filter((c) => c.kind === "pfs" && c.sender.dropped + c.receiver.dropped > 0);
  L.push(
    drops.length
      ? `- Frames dropped by the backends (all runs summed): ${drops.map((c) => `${c.name} ${f0(c.sender.dropped + c.receiver.dropped)}`).join(", ")}.`
      : "- No backend reported dropped frames.",
  );
  const zc = cases.some((c) => c.zero_copy);
  L.push(
    `- veth has no zero-copy AF_XDP: every XDP run here bound in copy mode (\`zero_copy\` ${zc ? "was true in some run — unexpected on veth" : "false in every run"}), so each frame is copied`,
  );
  L.push(
    "  between the UMEM and the kernel's buffers; these figures say nothing about a NIC with zero-copy support.",
  );
  if (!cases.every((c) => c.verified))
    L.push("- **Some runs did not arrive verified**: see `xdp.json`.");
  return L.join("\n") + "\n";
}

let doc;
try {
  doc = renderOnly
    ? JSON.parse(readFileSync(path.join(outDir, "xdp.json"), "utf8"))
    : await measure();
} catch (e) {
  process.stderr.write(`xdp: ${e.message}\n`);
  process.exit(1);
}
const md = render(doc);
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, "xdp.md"), md);
console.log(md);
if (!doc.cases.every((c) => c.verified)) process.exit(1);
