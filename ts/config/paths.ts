/**
 * Where a node keeps its state: the configuration directory and the files in it.
 *
 * The directory is, in order: the `--config-dir DIR` flag, the PFS_CONFIG_DIR
 * environment variable, /etc/packetfs when running as root, ~/.config/packetfs
 * otherwise. Everything else hangs off it at fixed names, so one flag moves a
 * whole node (tests and several nodes on one machine rely on that).
 */

import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const CONFIG_DIR_ENV = "PFS_CONFIG_DIR";
export const ROOT_CONFIG_DIR = "/etc/packetfs";

export interface ConfigPaths {
  /** the configuration directory itself (mode 0700) */
  readonly dir: string;
  /** the daemon's settings (YAML) */
  readonly configFile: string;
  /** holds key.pem and cert.pem (mode 0700) */
  readonly identityDir: string;
  /** this node's Ed25519 private key, PKCS#8 PEM (mode 0600) */
  readonly keyFile: string;
  /** this node's self-signed certificate, PEM (mode 0644) */
  readonly certFile: string;
  /** the peers this node trusts, with their pinned fingerprints (mode 0600) */
  readonly peersFile: string;
  /** the REST API's bearer token (mode 0600) */
  readonly tokenFile: string;
  /** runtime state: logs, control regions, pid files */
  readonly stateDir: string;
  /** default of dataplane.logDir */
  readonly logDir: string;
  /** default of dataplane.receiveRoot */
  readonly receiveDir: string;
}

export interface ConfigDirSources {
  /** the --config-dir flag, if given */
  flag?: string | undefined;
  /** environment to read PFS_CONFIG_DIR from (default process.env) */
  env?: Readonly<Record<string, string | undefined>>;
  /** user id (default process.getuid(); undefined on platforms without one) */
  uid?: number | undefined;
  /** home directory (default os.homedir()) */
  home?: string;
}

/** The configuration directory, absolute: flag > PFS_CONFIG_DIR > /etc/packetfs (root) > ~/.config/packetfs. */
export function resolveConfigDir(src: ConfigDirSources = {}): string {
  if (src.flag !== undefined && src.flag !== "") return resolve(src.flag);
  const fromEnv = (src.env ?? process.env)[CONFIG_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  const uid = "uid" in src ? src.uid : process.getuid?.();
  if (uid === 0) return ROOT_CONFIG_DIR;
  return join(src.home ?? homedir(), ".config", "packetfs");
}

/** The files of the configuration directory `dir`. */
export function configPaths(dir: string): ConfigPaths {
  const d = resolve(dir);
  const identityDir = join(d, "identity");
  const stateDir = join(d, "state");
  return Object.freeze({
    dir: d,
    configFile: join(d, "config.yaml"),
    identityDir,
    keyFile: join(identityDir, "key.pem"),
    certFile: join(identityDir, "cert.pem"),
    peersFile: join(d, "peers.yaml"),
    tokenFile: join(d, "token"),
    stateDir,
    logDir: join(stateDir, "logs"),
    receiveDir: join(d, "received"),
  });
}

/** configPaths(resolveConfigDir(src)). */
export function resolvePaths(src: ConfigDirSources = {}): ConfigPaths {
  return configPaths(resolveConfigDir(src));
}
