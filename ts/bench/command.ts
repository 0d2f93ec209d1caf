/**
 * The `pfs-dp bench` command group: `bench codec` (the pointer codec alone) and
 * `bench transfer` (two session engines on this machine).
 */

import { Command, InvalidArgumentError } from "commander";

import type { Io } from "../util/io.js";
import { SizeError, parseSize } from "../util/size.js";
import { runCodecBench } from "./codec.js";
import { runMatrixBench } from "./matrix.js";
import { LINKS } from "./matrix-plan.js";
import { TOOLS } from "./matrix-types.js";
import { TRANSFER_EXAMPLE, runTransferBench } from "./transfer.js";

function fractionOption(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n))
    throw new InvalidArgumentError(`"${text}" is not a number`);
  return n;
}

/** Commander argument parser for a positive byte size ("64K", "1MiB", "4096"). */
export function sizeOption(text: string): number {
  let n: number;
  try {
    n = parseSize(text);
  } catch (err) {
    if (err instanceof SizeError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  if (n <= 0) throw new InvalidArgumentError(`"${text}" must be more than 0 bytes`);
  return n;
}

export function intOption(text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`"${text}" is not an integer`);
  return Number(text);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface CodecFlags {
  base: string[];
  target?: string;
  json?: boolean;
  blockSize?: number;
  litMax?: number;
  avgChunk?: number;
  chunkLevel?: number;
  minMatch?: number;
  logSize?: number;
  level?: number;
  sparseLevel?: number;
}

/** Adds `bench` and its subcommands to `program`; `setExit` receives each action's exit code. */
export function addBenchCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const bench = program
    .command("bench")
    .description("measure PacketFS components on this machine")
    .addHelpText(
      "after",
      `
Examples:
  $ pfs-dp bench codec --base old.tar --target new.tar
  $ pfs-dp bench codec --help`,
    );

  bench
    .command("codec")
    .description(
      "measure the wire bytes and speed of the pointer codec sending NEW to a peer that already has the OLD files",
    )
    .option("--base <OLD>", "a file the peer already has (repeatable, sent in order)", collect, [])
    .option("--target <NEW>", "the file to send (required)")
    .option("--json", "print the report as JSON")
    .option("--block-size <BYTES>", "most input bytes per block (default 4M)", sizeOption)
    .option("--lit-max <BYTES>", "most literal bytes per block (default 128K)", sizeOption)
    .option(
      "--avg-chunk <BYTES>",
      "average anchor spacing, a power of two (default 256)",
      sizeOption,
    )
    .option("--chunk-level <N>", "chunker normalization level 0..3 (default 0)", intOption)
    .option("--min-match <BYTES>", "shortest pointer emitted (default 48)", sizeOption)
    .option(
      "--log-size <BYTES>",
      "capacity of each blob log, a power of two (default 1G)",
      sizeOption,
    )
    .option("--level <N>", "zstd level for literals, 0 = never compress (default 3)", intOption)
    .option(
      "--sparse-level <N>",
      "zstd level when literals are <= 1/4 of a block (default 9)",
      intOption,
    )
    .addHelpText(
      "after",
      `
Sizes take binary suffixes: 64K = 64KiB = 65536, 1M, 1G.
Exits 1 if the decoded bytes differ from NEW.

Examples:
  # wire cost of a new release after the previous one was sent
  $ pfs-dp bench codec --base typescript-5.6.2.tar --target typescript-5.6.3.tar

  # several bases, machine-readable report
  $ pfs-dp bench codec --base a-1.0.tar --base a-1.1.tar --target a-1.2.tar --json

  # novel data (no base): costs at most a little more than the bytes themselves
  $ pfs-dp bench codec --target random.bin --block-size 256K --level 3`,
    )
    .action(async (flags: CodecFlags) => {
      setExit(
        await runCodecBench(
          {
            base: flags.base,
            target: flags.target,
            json: flags.json,
            blockSize: flags.blockSize,
            litMax: flags.litMax,
            avgChunk: flags.avgChunk,
            chunkLevel: flags.chunkLevel,
            minMatch: flags.minMatch,
            logSize: flags.logSize,
            level: flags.level,
            sparseLevel: flags.sparseLevel,
          },
          io,
        ),
      );
    });

  bench
    .command("transfer")
    .description(
      "move a file between two session engines on this machine and report goodput and wire bytes",
    )
    .option("--target <FILE>", "the file to send (required)")
    .option("--base <FILE>", "a file sent first, as earlier traffic")
    .option(
      "--loss <P>",
      "injected loss on each receiving side, a fraction (0.01 = 1 %)",
      fractionOption,
    )
    .option("--reorder <P>", "injected reordering, a fraction", fractionOption)
    .option("--duplicate <P>", "injected duplication of packets, a fraction", fractionOption)
    .option(
      "--corrupt <P>",
      "injected corruption of packets (caught by authentication), a fraction",
      fractionOption,
    )
    .option("--rate <MBIT>", "rate cap in Mbit/s (required with --cc fixed)", fractionOption)
    .option("--cc <ALGO>", "congestion control: bbr (default), cubic or fixed")
    .option("--backend <NAME>", "udp (two processes over loopback, default) or mem (one process)")
    .option("--mtu <BYTES>", "largest UDP payload per packet (default 1472)", intOption)
    .option(
      "--receive-root <DIR>",
      "an existing directory the receiver writes into (default: a fresh one in /dev/shm)",
    )
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Fractions are in [0, 1): 0.01 = 1 %. Faults apply to what each side receives.
The received files go to DIR/base/ and DIR/target/ under their own names and are
removed after they are compared with the originals.
Exits 1 unless every byte arrived and matched.

Examples:
  # 1 % loss over loopback UDP
  $ ${TRANSFER_EXAMPLE}

  # duplicated and corrupted packets as well
  $ pfs-dp bench transfer --target big.bin --loss 0.01 --duplicate 0.02 --corrupt 0.001

  # a new version after the old one: how much travels as pointers
  $ pfs-dp bench transfer --base app-1.0.tar --target app-1.1.tar

  # receive onto a disk instead of /dev/shm (the directory must exist)
  $ pfs-dp bench transfer --target big.bin --receive-root /var/tmp/pfs-rx

  # the engine's own cost, without the kernel
  $ pfs-dp bench transfer --target big.bin --backend mem --json`,
    )
    .action(async (flags: Record<string, unknown>) => {
      setExit(await runTransferBench(flags, io));
    });

  bench
    .command("matrix")
    .description(
      "PacketFS against a TCP copy, rsync and zstd on emulated links between two test hosts (root)",
    )
    .option("--quick", "a subset: small datasets, two links, one run each (about 10 minutes)")
    .option("--out <DIR>", "where matrix.json, matrix.md and the charts go (default bench/results)")
    .option("--reps <N>", "timed runs per cell (default 3, --quick 1)")
    .option("--links <IDS>", `comma-separated, from ${LINKS.map((l) => l.id).join(", ")}`)
    .option("--datasets <IDS>", "comma-separated dataset ids of the manifest (default all)")
    .option("--tools <IDS>", `comma-separated, from ${TOOLS.join(", ")}`)
    .option("--loss <PCTS>", "loss percentages swept on 1g-20ms (default 0.1,1,5; --quick 1)")
    .option("--manifest <FILE>", "a dataset MANIFEST.json instead of bench/matrix-datasets.sh's")
    .addHelpText(
      "after",
      `
Run as root: it makes three network namespaces (test hosts A and B, the
emulator between them), veth pairs and cgroups, and removes them at the end,
also on Ctrl-C. Datasets are assembled and cached by bench/matrix-datasets.sh
in bench/data/matrix (the first run downloads npm packages and builds a
Debian image with debootstrap). docs/benchmarks.md explains the method.

Examples:
  $ pfs-dp bench matrix --quick
  $ pfs-dp bench matrix --links 1g-20ms --datasets typescript,image --reps 5
  $ pfs-dp bench matrix --out /tmp/matrix`,
    )
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      setExit(await runMatrixBench(flags, io));
    });
}
