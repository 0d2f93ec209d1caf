/**
 * The `pfs-dp` command-line program, built by a function so that tests can run it
 * in-process with captured output (buildProgram + main), and a thin ts/cli.ts
 * runs it for real.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Command, CommanderError } from "commander";

import { addBenchCommands } from "./bench/command.js";
import { addDaemonCommands } from "./commands/daemon.js";
import { addDemoCommand } from "./commands/demo.js";
import { addInitCommand } from "./commands/init.js";
import { addPeersCommands } from "./commands/peers.js";
import { addSendCommands } from "./commands/send.js";
import { formatError } from "./errors.js";
import { repoRoot } from "./native.js";
import { type Io, processIo } from "./util/io.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export interface BuiltProgram {
  program: Command;
  /** Exit code the last action asked for (0 unless it set one). */
  exitCode(): number;
}

export function buildProgram(io: Io = processIo): BuiltProgram {
  let code = 0;
  const program = new Command("pfs-dp");
  // Settings made before subcommands are added are inherited by them.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(s),
    })
    .version(version(), "-V, --version", "print the version of pfs-dp")
    .showHelpAfterError("(add --help for usage and examples)")
    .description(
      "PacketFS data-plane control: sends pointers into a blob both peers hold instead of bytes the peer already has",
    )
    .addHelpText(
      "after",
      `
Examples:
  $ pfs-dp demo
  $ pfs-dp init --name alpha
  $ pfs-dp peers add beta 198.18.0.2 --key sha256:…
  $ pfs-dp bench codec --base old.tar --target new.tar
  $ pfs-dp bench --help
  $ pfs-dp help bench codec`,
    );

  addInitCommand(program, io);
  addPeersCommands(program, io);
  addDaemonCommands(program, io, (c) => {
    code = c;
  });
  addSendCommands(program, io, (c) => {
    code = c;
  });
  addBenchCommands(program, io, (c) => {
    code = c;
  });
  addDemoCommand(program, io, (c) => {
    code = c;
  });
  return { program, exitCode: () => code };
}

/**
 * Run the program on argv (process.argv layout: node, script, args...).
 * Returns the exit code instead of exiting, and never throws.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const { program, exitCode } = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return exitCode();
  } catch (err) {
    // Commander has already printed its own message (or the help) for these.
    if (err instanceof CommanderError) return err.exitCode;
    io.err(formatError(err) + "\n");
    return 1;
  }
}
