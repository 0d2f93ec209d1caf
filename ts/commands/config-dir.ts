/** The `--config-dir DIR` option that every command touching a node's files takes. */

import type { Command } from "commander";

import { type ConfigPaths, resolvePaths } from "../config/paths.js";

export const CONFIG_DIR_HELP =
  "configuration directory (default: $PFS_CONFIG_DIR, else /etc/packetfs as root, else ~/.config/packetfs)";

export function addConfigDirOption(cmd: Command): Command {
  return cmd.option("--config-dir <DIR>", CONFIG_DIR_HELP);
}

/** The paths a command works on, from its --config-dir flag and the environment. */
export function pathsFromFlags(flags: { configDir?: string | undefined }): ConfigPaths {
  return resolvePaths({ flag: flags.configDir });
}

/** " --config-dir DIR" when the flag was given, for commands we suggest to the user. */
export function configDirSuffix(flags: { configDir?: string | undefined }, paths: ConfigPaths) {
  return flags.configDir === undefined ? "" : ` --config-dir ${shellQuote(paths.dir)}`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
