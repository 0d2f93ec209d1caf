/**
 * Runs a daemon in this process until SIGTERM/SIGINT (`pfs-dp start
 * --foreground`): loads the configuration, identity, token and peers of a
 * config dir, starts the data plane and the control channel (PfsDaemon), and
 * serves the REST API and /metrics. Logs are structured JSON lines (pino).
 */

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import pino from "pino";

import { buildApp } from "../api/app.js";
import { startServer } from "../api/server.js";
import { type ConfigOverrides, loadConfig } from "../config/load.js";
import type { ConfigPaths } from "../config/paths.js";
import { loadToken } from "../config/token.js";
import { PfsError } from "../errors.js";
import { loadIdentity } from "../identity.js";
import { PeerStore } from "../peers.js";
import { PfsDaemon } from "./daemon.js";
import { checkXdpPrivileges } from "./privileges.js";
import { settingsFromConfig } from "./settings.js";

export function pidFile(paths: ConfigPaths): string {
  return join(paths.stateDir, "daemon.pid");
}

export function daemonLogFile(paths: ConfigPaths): string {
  return join(paths.stateDir, "daemon.log");
}

/** Where the running daemon says its REST API listens (flags may have moved it). */
export function runtimeFile(paths: ConfigPaths): string {
  return join(paths.stateDir, "daemon.json");
}

export function runningRestAddress(paths: ConfigPaths): string | undefined {
  if (runningPid(paths) === undefined) return undefined;
  try {
    const j = JSON.parse(readFileSync(runtimeFile(paths), "utf8")) as { rest?: unknown };
    return typeof j.rest === "string" ? j.rest : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the daemon of this config dir, if one runs. */
export function runningPid(paths: ConfigPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(paths), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

export interface Running {
  daemon: PfsDaemon;
  restAddress: string;
  stop(): Promise<void>;
  /** resolves when the daemon has stopped (by signal or stop()) */
  stopped: Promise<void>;
}

export async function runDaemon(
  paths: ConfigPaths,
  overrides: ConfigOverrides,
  opts: { handleSignals?: boolean; logDestination?: pino.DestinationStream } = {},
): Promise<Running> {
  const config = loadConfig(paths, overrides);
  if (config.dataplane.backend === "xdp") checkXdpPrivileges();
  const other = runningPid(paths);
  if (other !== undefined && other !== process.pid) {
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `a daemon already runs for ${paths.dir} (pid ${other})`,
      "stop it first (pfs-dp stop), or use another --config-dir",
    );
  }
  const identity = loadIdentity(paths);
  const token = loadToken(paths);
  const log = pino(
    { level: config.logLevel, base: { node: config.nodeName } },
    opts.logDestination ?? pino.destination(1),
  );
  const settings = settingsFromConfig(config, paths);
  for (const dir of [settings.dataplane.receiveRoot, settings.dataplane.logDir, paths.stateDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const daemon = new PfsDaemon(settings, identity, new PeerStore(paths.peersFile), log);
  await daemon.start();
  const app = buildApp({ daemon, token, logger: log.child({ component: "rest" }) });
  let close: Awaited<ReturnType<typeof startServer>>;
  try {
    close = await startServer(app, config.rest.listen);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  writeFileSync(pidFile(paths), `${process.pid}\n`, { mode: 0o600 });
  writeFileSync(
    runtimeFile(paths),
    JSON.stringify({ pid: process.pid, rest: close.address, fingerprint: identity.fingerprint }) +
      "\n",
    { mode: 0o600 },
  );
  const blobTimer = setInterval(() => void daemon.refreshBlobStats().catch(() => undefined), 1000);
  void daemon.refreshBlobStats().catch(() => undefined);
  log.info(
    { fingerprint: identity.fingerprint, rest: close.address, pid: process.pid },
    "pfs-dp daemon running",
  );

  let done: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (done = r));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("stopping");
      clearInterval(blobTimer);
      await close();
      await daemon.stop();
      rmSync(pidFile(paths), { force: true });
      rmSync(runtimeFile(paths), { force: true });
      log.info("stopped");
      log.flush?.();
      done();
    })());
  if (opts.handleSignals) {
    process.once("SIGTERM", () => void stop());
    process.once("SIGINT", () => void stop());
  }
  return { daemon, restAddress: close.address, stop, stopped };
}
