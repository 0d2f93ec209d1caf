/**
 * `pfs-dp init`: make a node's configuration directory: identity (key pair and
 * certificate), REST token, a commented config.yaml, and the received/ and
 * state/ directories. It checks everything that can be wrong before it writes,
 * so a refused init leaves the directory as it was.
 */

import { mkdirSync } from "node:fs";
import { hostname } from "node:os";

import type { Command } from "commander";

import { tryParseHostPort } from "../config/address.js";
import { writeFileAtomic } from "../config/atomic-write.js";
import { loadConfig, readConfigFile } from "../config/load.js";
import type { ConfigPaths } from "../config/paths.js";
import { renderConfigFile } from "../config/render.js";
import { sanitizeNodeName } from "../config/schema.js";
import { createToken } from "../config/token.js";
import { PfsError } from "../errors.js";
import { createIdentity } from "../identity.js";
import { DEFAULT_CONTROL_PORT } from "../peers.js";
import type { Io } from "../util/io.js";
import { addConfigDirOption, configDirSuffix, pathsFromFlags } from "./config-dir.js";

export interface InitFlags {
  configDir?: string;
  name?: string;
  force?: boolean;
  json?: boolean;
}

export interface InitResult {
  nodeName: string;
  fingerprint: string;
  configDir: string;
  configWritten: boolean;
  tokenWritten: boolean;
  /** the TCP port peers reach this node's control channel on */
  controlPort: number;
}

/** The node name to use, and whether config.yaml exists; throws before anything is written. */
function planName(paths: ConfigPaths, flagName: string | undefined) {
  const existing = readConfigFile(paths.configFile);
  if (existing === undefined) {
    return {
      nodeName: flagName ?? sanitizeNodeName(hostname()),
      configExists: false,
      port: DEFAULT_CONTROL_PORT,
    };
  }
  const cfg = loadConfig(paths); // refuses an invalid file before we touch anything
  if (flagName !== undefined && flagName !== cfg.nodeName) {
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `${paths.configFile} names this node "${cfg.nodeName}", not "${flagName}"`,
      "leave out --name to use the configured name, or change nodeName in config.yaml first",
    );
  }
  const hp = tryParseHostPort(cfg.control.listen);
  return {
    nodeName: cfg.nodeName,
    configExists: true,
    port: typeof hp === "string" ? DEFAULT_CONTROL_PORT : hp.port,
  };
}

/** Initialise the directory of `paths`. Throws PfsError; changes nothing when it does. */
export async function runInit(paths: ConfigPaths, flags: InitFlags): Promise<InitResult> {
  const plan = planName(paths, flags.name);
  // createIdentity checks the name and refuses to overwrite before it makes any directory.
  const id = await createIdentity(paths, plan.nodeName, { force: flags.force === true });
  const tokenWritten = createToken(paths, { force: flags.force === true });
  if (!plan.configExists) {
    writeFileAtomic(paths.configFile, renderConfigFile(paths, plan.nodeName), 0o644);
  }
  for (const dir of [paths.receiveDir, paths.stateDir, paths.logDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return {
    nodeName: id.nodeName,
    fingerprint: id.fingerprint,
    configDir: paths.dir,
    configWritten: !plan.configExists,
    tokenWritten,
    controlPort: plan.port,
  };
}

function report(r: InitResult, paths: ConfigPaths, suffix: string): string {
  const hostArg = r.controlPort === DEFAULT_CONTROL_PORT ? "HOST" : `HOST:${r.controlPort}`;
  return `Initialised PacketFS node "${r.nodeName}" in ${r.configDir}

  fingerprint  ${r.fingerprint}
  key          ${paths.keyFile} (mode 0600, keep it secret)
  certificate  ${paths.certFile}
  config       ${paths.configFile}${r.configWritten ? " (commented defaults)" : " (kept as it was)"}
  API token    ${paths.tokenFile}${r.tokenWritten ? "" : " (kept as it was)"}

Next:
  1. On each peer, pin this node's key (HOST = how that peer reaches this machine):
       $ pfs-dp peers add ${r.nodeName} ${hostArg} --key ${r.fingerprint}
  2. Here, pin each peer's key, as its own pfs-dp init printed it:
       $ pfs-dp peers add NAME HOST[:PORT] --key FINGERPRINT${suffix}
  3. Review ${paths.configFile}, then start the daemon (pfs-dp start).
`;
}

export function addInitCommand(program: Command, io: Io): void {
  const cmd = program
    .command("init")
    .description(
      "create this node's identity (Ed25519 key, certificate), API token and commented config.yaml",
    )
    .option(
      "--name <NAME>",
      "node name: lowercase letters, digits and '-' (default: the host name)",
    )
    .option("--force", "replace an existing identity and token (peers must pin the new key)")
    .option("--json", "print the result as JSON");
  addConfigDirOption(cmd)
    .addHelpText(
      "after",
      `
Creates DIR (mode 0700) with identity/key.pem (0600), identity/cert.pem, token (0600),
config.yaml, received/ and state/. An existing config.yaml is kept (and checked);
an existing identity is kept unless --force is given. Prints the key fingerprint
that peers pin with pfs-dp peers add.

Examples:
  $ pfs-dp init
  $ pfs-dp init --name alpha --config-dir /srv/pfs/alpha

  # new key after a compromise (every peer must pin it again)
  $ sudo pfs-dp init --force`,
    )
    .action(async (flags: InitFlags) => {
      const paths = pathsFromFlags(flags);
      const r = await runInit(paths, flags);
      io.out(
        flags.json
          ? JSON.stringify(r, null, 2) + "\n"
          : report(r, paths, configDirSuffix(flags, paths)),
      );
    });
}
