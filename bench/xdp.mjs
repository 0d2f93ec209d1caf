#!/usr/bin/env node
// AF_XDP benchmark: one veth pair between two network namespaces made for the
// run, and on it, in the same run, pfs-transfer-bench with both ends on AF_XDP
// in native mode, on AF_XDP in generic mode, and on the kernel UDP backend with
// and without UDP GSO/GRO, against a plain TCP copy (socat, 1 MiB buffers) of
// the same 1 GiB random file:
//
//   namespace xb<pid>a                              namespace xb<pid>b
//   sender (pfs-transfer-bench / socat)             receiver (its child / socat)
//   xb<pid>a0 198.18.20.1/24 ------ veth, 1 queue ------ xb<pid>b0 198.18.20.2/24
//
// Every case runs 3 times, interleaved (native, generic, udp, udp without
// GSO/GRO, tcp, native, ...), so that a slow minute of this shared machine hits
// all cases alike; medians are reported and every run is kept. Then, unless
// --no-profile, one more transfer of each PacketFS case under a system-wide
// `perf record` (software cpu-clock event), grouped into categories of where
// the CPU went. Writes bench/results/xdp.{json,md} and xdp-profile.txt.
// Usage: node bench/xdp.mjs [--quick] [--tool PATH] [--out DIR] [--render-only]
//                           [--profile | --no-profile]
//   --quick        256 MiB and 1 run: a smoke test of the script (no profile
//                  unless --profile)
//   --no-profile   skip the perf profile step (run by default in a full run)
//   --render-only  rewrite xdp.md from xdp.json (no runs, no root needed)
// Needs root (namespaces, XDP), iproute2, socat, /usr/bin/time and, for the
// profile, perf (Debian: linux-perf). The namespaces, the files and any XDP
// program are removed on every exit path.
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
const PROFILE = args.includes("--profile") || (!quick && !args.includes("--no-profile"));
const PERF_FREQ = 2999; // Hz per CPU, off the kernel's timer ticks
const PERF_DELAY_MS = quick ? 300 : 1200; // skips set-up (the 512 MiB log, the index)
const PERF_TOP = 15; // symbols kept per case

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
  { name: "udp (GSO/GRO)", kind: "pfs", args: ["--backend", "udp"] },
  { name: "udp, no GSO/GRO", kind: "pfs", args: ["--backend", "udp", "--no-offload"] },
  { name: `tcp (socat -b ${TCP_BUFFER})`, kind: "tcp", args: [] },
];

// prefix: a command to run the benchmark under (perf record ... --)
async function pfsOnce(file, extra, prefix = []) {
  // a receive root of ours: a benchmark that dies leaves its own behind
  const rx = `/dev/shm/pfs-bench-xdp-${process.pid}-rx`;
  made.files.push(rx);
  mkdirSync(rx, { recursive: true });
  const argv = [
    ...prefix,
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
    ...(j.udp_offload !== undefined ? { udp_offload: j.udp_offload } : {}),
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
    udp_offload: [...new Set(runs.map((r) => r.udp_offload).filter((x) => x !== undefined))],
    runs,
  };
}

// --- the profile -----------------------------------------------------------------

// Categories of samples, by shared object and symbol (in the table's order).
const CAT = {
  idle: "idle",
  aead: "AEAD crypto",
  engine: "PacketFS engine",
  copies: "copies",
  sink: "file sink (pwrite into /dev/shm)",
  xdp: "AF_XDP and veth kernel path",
  udp: "UDP/IP kernel stack",
  sock: "sockets (AF_XDP's and UDP's)",
  poll: "poll, sleep, wake-up and syscalls",
  clock: "clock",
  mem: "memory (faults, pages, slab)",
  other: "other",
};
// user-space objects: by the object's name (and libc's symbols)
const USER_RULES = [
  [CAT.aead, "libsodium"],
  [CAT.engine, "pfs-transfer-bench, and the libxxhash and libzstd it calls"],
  [CAT.clock, "[vdso]"],
  [CAT.copies, "libc's *memcpy*, *memmove*"],
  [CAT.sink, "libc's *pwrite*"],
  [
    CAT.poll,
    "libc's other system-call wrappers: *poll*, *sendto*, *sendmmsg*, *recvmmsg*, *syscall*",
  ],
  [CAT.other, "the rest of libc, and every other object (libbpf, libxdp, perf itself, node, ...)"],
];
// kernel symbols: the first that matches wins
const KERNEL_RULES = [
  [CAT.idle, /^pv_native_safe_halt$|idle/, "pv_native_safe_halt, *idle*"],
  [
    CAT.aead,
    /(^|_)(aes|gcm|ghash|chacha|poly1305)/i,
    "*aes*, *gcm*, *ghash*, *chacha*, *poly1305*",
  ],
  [
    CAT.sink,
    /^copy_folio_from_iter|^shmem_|^generic_perform_write$|^vfs_write$|pwrite/,
    "copy_folio_from_iter*, shmem_*, generic_perform_write, vfs_write, *pwrite*",
  ],
  [
    CAT.copies,
    /memcpy|memmove|^_*copy_|^rep_movs|check_object_size/,
    "*memcpy*, *memmove*, copy_*, _copy_*, rep_movs*, *check_object_size (the user-copy check)",
  ],
  [CAT.xdp, /^_*xsk|^xp_|xdp/, "xsk*, __xsk*, xp_*, *xdp*"],
  [
    CAT.sock,
    /^_*sock_|^_*sk_/,
    "sock_*, sk_*: socket code both backends use (in the xdp cases e.g. `sock_def_readable` is the AF_XDP socket's receive wake-up)",
  ],
  [
    CAT.udp,
    /^_*udp|^_*ip_|^_*ipv4|^_*inet|^_*fib|^_*neigh|(^|_)(gso|gro)(_|$)|sendm?msg|recvm?msg/,
    "udp*, __udp*, ip_*, __ip*, ipv4*, inet*, fib*, neigh*, *_gso_*, *_gro_*, *sendmsg, *recvmsg, *sendmmsg, *recvmmsg",
  ],
  [
    CAT.xdp,
    /^_*veth|skb|^_*napi|^_*netif|^_*dev_|^net_rx|^process_backlog|^page_pool|^page_frag/,
    "veth*, *skb*, napi*, netif*, dev_*, __dev_*, net_rx*, process_backlog, page_pool*, page_frag* (the UDP cases' datagrams cross veth too)",
  ],
  [
    CAT.poll,
    /poll|syscall|^entry_SYSCALL|^_*x64_sys|^_*sys_|sendto|import_iovec|schedule|hrtimer|exit_to_user_mode|fpregs|switch_fpu|wake_up|ttwu|finish_task_switch|enqueue_task|dequeue_task|pick_next/,
    "*poll*, *syscall*, entry_SYSCALL*, __x64_sys_*, __sys_*, *sendto*, *import_iovec, *schedule*, *hrtimer*, exit_to_user_mode*, *fpregs*, switch_fpu*, *wake_up*, ttwu*, finish_task_switch, enqueue_task*, dequeue_task*, pick_next*",
  ],
  [
    CAT.clock,
    /clock_gettime|^_*ktime_get|read_tsc|pvclock|kvm_clock/,
    "*clock_gettime*, ktime_get*, read_tsc, *pvclock*, kvm_clock*",
  ],
  [
    CAT.mem,
    /page_fault|^clear_page|handle_mm_fault|^do_anonymous_page|mem_cgroup|^_*memcg|alloc_pages|alloc_frozen_pages|get_page_from_freelist|free_pages|^free_unref|folio|vm_enough_memory|lru|^_*kmem_cache|^_*kmalloc|^_*kfree|^_*slab_|^_*(do_)?slab_free/,
    "*page_fault*, clear_page*, *handle_mm_fault, do_anonymous_page, *mem_cgroup*, memcg*, *alloc_pages*, *alloc_frozen_pages*, get_page_from_freelist, *free_pages*, free_unref*, *folio*, *vm_enough_memory*, *lru*, kmem_cache*, kmalloc*, kfree*, slab_*, __slab_*",
  ],
  [
    CAT.other,
    /(?:)/,
    "the rest (e.g. `_raw_spin_unlock_irqrestore`, where interrupts come back on)",
  ],
];

function categorize(dso, sym) {
  if (dso === "[kernel.kallsyms]") return KERNEL_RULES.find(([, re]) => re.test(sym))[0];
  if (/libsodium/.test(dso)) return CAT.aead;
  if (/^pfs-transfer-bench$|^libxxhash|^libzstd/.test(dso)) return CAT.engine;
  if (dso === "[vdso]") return CAT.clock;
  if (/^libc[.-]/.test(dso)) {
    if (/memcpy|memmove/.test(sym)) return CAT.copies;
    if (/pwrite/.test(sym)) return CAT.sink;
    if (/poll|sendto|sendmmsg|recvmmsg|syscall/.test(sym)) return CAT.poll;
  }
  return CAT.other;
}

const perfCmd = (argv) => "perf " + argv.join(" ");
const perfRecordArgs = (data) => [
  "record",
  "-e",
  "cpu-clock",
  "-F",
  String(PERF_FREQ),
  "-a",
  "-g",
  "-D",
  String(PERF_DELAY_MS),
  "-o",
  data,
  "--",
];
const perfScriptArgs = (data) => ["script", "-i", data, "-G", "-F", "time,ip,dso", "--ns"];
const perfReportArgs = (data, time) => [
  "report",
  "-i",
  data,
  "--no-children",
  "--sort",
  "dso,sym",
  "--stdio",
  "-g",
  "none",
  "-n",
  ...(time ? ["--time", time] : []),
];
const perfOut = (argv) =>
  execFileSync("perf", argv, {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "ignore"],
  });

// The transfer within the recording: from the first to the last 50 ms slice
// with AEAD samples at ≥ 10% of the median slice's count (the receiver's last
// verdicts and acknowledgements after the transfer are a few sealed packets,
// then it compares the file byte for byte and both ends exit).
function transferWindow(data) {
  const all = [];
  const aead = [];
  for (const line of perfOut(perfScriptArgs(data)).split("\n")) {
    const m = line.match(/^\s*(\d+\.\d+):\s+\S+\s+\((.*)\)\s*$/);
    if (!m) continue;
    all.push(+m[1]);
    if (/libsodium/.test(m[2])) aead.push(+m[1]);
  }
  if (!all.length) throw new Error(`no samples in ${data}`);
  const first = Math.min(...all);
  const last = Math.max(...all);
  const whole = { start: first, end: last, trimmed: false };
  if (aead.length < 50) return { first, last, ...whole };
  aead.sort((a, b) => a - b);
  const SLICE = 0.05;
  const counts = new Map();
  for (const t of aead) {
    const k = Math.floor((t - first) / SLICE);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const floor = Math.max(2, 0.1 * median([...counts.values()]));
  const busy = [...counts.entries()].filter(([, n]) => n >= floor).map(([k]) => k);
  const k0 = Math.min(...busy);
  const k1 = Math.max(...busy);
  const inSlice = (k) => aead.filter((t) => Math.floor((t - first) / SLICE) === k);
  return {
    first,
    last,
    start: Math.min(...inSlice(k0)),
    end: Math.max(...inSlice(k1)),
    trimmed: true,
  };
}

function parseReport(text) {
  const rows = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$/);
    if (m) rows.push({ samples: +m[2], dso: m[3], sym: m[5] });
  }
  return rows;
}

async function profileCase(file, c, k) {
  const data = `/tmp/pfs-bench-xdp-${process.pid}-${k}.perf.data`;
  made.files.push(data);
  const r = await pfsOnce(file, c.args, ["perf", ...perfRecordArgs(data)]);
  const w = transferWindow(data);
  // perf's --time takes seconds with microseconds: round outwards
  const time = `${(Math.floor(w.start * 1e6) / 1e6).toFixed(6)},${(Math.ceil(w.end * 1e6) / 1e6).toFixed(6)}`;
  const text = perfOut(perfReportArgs(data, w.trimmed ? time : null));
  rmSync(data, { force: true });
  const rows = parseReport(text);
  const total = rows.reduce((n, x) => n + x.samples, 0);
  if (!total) throw new Error(`perf report for ${c.name} listed no samples`);
  const shares = Object.fromEntries(Object.values(CAT).map((name) => [name, 0]));
  for (const x of rows) shares[categorize(x.dso, x.sym)] += x.samples;
  const windowS = w.end - w.start;
  const pct = (n) => +((100 * n) / total).toFixed(2);
  return {
    name: c.name,
    args: c.args.join(" "),
    verified: r.verified,
    goodput_MBps: r.goodput_MBps,
    seconds: r.seconds,
    retransmitted_bytes: r.retransmitted_bytes,
    recorded_s: +(w.last - w.first).toFixed(3),
    window_s: +windowS.toFixed(3),
    window_trimmed_to_aead: w.trimmed,
    window_from_recording_start_s: [+(w.start - w.first).toFixed(3), +(w.end - w.first).toFixed(3)],
    samples: total,
    // samples / (window × CPUs × rate): below 1, time nobody sampled (mostly idle)
    coverage: +(total / (windowS * os.cpus().length * PERF_FREQ)).toFixed(3),
    category_samples: shares,
    shares_pct: Object.fromEntries(Object.entries(shares).map(([n, v]) => [n, pct(v)])),
    top: [...rows]
      .sort((a, b) => b.samples - a.samples)
      .slice(0, PERF_TOP)
      .map((x) => ({
        pct: pct(x.samples),
        samples: x.samples,
        dso: x.dso,
        sym: x.sym,
        category: categorize(x.dso, x.sym),
      })),
    report_head: text
      .split("\n")
      .filter((l) => /^\s*[\d.]+%/.test(l))
      .slice(0, 40),
  };
}

async function profile(file) {
  const version = quiet("perf", ["--version"]).trim();
  if (!version) return { skipped: "perf was not found (Debian package linux-perf)" };
  const cases = [];
  for (const [k, c] of CASES.entries()) {
    if (c.kind !== "pfs") continue;
    process.stderr.write(`[xdp] profile: ${c.name}\n`);
    try {
      cases.push(await profileCase(file, c, k));
      const p = cases.at(-1);
      process.stderr.write(
        `[xdp]   ${p.goodput_MBps} MB/s, ${p.samples} samples over ${p.window_s} s\n`,
      );
    } catch (e) {
      process.stderr.write(`[xdp]   profile failed: ${e.message}\n`);
      cases.push({ name: c.name, args: c.args.join(" "), error: e.message });
    }
  }
  const data = "FILE";
  return {
    perf: version,
    event: "cpu-clock (software; this VM has no hardware counters)",
    freq_hz: PERF_FREQ,
    delay_ms: PERF_DELAY_MS,
    commands: {
      record: `${perfCmd(perfRecordArgs(data))} pfs-transfer-bench --target <the file> --netns ${topo.nsA},${topo.nsB} --addr ${topo.ipA},${topo.ipB} --receive-root <a directory> --log-size ${512 << 20} --time-limit 300 <the case's arguments>`,
      window: perfCmd(perfScriptArgs(data)),
      report: perfCmd(perfReportArgs(data, "START,END")),
    },
    categories: Object.values(CAT),
    rules: {
      user: USER_RULES.map(([category, rule]) => ({ category, rule })),
      kernel: KERNEL_RULES.map(([category, re, rule]) => ({ category, regex: re.source, rule })),
    },
    cases,
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
  const prof = PROFILE
    ? await profile(file)
    : { skipped: quick ? "--quick runs no profile unless --profile is given" : "--no-profile" };
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
    profile: prof,
  };
  cleanup();
  mkdirSync(outDir, { recursive: true });
  if (prof.cases) {
    writeFileSync(path.join(outDir, "xdp-profile.txt"), profileText(doc));
    for (const c of prof.cases) delete c.report_head; // in xdp-profile.txt only
  }
  writeFileSync(path.join(outDir, "xdp.json"), JSON.stringify(doc, null, 2) + "\n");
  return doc;
}

// --- the report ----------------------------------------------------------------

const f0 = (x) => (x == null ? "—" : Math.round(x).toLocaleString("en-US"));
const f1 = (x) => (x == null ? "—" : x.toFixed(1));
const f2 = (x) => (x == null ? "—" : x.toFixed(2));
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
const list = (xs) =>
  xs.length < 3 ? xs.join(" and ") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`;

const METRICS = [
  ["goodput", (c) => c.goodput_MBps],
  ["packets/s", (c) => c.packets_per_s],
  ["sender frames/CPU-s", (c) => c.sender.frames_per_cpu_s],
  ["receiver frames/CPU-s", (c) => c.receiver.frames_per_cpu_s],
];

function renderProfile(doc, L) {
  const p = doc.profile;
  L.push("## Profile (where the CPU goes)");
  L.push("");
  if (!p || p.skipped) {
    L.push(`Not run: ${p?.skipped ?? "this xdp.json has no profile"}.`);
    return;
  }
  const ok = p.cases.filter((c) => !c.error);
  for (const c of p.cases.filter((c) => c.error))
    L.push(`- **The profile of ${c.name} failed**: ${c.error}`);
  if (!ok.length) return;
  const m = doc.machine;
  const cats = p.categories;
  const work = cats.filter((n) => n !== CAT.idle);
  const busyCpus = (c) => (c.samples * (1 - c.shares_pct[CAT.idle] / 100)) / p.freq_hz / c.window_s;
  // a category's cost relative to AEAD's: every case seals and opens each byte once
  const cnt = (c, n) => c.category_samples?.[n] ?? c.shares_pct[n] ?? 0;
  const rel = (c, n) => cnt(c, n) / cnt(c, CAT.aead);
  const relBusy = (c) => work.reduce((t, n) => t + rel(c, n), 0);
  // the receiver's file writes: the same bytes written the same way in every case, the
  // backend not on that path; left out where cases are compared
  const cmpd = work.filter((n) => n !== CAT.sink);
  const relCmp = (c) => cmpd.reduce((t, n) => t + rel(c, n), 0);
  L.push(
    `After the timed runs, one more ${doc.bytes / 2 ** 20} MiB transfer of each PacketFS case ran under a system-wide \`perf record\``,
  );
  L.push(
    `(${p.perf}; both of the machine's ${m.cores} CPUs, every process, softirq work and idle time included), sampling the`,
  );
  L.push(
    `${p.event} at ${p.freq_hz} Hz per CPU with call chains. The recording starts ${p.delay_ms} ms after launch (\`-D\`),`,
  );
  L.push(
    "past set-up, and the report is limited (`--time`) to the transfer: from the first to the last 50 ms slice with AEAD",
  );
  L.push(
    "(libsodium) samples at ≥ 10% of the median slice's count — this cuts off the receiver's byte-for-byte comparison and",
  );
  L.push("the exit at the end of the recording. The commands, with FILE a temporary file:");
  L.push("");
  L.push("```sh");
  L.push(p.commands.record);
  L.push(`${p.commands.window}   # sample times: START and END`);
  L.push(p.commands.report);
  L.push("```");
  L.push("");
  L.push(
    "- % of samples = a category's samples / all samples in the window (idle included). An idle CPU is sampled only in",
  );
  L.push(
    `  part: coverage = samples / (window × ${m.cores} CPUs × ${p.freq_hz} Hz) falls short of 1 by time nobody sampled, so idle's`,
  );
  L.push(
    "  share understates idle time, and the other shares are shares of the samples, not of the CPUs' time. busy CPUs =",
  );
  L.push("  non-idle samples / the rate / the window: how many CPUs were busy on average.");
  const retx = Math.max(...ok.map((c) => (c.retransmitted_bytes ?? 0) / doc.bytes));
  L.push(
    "- ÷ AEAD = a category's samples / the AEAD crypto samples of the same case. Every case seals and opens each packet",
  );
  L.push(
    `  once, retransmissions aside (retransmitted bytes in the profiled runs: ${ok.map((c) => `${c.name} ${f0(c.retransmitted_bytes)}`).join(", ")};`,
  );
  L.push(
    `  at most ${(100 * retx).toFixed(2)}% of the file), so AEAD samples measure the bytes moved, and a category's ratio is its cost`,
  );
  L.push(
    "  per byte in units of AEAD's. It does not depend on idle sampling or on how fast the bytes moved within the window.",
  );
  L.push(
    "- cpu-clock is a timer-driven software event: a sample cannot land where interrupts are disabled and is charged where",
  );
  L.push(
    '  they come back on (`_raw_spin_unlock_irqrestore`, in "other"). The profiled runs are slower than the timed ones',
  );
  L.push("  (recording call chains costs CPU too); their goodput is in the table.");
  L.push(
    `- Categories, first match wins. User-space objects: ${p.rules.user.map((r) => `${r.rule} → ${r.category}`).join("; ")}.`,
  );
  L.push("  Kernel symbols, in this order:");
  for (const r of p.rules.kernel) L.push(`  - ${r.category}: ${r.rule}`);
  L.push("");
  L.push(`| % of samples | ${ok.map((c) => c.name).join(" | ")} |`);
  L.push(`| --- | ${ok.map(() => "---:").join(" | ")} |`);
  for (const cat of cats)
    L.push(`| ${cat} | ${ok.map((c) => f1(c.shares_pct[cat])).join(" | ")} |`);
  L.push(`| samples in the window | ${ok.map((c) => f0(c.samples)).join(" | ")} |`);
  L.push(`| window, s | ${ok.map((c) => f2(c.window_s)).join(" | ")} |`);
  L.push(`| coverage | ${ok.map((c) => f2(c.coverage)).join(" | ")} |`);
  L.push(`| busy CPUs (of ${m.cores}) | ${ok.map((c) => f2(busyCpus(c))).join(" | ")} |`);
  L.push(
    `| goodput of the profiled run, MB/s | ${ok.map((c) => `${f0(c.goodput_MBps)}${c.verified ? "" : " (not verified)"}`).join(" | ")} |`,
  );
  L.push("");
  L.push(
    "Cost per byte relative to AEAD crypto (a category's samples ÷ AEAD's samples; idle left out):",
  );
  L.push("");
  L.push(`| ÷ AEAD | ${ok.map((c) => c.name).join(" | ")} |`);
  L.push(`| --- | ${ok.map(() => "---:").join(" | ")} |`);
  for (const cat of work) L.push(`| ${cat} | ${ok.map((c) => f2(rel(c, cat))).join(" | ")} |`);
  L.push(`| all busy | ${ok.map((c) => f2(relBusy(c))).join(" | ")} |`);
  L.push(
    `| **all busy but the file sink** | ${ok.map((c) => `**${f2(relCmp(c))}**`).join(" | ")} |`,
  );
  L.push("");

  // what the profile shows, from the measured shares
  const byName = (n) => ok.find((c) => c.name === n);
  const xdp = ["xdp native", "xdp generic"].map(byName).filter(Boolean);
  const udp = ["udp (GSO/GRO)", "udp, no GSO/GRO"].map(byName).filter(Boolean);
  if (xdp.length && udp.length) {
    L.push("What the profile shows (costs per byte, ÷ AEAD as in the table above):");
    L.push("");
    const show = (cat, xs) => xs.map((c) => `${c.name} ${f2(rel(c, cat))}`).join(", ");
    const costlier = (hi, lo) =>
      cmpd
        .filter((cat) => cat !== CAT.aead)
        .filter(
          (cat) =>
            Math.min(...hi.map((c) => rel(c, cat))) - Math.max(...lo.map((c) => rel(c, cat))) >=
            0.05,
        );
    const moreX = costlier(xdp, udp);
    const moreU = costlier(udp, xdp);
    L.push(
      moreX.length
        ? `- Costlier per byte (by 0.05 or more) in both xdp cases than in both udp cases: ${moreX.map((cat) => `${cat} (${show(cat, [...xdp, ...udp])})`).join("; ")}.`
        : "- Leaving out the file sink, no category costs 0.05 or more per byte more in both xdp cases than in both udp cases.",
    );
    L.push(
      moreU.length
        ? `- Costlier per byte (by 0.05 or more) in both udp cases than in both xdp cases: ${moreU.map((cat) => `${cat} (${show(cat, [...udp, ...xdp])})`).join("; ")}.`
        : "- Leaving out the file sink, no category costs 0.05 or more per byte more in both udp cases than in both xdp cases.",
    );
    const diffs = (x, u) => {
      const d = cmpd
        .map((cat) => [cat, rel(x, cat) - rel(u, cat)])
        .filter(([, v]) => Math.abs(v) >= 0.05)
        .sort((a, b) => b[1] - a[1]);
      const plus = d.filter(([, v]) => v > 0).slice(0, 3);
      const minus = d
        .filter(([, v]) => v < 0)
        .slice(-3)
        .reverse();
      const total = relCmp(x) - relCmp(u);
      return `${x.name} ${total >= 0 ? "+" : ""}${f2(total)} against ${u.name}${plus.length ? `: more on ${list(plus.map(([cat, v]) => `${cat} +${f2(v)}`))}` : ""}${minus.length ? `${plus.length ? ";" : ":"} less on ${list(minus.map(([cat, v]) => `${cat} ${f2(v)}`))}` : ""}`;
    };
    L.push(
      `- All busy time per byte but the file sink: ${ok.map((c) => `${c.name} ${f2(relCmp(c))}`).join(", ")}. Where the differences are (categories that differ by 0.05 or more):`,
    );
    for (const x of xdp) for (const u of udp) L.push(`  - ${diffs(x, u)}.`);
    const net = [CAT.xdp, CAT.udp, CAT.sock];
    const netRel = (c) => net.reduce((t, n) => t + rel(c, n), 0);
    L.push(
      `- The kernel's packet path (${list(net)}) together: ${ok.map((c) => `${c.name} ${f2(netRel(c))}`).join(", ")}; copies: ${ok.map((c) => `${c.name} ${f2(rel(c, CAT.copies))}`).join(", ")}; the PacketFS engine (on AF_XDP it also builds and parses the Ethernet, IP and UDP headers): ${ok.map((c) => `${c.name} ${f2(rel(c, CAT.engine))}`).join(", ")}.`,
    );
    const sink = ok.map((c) => rel(c, CAT.sink));
    const sinkPct = ok.map((c) => c.shares_pct[CAT.sink]);
    // the sink's biggest symbol, and how much of the sink it is per case
    const sinkSym = ok[0].top.find((t) => t.category === CAT.sink)?.sym;
    const symShare = ok.map((c) => {
      const t = c.top.find((t) => t.sym === sinkSym);
      return t ? (100 * t.samples) / c.category_samples[CAT.sink] : null;
    });
    const symNote =
      sinkSym && symShare.every((x) => x != null)
        ? `, ${f0(Math.min(...symShare))}–${f0(Math.max(...symShare))}% of it in \`${sinkSym}\``
        : "";
    L.push(
      `- The file sink (the receiver's \`pwrite\` of the file into /dev/shm${symNote}) writes the same bytes the same way in every case, with the backend not on that path, yet it cost ${f2(Math.min(...sink))}–${f2(Math.max(...sink))} per byte here (${ok.map((c) => `${c.name} ${f2(rel(c, CAT.sink))}`).join(", ")}; ${f1(Math.min(...sinkPct))}–${f1(Math.max(...sinkPct))}% of samples). It is left out of the comparisons above; whether its differences are the backends' doing, one profiled run per case cannot tell.`,
    );
    L.push("");
  }
  L.push(
    `Top 10 symbols per case (${PERF_TOP} are kept in \`xdp.json\`, 40 in \`xdp-profile.txt\`):`,
  );
  for (const c of ok) {
    L.push("");
    L.push(`**${c.name}** (\`${c.args}\`), ${f0(c.samples)} samples:`);
    L.push("");
    L.push("| % | object | symbol | category |");
    L.push("| ---: | --- | --- | --- |");
    for (const t of c.top.slice(0, 10))
      L.push(`| ${f2(t.pct)} | ${t.dso} | \`${t.sym}\` | ${t.category} |`);
  }
}

function render(doc) {
  const { machine: m, cases } = doc;
  const by = (n) => cases.find((c) => c.name === n);
  const nat = by("xdp native");
  const gen = by("xdp generic");
  const udpG = by("udp (GSO/GRO)") ?? by("udp"); // "udp": results from before the split
  const udpN = by("udp, no GSO/GRO");
  const xdps = [nat, gen].filter(Boolean);
  const udps = [udpG, udpN].filter(Boolean);
  const tcp = cases.find((c) => c.kind === "tcp");
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
      "` and, per case, the arguments below; BBR, 1472-byte UDP",
  );
  L.push(
    "  payloads, AEAD on every packet. The sender runs in the first namespace, its forked receiver in the second; the",
  );
  L.push(
    "  receiver writes the file to /dev/shm, checks its digest, and the benchmark compares it with the source byte for",
  );
  L.push("  byte (`verified`).");
  for (const c of cases.filter((c) => c.kind === "pfs")) L.push(`  - ${c.name}: \`${c.args}\``);
  if (udpN)
    L.push(
      "- Why two UDP cases. With GSO/GRO (the UDP backend's default) the sender hands the kernel a run of up to 64 datagrams",
      "  of one size (the last may be shorter), at most 65,000 bytes in all (44 of PacketFS's 1472-byte datagrams), as one",
      "  `UDP_SEGMENT` send. Over veth the kernel passes that super-packet through as one skb and the receiving socket takes",
      "  it whole by `UDP_GRO`: nothing ever segments it (a real NIC would segment it in hardware), so the per-skb kernel",
      "  work is shared by up to 44 datagrams. AF_XDP on veth runs in copy mode: on send the kernel builds one skb per frame",
      "  (`__xsk_generic_xmit`), and on receive it copies every frame into the UMEM. `--no-offload` turns UDP GSO and GRO",
      "  off: one datagram per skb, as AF_XDP has one frame per descriptor (system calls are still batched by",
      "  `sendmmsg`/`recvmmsg`). The no-GSO/GRO case compares like per-packet kernel paths; the GSO/GRO case is what the",
      "  UDP backend does by default.",
    );
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
  const pairs = xdps.flatMap((x) => udps.map((u) => [x, u]));
  if (pairs.length) {
    L.push(
      "AF_XDP against kernel UDP, same engine, same link: xdp ÷ udp by the medians (below 1.00: xdp is lower).",
    );
    L.push("");
    L.push(`| xdp ÷ udp | ${METRICS.map(([n]) => n).join(" | ")} |`);
    L.push(`| --- | ${METRICS.map(() => "---:").join(" | ")} |`);
    for (const [x, u] of pairs)
      L.push(
        `| ${x.name} ÷ ${u.name} | ${METRICS.map(([, k]) => f2(ratio(k(x), k(u)))).join(" | ")} |`,
      );
    L.push("");
    for (const [x, u] of pairs) {
      const cmpd = METRICS.filter(([, k]) => k(x) != null && k(u) != null);
      const lo = cmpd.filter(([, k]) => k(x) < k(u));
      const hi = cmpd.filter(([, k]) => k(x) >= k(u));
      const fmt = ([n, k]) => `${n} ${f0(k(x))} vs ${f0(k(u))}`;
      L.push(
        `- ${x.name} vs ${u.name}: ${lo.length ? `xdp loses in ${lo.map(fmt).join("; ")}` : "xdp loses in no column"}${hi.length ? `; at or above in ${hi.map(fmt).join("; ")}` : ""}.`,
      );
    }
  }
  const cmp = (a, b, what, key) => {
    const r = ratio(key(a), key(b));
    if (r == null) return null;
    return `${what} ${f0(key(a))} vs ${f0(key(b))} (${f2(r)}×)`;
  };
  const cmps = (a, b) =>
    [
      cmp(a, b, "goodput", (c) => c.goodput_MBps),
      cmp(a, b, "sender frames per CPU-second", (c) => c.sender.frames_per_cpu_s),
      cmp(a, b, "receiver frames per CPU-second", (c) => c.receiver.frames_per_cpu_s),
    ]
      .filter(Boolean)
      .join("; ");
  if (udpG && udpN) L.push(`- UDP without GSO/GRO against with: ${cmps(udpN, udpG)}.`);
  if (nat && gen) L.push(`- Generic (SKB) mode against native: ${cmps(gen, nat)}.`);
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
    const overlap = pfsCases.flatMap((a, i) =>
      pfsCases.slice(i + 1).flatMap((b) => {
        const [alo, ahi] = range(a, (r) => r.goodput_MBps);
        const [blo, bhi] = range(b, (r) => r.goodput_MBps);
        return alo <= bhi && blo <= ahi ? [`${a.name} and ${b.name}`] : [];
      }),
    );
    L.push(
      overlap.length
        ? `  Goodput ranges overlap for ${overlap.join("; ")}: this run does not rank those by goodput.`
        : "  No two PacketFS cases' goodput ranges overlap.",
    );
    L.push(
      `- Round by round (the cases of a round ran seconds apart), goodput MB/s: ${doc.runs_per_case > 0 ? [...Array(doc.runs_per_case).keys()].map((i) => `round ${i + 1}: ${pfsCases.map((c) => `${c.name} ${f0(c.runs[i]?.goodput_MBps)}`).join(", ")}`).join("; ") : ""}.`,
    );
    if (pairs.length)
      L.push(
        `  xdp ahead of udp in goodput, rounds out of ${doc.runs_per_case}: ${pairs
          .map(([x, u]) => {
            const n = x.runs.filter((r, i) => r.goodput_MBps > u.runs[i]?.goodput_MBps).length;
            return `${x.name} vs ${u.name} ${n}`;
          })
          .join("; ")}.`,
      );
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
  L.push("");
  renderProfile(doc, L);
  return L.join("\n") + "\n";
}

// The perf reports' heads, as perf printed them (bench/results/xdp-profile.txt).
function profileText(doc) {
  const p = doc.profile;
  const T = [`# perf profiles of bench/xdp.mjs, ${doc.machine.date} (${p.perf})`, ""];
  T.push(`# ${p.commands.record}`, `# ${p.commands.window}`, `# ${p.commands.report}`, "");
  for (const c of p.cases) {
    T.push(`## ${c.name} (${c.args})`);
    if (c.error) T.push(`failed: ${c.error}`);
    else {
      T.push(
        `# window ${c.window_from_recording_start_s.join("–")} s of ${c.recorded_s} s recorded; ${c.samples} samples; goodput ${c.goodput_MBps} MB/s`,
      );
      T.push("# Overhead  Samples  Shared Object  Symbol (first 40 lines)");
      T.push(...c.report_head);
    }
    T.push("");
  }
  return T.join("\n");
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
