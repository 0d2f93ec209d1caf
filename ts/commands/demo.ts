/**
 * `pfs-dp demo`: the point of PacketFS in one command. Two nodes, a real
 * dataset in two versions (v1, then v2 with ~1 % of its files changed), each
 * sent by PacketFS and by a plain TCP copy (socat); a table of file bytes,
 * wire bytes and time. As root the nodes are two network namespaces joined
 * through a third where pfs-linkem emulates a WAN link (demo-link.ts); as
 * anyone else, two daemons on loopback. Everything the demo makes — daemons,
 * data planes, namespaces, veth, XDP programs, temporary files — is removed
 * on every way out, Ctrl-C included.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import type { Command } from "commander";

import { PfsError } from "../errors.js";
import { toolPath } from "../native.js";
import type { Io } from "../util/io.js";
import { parseSize } from "../util/size.js";
import { type Dataset, makeDataset } from "./demo-dataset.js";
import { type Row, formatTable, mb, verdict } from "./demo-report.js";
import { buildTopology, hasCommand, startLinkem, topologyNames } from "./demo-link.js";
import {
  type Made,
  type TestNode,
  cleanup,
  freeTcpPort,
  inNs,
  pfsSend,
  setUpNodes,
  sha256,
  until,
  waitExit,
} from "./testbed.js";

const run = promisify(execFile);

interface DemoFlags {
  rate: string;
  rtt: string;
  size: string;
  backend: string;
  local?: boolean;
}

interface DirStats {
  in_packets: number;
  out_packets: number;
  dropped: Record<string, number>;
}

/** A line on what the emulator carried and dropped, from its --stats JSON. */
function linkemStats(path: string): string {
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as { a_to_b: DirStats; b_to_a: DirStats };
    const dir = (d: DirStats): string => {
      const drops = Object.entries(d.dropped).filter(([, n]) => n > 0);
      return `${d.in_packets} frames in, ${d.out_packets} out${drops.length ? `, dropped ${drops.map(([k, n]) => `${n} ${k}`).join(", ")}` : ""}`;
    };
    return `A→B ${dir(s.a_to_b)}; B→A ${dir(s.b_to_a)}`;
  } catch {
    return "none written";
  }
}

/** Parses "20ms", "0.02s", "500us" or a bare number of milliseconds into microseconds. */
export function parseRtt(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s)?$/.exec(text.trim());
  if (!m) throw new PfsError("PFS_ERR_USAGE", `--rtt ${text}: expected a time such as 20ms`);
  const mult = { us: 1, ms: 1000, s: 1e6 }[(m[2] ?? "ms") as "us" | "ms" | "s"];
  return Math.round(Number(m[1]) * mult);
}

/** A plain TCP copy of `file` from a to b (socat at both ends); returns seconds. */
async function tcpCopy(made: Made, a: TestNode, b: TestNode, file: string, out: string) {
  const port = b.ns ? 5001 : await freeTcpPort();
  const [lc, la] = inNs(b.ns, "socat", [
    "-u",
    `TCP-LISTEN:${port},bind=${b.addr},reuseaddr`,
    `CREATE:${out}`,
  ]);
  const listener = spawn(lc, la, { stdio: "ignore" });
  made.children.push(listener);
  await until(
    "socat to listen",
    async () => {
      const [sc, sa] = inNs(b.ns, "ss", ["-Hltn", `sport = :${port}`]);
      return (await run(sc, sa)).stdout.includes(`:${port}`) || undefined;
    },
    10000,
  );
  const t0 = performance.now();
  const [cc, ca] = inNs(a.ns, "socat", ["-u", `OPEN:${file},rdonly`, `TCP:${b.addr}:${port}`]);
  const sender = spawn(cc, ca, { stdio: "ignore" });
  made.children.push(sender);
  const [sent, got] = await Promise.all([waitExit(sender, 120000), waitExit(listener, 120000)]);
  const secs = (performance.now() - t0) / 1000;
  if (sent !== 0 || got !== 0)
    throw new Error(`the TCP copy failed (socat exited ${sent}, ${got})`);
  return secs;
}

async function runDemo(flags: DemoFlags, io: Io, made: Made): Promise<Row[]> {
  const root = process.getuid?.() === 0 && !flags.local;
  const size = parseSize(flags.size);
  const delayUs = Math.round(parseRtt(flags.rtt) / 2);
  if (!["udp", "xdp"].includes(flags.backend)) {
    throw new PfsError("PFS_ERR_USAGE", `--backend ${flags.backend}: expected udp or xdp`);
  }
  if (flags.backend === "xdp" && !root) {
    throw new PfsError("PFS_ERR_USAGE", "--backend xdp needs root (and is not used with --local)");
  }
  if (!hasCommand("socat", "-V")) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      "the demo compares with a TCP copy by socat: apt-get install socat",
    );
  }
  if (root) {
    for (const [cmd, arg] of [
      ["ip", "-V"],
      ["ethtool", "--version"],
    ] as const) {
      if (!hasCommand(cmd, arg))
        throw new PfsError("PFS_ERR_USAGE", `the demo needs ${cmd} as root`);
    }
    const link = flags.rate === "0" ? "an unshaped link" : `a ${flags.rate}/s link`;
    io.out(
      `PacketFS demo: two hosts (network namespaces) joined by pfs-linkem emulating ${link}, ` +
        `${(2 * delayUs) / 1000} ms RTT\n`,
    );
  } else {
    io.out(
      process.getuid?.() === 0
        ? "PacketFS demo on loopback (--local): two daemons on this host, no link emulation\n"
        : "PacketFS demo on loopback: two daemons on this host, udp backend.\n" +
            "Not root, so no emulated link: the two test hosts and the 1 Gbit/s, 20 ms RTT link\n" +
            "need root (network namespaces, veth, pfs-linkem). Run it as root to see a WAN.\n",
    );
  }

  made.base = mkdtempSync(join(tmpdir(), "pfs-demo-"));
  const data = join(made.base, "data");
  mkdirSync(data);
  const t0 = performance.now();
  const ds: Dataset = makeDataset(data, size);
  io.out(
    `dataset: v1.tar ${mb(ds.v1Bytes)} (${ds.files} files from ${ds.roots.join(", ")}); ` +
      `v2.tar ${mb(ds.v2Bytes)} (${ds.changed} files appended to, ${ds.added} added) ` +
      `[${((performance.now() - t0) / 1000).toFixed(1)} s]\n`,
  );

  let linkem: ChildProcess | undefined;
  if (root) {
    const prefix = `pfd${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
    made.topo = topologyNames(prefix);
    buildTopology(made.topo);
    linkem = startLinkem(made.topo, flags.rate, delayUs, join(made.base, "linkem.json"));
    made.children.push(linkem);
    made.linkem = linkem;
    let err = "";
    linkem.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    await sleep(300);
    if (linkem.exitCode !== null) throw new Error(`pfs-linkem did not start: ${err.trim()}`);
    io.out(
      `hosts: ${made.topo.nsA} ${made.topo.ipA} ⇄ ${made.topo.nsM} (${toolPath("pfs-linkem").split("/").pop()}) ⇄ ${made.topo.nsB} ${made.topo.ipB}\n`,
    );
  }
  // the blob log holds v1's literal bytes and v2's few; a power of two, as the data plane wants
  let blobMiB = 256;
  while (blobMiB * 2 ** 20 < 3 * size) blobMiB *= 2;
  const blob = `${blobMiB}MiB`;
  const backend = root && flags.backend === "xdp" ? "xdp" : "udp";
  const say = (line: string): void => io.out(line + "\n");
  const { a, b } = await setUpNodes(made, { dir: made.base, topo: made.topo, backend, blob, say });
  io.out(`daemons up (${backend} backend), session alpha ↔ beta established\n`);

  const rows: Row[] = [];
  for (const [label, file, dest] of [
    ["v1 (new)", ds.v1, "v1"],
    ["v2 (update)", ds.v2, "v2"],
  ] as const) {
    const digest = await sha256(file);
    const s = await pfsSend(a, b, file, dest);
    const okPfs = (await sha256(s.received)) === digest;
    const tcpOut = join(made.base, `tcp-${dest}.tar`);
    const tcpSecs = await tcpCopy(made, a, b, file, tcpOut);
    const okTcp = (await sha256(tcpOut)) === digest;
    rmSync(tcpOut, { force: true });
    if (!okPfs || !okTcp) throw new Error(`${label}: a received copy differs from the file`);
    const row: Row = {
      label,
      fileBytes: s.t.bytesDone,
      wireBytes: s.t.wireBytes,
      secs: s.secs,
      tcpSecs,
      verified: true,
    };
    io.out(
      `${label}: PacketFS ${mb(row.fileBytes)} in ${row.secs.toFixed(2)} s, ${mb(row.wireBytes)} on the wire ` +
        `(${mb(s.t.pointerBytes)} as pointers); TCP ${tcpSecs.toFixed(2)} s; both copies verified (sha256)\n`,
    );
    rows.push(row);
  }
  if (linkem) {
    linkem.kill("SIGTERM");
    await waitExit(linkem, 10000).catch(() => undefined);
  }
  return rows;
}

export function addDemoCommand(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("demo")
    .description(
      "show PacketFS against a plain TCP copy: two nodes, a real dataset sent as v1 then v2",
    )
    .option(
      "--rate <RATE>",
      "emulated link rate (root), e.g. 100mbit, 1gbit; 0 = unshaped",
      "1gbit",
    )
    .option("--rtt <TIME>", "emulated round-trip time (root), e.g. 20ms", "20ms")
    .option("--size <SIZE>", "about how much of this machine's files v1 holds, e.g. 16M", "100M")
    .option("--backend <udp|xdp>", "data-plane backend of both nodes (xdp: root only)", "udp")
    .option("--local", "two daemons on loopback, no namespaces (what a normal user gets)")
    .addHelpText(
      "after",
      `
As root: two network namespaces joined through a third where pfs-linkem emulates
the link (needs ip, ethtool, socat). Otherwise: two daemons on loopback, udp
backend, no link emulation. Each version is sent by PacketFS and by socat over
TCP; both copies are checked by sha256. Everything is removed at the end, also
on Ctrl-C. Takes about a minute.

Examples:
  $ pfs-dp demo
  $ sudo pfs-dp demo --rate 100mbit --rtt 40ms
  $ sudo pfs-dp demo --backend xdp
  $ pfs-dp demo --size 16M --local`,
    )
    .action(async (flags: DemoFlags) => {
      const made: Made = { nodes: [], started: [], children: [] };
      const onSignal = (sig: NodeJS.Signals): void => {
        io.err(`\n${sig}: cleaning up…\n`);
        cleanup(made);
        process.exit(sig === "SIGINT" ? 130 : 143);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const t0 = performance.now();
      try {
        const rows = await runDemo(flags, io, made);
        io.out("\n" + formatTable(rows) + "\n");
        const local = process.getuid?.() !== 0 || flags.local === true;
        io.out(verdict(rows[0] as Row, rows[1] as Row, local) + "\n");
        io.out(
          `(files verified by sha256 at the receiver; whole demo ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      } catch (err) {
        setCode(1);
        if (err instanceof PfsError) throw err;
        io.err(`error: the demo failed: ${(err as Error).message ?? String(err)}\n`);
        if (made.linkem && made.base) {
          made.linkem.kill("SIGTERM");
          await waitExit(made.linkem, 5000).catch(() => undefined);
          io.err(`  pfs-linkem saw: ${linkemStats(join(made.base, "linkem.json"))}\n`);
        }
        io.err("  everything the demo made has been removed\n");
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        cleanup(made);
      }
    });
}
