/**
 * `pfs-dp start|stop|status`: the daemon of a config dir. `start` runs it in
 * the background (a detached `start --foreground` whose output goes to
 * state/daemon.log) and returns once its REST API answers; `--foreground`
 * runs it in this process until SIGTERM or SIGINT.
 */

import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import type { Command } from "commander";

import { ApiClient } from "../api/client.js";
import { type ConfigOverrides, loadConfig } from "../config/load.js";
import type { ConfigPaths } from "../config/paths.js";
import { loadToken } from "../config/token.js";
import { describeBackend } from "../daemon/backend.js";
import { checkXdpPrivileges } from "../daemon/privileges.js";
import { daemonLogFile, runDaemon, runningPid, runningRestAddress } from "../daemon/run.js";
import type { BackendStatus } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import { loadIdentity } from "../identity.js";
import type { Io } from "../util/io.js";
import { addConfigDirOption, configDirSuffix, pathsFromFlags } from "./config-dir.js";

interface StartFlags {
  configDir?: string;
  config?: string;
  iface?: string;
  backend?: string;
  xdpMode?: string;
  xdpCopy?: string;
  listen?: string;
  control?: string;
  cores?: string;
  blobSize?: string;
  receiveRoot?: string;
  rest?: string;
  foreground?: boolean;
  set?: string[];
}

/**
 * `--set FIELD=VALUE` (repeatable): any configuration field by its path, e.g.
 * policy.cc=cubic, dataplane.mtu=9000, logLevel=debug. A value that reads as
 * JSON (a number, true/false) is taken as such, anything else as a string;
 * the configuration's validation then names a bad field or value.
 */
export function setOverrides(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const path = eq > 0 ? pair.slice(0, eq).split(".") : [];
    if (eq <= 0 || path.some((p) => !/^[A-Za-z][A-Za-z0-9]*$/.test(p))) {
      throw new PfsError(
        "PFS_ERR_USAGE",
        `--set ${pair}: expected FIELD=VALUE with FIELD a configuration path like policy.cc`,
        "the fields are those of config.yaml (pfs-dp init writes it, commented)",
      );
    }
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    if (/^(-?\d+(\.\d+)?|true|false)$/.test(raw)) value = JSON.parse(raw);
    let node = out;
    for (const p of path.slice(0, -1)) {
      if (typeof node[p] !== "object" || node[p] === null) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return out;
}

function overridesOf(f: StartFlags): ConfigOverrides {
  const o: Record<string, unknown> = setOverrides(f.set ?? []);
  const dataplane: Record<string, unknown> = { ...(o.dataplane as object | undefined) };
  if (f.backend !== undefined) dataplane.backend = f.backend;
  if (f.iface !== undefined) dataplane.iface = f.iface;
  if (f.xdpMode !== undefined) dataplane.xdpMode = f.xdpMode;
  if (f.xdpCopy !== undefined) dataplane.xdpCopy = f.xdpCopy;
  if (f.listen !== undefined) dataplane.listen = f.listen;
  if (f.cores !== undefined) dataplane.cores = f.cores;
  if (f.blobSize !== undefined) dataplane.blobSize = f.blobSize;
  if (f.receiveRoot !== undefined) dataplane.receiveRoot = f.receiveRoot;
  if (Object.keys(dataplane).length) o.dataplane = dataplane;
  if (f.control !== undefined) o.control = { listen: f.control };
  if (f.rest !== undefined) o.rest = { listen: f.rest };
  return o as ConfigOverrides;
}

function pathsOf(f: { configDir?: string; config?: string }): ConfigPaths {
  const p = pathsFromFlags(f);
  return f.config ? { ...p, configFile: f.config } : p;
}

/** A client for the daemon of a config dir: where it says it listens, else the configuration's address. */
export function clientFor(paths: ConfigPaths): ApiClient {
  const address = runningRestAddress(paths) ?? loadConfig(paths).rest.listen;
  return new ApiClient({ address, token: loadToken(paths) });
}

/** "xdp on eth0, native mode, …; cores 2-3" */
function backendLine(b: BackendStatus): string {
  return `${describeBackend(b)}; ${b.cores === "" ? "workers not pinned" : `cores ${b.cores}`}`;
}

/** The argv that re-runs this CLI (node + script). */
function self(): string[] {
  return [process.execPath, process.argv[1] ?? ""];
}

async function startBackground(paths: ConfigPaths, f: StartFlags, io: Io): Promise<void> {
  const running = runningPid(paths);
  if (running !== undefined) {
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `a daemon already runs for ${paths.dir} (pid ${running})`,
      `pfs-dp status${configDirSuffix(f, paths)} shows it; pfs-dp stop stops it`,
    );
  }
  // fail here, with the message, rather than in a background process
  const config = loadConfig(paths, overridesOf(f));
  if (config.dataplane.backend === "xdp") checkXdpPrivileges();
  const identity = loadIdentity(paths);
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const logFile = daemonLogFile(paths);
  const out = openSync(logFile, "a", 0o600);
  const logStart = statSync(logFile).size;
  const args = process.argv.slice(2).filter((a) => a !== "--foreground");
  const [node, script] = self();
  const child = spawn(node as string, [script as string, ...args, "--foreground"], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  const client = new ApiClient({
    address: config.rest.listen,
    token: loadToken(paths),
    timeoutMs: 1000,
  });
  for (let i = 0; i < 150; i++) {
    await sleep(100);
    if (child.exitCode !== null) break;
    try {
      const h = await client.health();
      io.out(
        `pfs-dp started: node ${config.nodeName}, pid ${child.pid}\n` +
          `  key      ${identity.fingerprint}\n` +
          `  peers    connect to ${config.control.listen} (control), ${config.dataplane.listen} (data)\n` +
          `  REST     ${config.rest.listen}\n` +
          `  log      ${logFile}\n` +
          `  data plane ${h.dataplane.running ? `running (pid ${h.dataplane.pid})` : "starting"}\n` +
          (h.dataplane.backend ? `  backend  ${backendLine(h.dataplane.backend)}\n` : ""),
      );
      return;
    } catch {
      /* not up yet */
    }
  }
  if (child.exitCode !== null) throw startFailure(logFile, logStart, child.exitCode);
  throw new PfsError(
    "PFS_ERR_DAEMON_NOT_RUNNING",
    `the daemon did not come up within 15 s`,
    `its log says why: ${logFile}`,
  );
}

/**
 * Why a daemon started in the background exited at once: the error it printed
 * into its log (e.g. the data plane's own message when AF_XDP cannot be set
 * up), so that the operator reads it here rather than in the log.
 */
function startFailure(logFile: string, from: number, code: number): PfsError {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8").slice(from);
  } catch {
    /* no log to quote */
  }
  const at = text.lastIndexOf("error: ");
  const [message, hint] = (at >= 0 ? text.slice(at + 7) : "").split("\n  hint: ");
  return new PfsError(
    "PFS_ERR_DAEMON_NOT_RUNNING",
    `the daemon exited at start (status ${code})${message ? `: ${message.trim()}` : ""}`,
    hint ? `${hint.split("\n")[0]}; the log: ${logFile}` : `its log says why: ${logFile}`,
  );
}

export function addDaemonCommands(program: Command, io: Io, setCode: (c: number) => void): void {
  addConfigDirOption(
    program
      .command("start")
      .description("start the daemon: its data plane, control channel, REST API and metrics")
      .option("--config <FILE>", "configuration file (default: <config-dir>/config.yaml)")
      .option(
        "--backend <udp|xdp>",
        "data-plane packet I/O: udp (kernel sockets, any user; the default) or xdp (AF_XDP on --iface; root)",
      )
      .option(
        "--iface <IF>",
        "network interface the xdp backend takes packets from, e.g. eth0 (required with it)",
      )
      .option(
        "--xdp-mode <auto|native|generic>",
        "xdp: attach the XDP program in the driver (native), in the kernel stack for any driver (generic, slower), or auto: native, else generic (default)",
      )
      .option(
        "--xdp-copy <auto|zerocopy|copy>",
        "xdp: bind the AF_XDP sockets zero-copy, in copy mode, or auto: zero-copy, else copy (default)",
      )
      .option("--listen <ADDR:PORT>", "data-plane UDP address peers send to")
      .option("--control <ADDR:PORT>", "TLS control-channel address peers connect to")
      .option("--cores <LIST>", "pin one data-plane worker to each CPU, e.g. 2,3 or 2-5")
      .option("--blob-size <SIZE>", "blob log size per peer and direction, e.g. 1GiB")
      .option("--receive-root <DIR>", "received files are written only below DIR")
      .option("--rest <ADDR:PORT|unix:PATH>", "where the REST API and /metrics listen")
      .option("--foreground", "run in this process until SIGTERM/SIGINT (for systemd)")
      .option(
        "--set <FIELD=VALUE>",
        "any configuration field, e.g. policy.cc=cubic or dataplane.mtu=9000 (repeatable)",
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .addHelpText(
        "after",
        `
Every option overrides the configuration file; defaults are in the commented
config.yaml that pfs-dp init writes. Root is needed only for --backend xdp
(CAP_BPF and CAP_NET_ADMIN); with it, --listen 0.0.0.0:PORT means the first IPv4
address of --iface, and pfs-dp status shows the mode the data plane got.

Examples:
  $ pfs-dp start
  $ pfs-dp start --config-dir /tmp/node-b --rest 127.0.0.1:7545 --listen 0.0.0.0:7544
  $ pfs-dp start --foreground --cores 2-3
  $ sudo pfs-dp start --backend xdp --iface eth0 --cores 2-3
  $ sudo pfs-dp start --backend xdp --iface veth0 --xdp-mode generic --xdp-copy copy
  $ pfs-dp start --set policy.cc=cubic --set keyRotation.intervalSeconds=600`,
      ),
  ).action(async (f: StartFlags) => {
    const paths = pathsOf(f);
    if (!f.foreground) return startBackground(paths, f, io);
    const r = await runDaemon(paths, overridesOf(f), { handleSignals: true });
    await r.stopped;
  });

  addConfigDirOption(
    program
      .command("stop")
      .description("stop the daemon (its data plane persists the blob logs)")
      .addHelpText(
        "after",
        "\nExamples:\n  $ pfs-dp stop\n  $ pfs-dp stop --config-dir /tmp/node-b",
      ),
  ).action(async (f: { configDir?: string }) => {
    const paths = pathsFromFlags(f);
    const pid = runningPid(paths);
    if (pid === undefined) {
      io.out(`no daemon runs for ${paths.dir}\n`);
      return;
    }
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 200; i++) {
      await sleep(100);
      if (runningPid(paths) === undefined) {
        io.out(`pfs-dp stopped (pid ${pid})\n`);
        return;
      }
    }
    throw new PfsError(
      "PFS_ERR_DAEMON_NOT_RUNNING",
      `the daemon (pid ${pid}) did not stop within 20 s`,
      `kill -9 ${pid} ends it; its blob logs are file-backed and survive`,
    );
  });

  addConfigDirOption(
    program
      .command("status")
      .description("show the daemon, its data plane, peers and sessions")
      .option("--json", "print JSON")
      .addHelpText("after", "\nExamples:\n  $ pfs-dp status\n  $ pfs-dp status --json"),
  ).action(async (f: { configDir?: string; json?: boolean }) => {
    const paths = pathsFromFlags(f);
    const identity = loadIdentity(paths);
    const client = clientFor(paths);
    let health;
    try {
      health = await client.health();
    } catch (err) {
      if (f.json)
        io.out(JSON.stringify({ running: false, fingerprint: identity.fingerprint }) + "\n");
      else io.out(`pfs-dp is not running for ${paths.dir}\nkey ${identity.fingerprint}\n`);
      setCode(3);
      return;
    }
    const [peers, sessions, transfers] = await Promise.all([
      client.peers(),
      client.sessions(),
      client.transfers(),
    ]);
    if (f.json) {
      io.out(
        JSON.stringify(
          { running: true, fingerprint: identity.fingerprint, health, peers, sessions, transfers },
          null,
          2,
        ) + "\n",
      );
      return;
    }
    const dp = health.dataplane;
    const lines = [
      `pfs-dp: ${health.status}`,
      `  key        ${identity.fingerprint}`,
      `  data plane ${dp.running ? `running, pid ${dp.pid}` : "not running"}, ${dp.restarts} restart(s)`,
      ...(dp.backend ? [`  backend    ${backendLine(dp.backend)}`] : []),
      `  peers      ${peers.length}`,
    ];
    for (const p of peers) {
      const s = sessions.find((x) => x.peer === p.name);
      lines.push(
        `    ${p.name.padEnd(16)} ${s ? s.state : "no session"}${s?.error ? ` (${s.error.message})` : ""}`,
      );
    }
    const active = transfers.filter((t) => t.state === "running" || t.state === "queued");
    lines.push(
      `  transfers  ${active.length} active, ${transfers.length - active.length} finished`,
    );
    io.out(lines.join("\n") + "\n");
  });
}
