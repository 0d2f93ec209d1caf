/**
 * `pfs-dp send PATH... PEER[:DEST]`, `pfs-dp transfers` and `pfs-dp blob
 * stats`: the operator's view of transfers, through the daemon's REST API.
 * On a terminal `send` draws a live progress line (bytes, rate, share sent as
 * pointers, ETA); it ends with a summary: file bytes against wire bytes, time,
 * and whether the receiver verified every file's digest.
 */

import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import type { Command } from "commander";

import type { TransferInfo } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import type { Io } from "../util/io.js";
import { addConfigDirOption, pathsFromFlags } from "./config-dir.js";
import { clientFor } from "./daemon.js";

function human(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i ? n.toFixed(n < 10 ? 2 : 1) : n} ${units[i]}`;
}

/** "beta" or "beta:incoming/today" → peer and destination. */
export function parseTarget(s: string): { peer: string; dest: string } {
  const i = s.indexOf(":");
  const peer = i < 0 ? s : s.slice(0, i);
  const dest = i < 0 ? "" : s.slice(i + 1).replace(/\/+$/, "");
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(peer)) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `${s}: expected PEER or PEER:DEST, with PEER a name from pfs-dp peers list`,
    );
  }
  if (dest.startsWith("/") || dest.split("/").some((p) => p === ".." || p === ".")) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `destination ${dest}: must be relative to the peer's receive root, without . or ..`,
    );
  }
  return { peer, dest };
}

function progressLine(t: TransferInfo, secs: number): string {
  const rate = secs > 0 ? t.bytesDone / secs : 0;
  const pct = t.bytesTotal ? Math.floor((100 * t.bytesDone) / t.bytesTotal) : 0;
  const ptr = t.bytesDone ? Math.round((100 * t.pointerBytes) / t.bytesDone) : 0;
  const eta = rate > 0 ? Math.ceil((t.bytesTotal - t.bytesDone) / rate) : undefined;
  const width = 24;
  const bar = "#".repeat(Math.floor((pct * width) / 100)).padEnd(width, ".");
  return `[${bar}] ${pct}% ${human(t.bytesDone)}/${human(t.bytesTotal)} ${human(rate)}/s, ${ptr}% as pointers${eta !== undefined ? `, ETA ${eta}s` : ""}`;
}

function summary(t: TransferInfo, secs: number): string {
  const ratio = t.wireBytes > 0 ? t.bytesDone / t.wireBytes : 0;
  const lines = [
    `${t.state === "done" ? "sent" : t.state}: ${t.sources.join(" ")} → ${t.peer}:${t.dest || "."}`,
    `  files      ${t.filesDone} of ${t.filesTotal}, ${human(t.bytesDone)}`,
    `  wire       ${human(t.wireBytes)}${ratio >= 1 ? ` (${ratio.toFixed(ratio < 10 ? 1 : 0)}× fewer bytes than the files)` : ""}, ${human(t.retransmittedBytes)} resent`,
    `  pointers   ${human(t.pointerBytes)} of the file bytes travelled as pointers`,
    `  time       ${secs.toFixed(2)} s${secs > 0 ? `, ${human(t.bytesDone / secs)}/s` : ""}`,
    `  verified   ${t.state === "done" ? "yes: the receiver checked every file's digest before keeping it" : "no"}`,
  ];
  if (t.error) lines.push(`  error      ${t.error.message} (${t.error.code})`);
  return lines.join("\n") + "\n";
}

export function addSendCommands(program: Command, io: Io, setCode: (c: number) => void): void {
  addConfigDirOption(
    program
      .command("send")
      .description("send files or directories to a peer (PEER or PEER:DEST below its receive root)")
      .argument("<paths...>", "files or directories, then the target PEER[:DEST]")
      .option(
        "--json",
        "print the finished transfer as JSON instead of a progress line and summary",
      )
      .option("--no-wait", "return once the transfer is queued")
      .addHelpText(
        "after",
        `
Examples:
  $ pfs-dp send ./images beta
  $ pfs-dp send release.tar notes.md beta:incoming/2026-11
  $ pfs-dp send --json /srv/backup beta:backups`,
      ),
  ).action(async (args: string[], f: { configDir?: string; json?: boolean; wait: boolean }) => {
    if (args.length < 2) {
      throw new PfsError("PFS_ERR_USAGE", "give at least one path and the target PEER[:DEST]");
    }
    const { peer, dest } = parseTarget(args[args.length - 1] as string);
    const sources = args.slice(0, -1).map((p) => resolve(p));
    const client = clientFor(pathsFromFlags(f));
    const t0 = Date.now();
    let t = await client.send({ sources, peer, dest });
    if (!f.wait) {
      io.out(f.json ? JSON.stringify(t) + "\n" : `queued transfer ${t.id}\n`);
      return;
    }
    const tty = process.stderr.isTTY && !f.json;
    while (t.state === "queued" || t.state === "running") {
      await sleep(200);
      t = await client.transfer(t.id);
      if (tty) io.err(`\r${progressLine(t, (Date.now() - t0) / 1000)}\x1b[K`);
    }
    if (tty) io.err("\n");
    const secs = (Date.now() - t0) / 1000;
    io.out(f.json ? JSON.stringify(t, null, 2) + "\n" : summary(t, secs));
    if (t.state !== "done") setCode(1);
  });

  addConfigDirOption(
    program
      .command("transfers")
      .description("list transfers (sent and received) of the running daemon")
      .option("--json", "print JSON")
      .addHelpText("after", "\nExamples:\n  $ pfs-dp transfers\n  $ pfs-dp transfers --json"),
  ).action(async (f: { configDir?: string; json?: boolean }) => {
    const list = await clientFor(pathsFromFlags(f)).transfers();
    if (f.json) {
      io.out(JSON.stringify(list, null, 2) + "\n");
      return;
    }
    if (list.length === 0) {
      io.out("no transfers\n");
      return;
    }
    for (const t of list) {
      io.out(
        `${t.id}  ${t.direction.padEnd(7)} ${t.peer.padEnd(12)} ${t.state.padEnd(9)} ${human(t.bytesDone)}/${human(t.bytesTotal)}  wire ${human(t.wireBytes)}  ${t.direction === "send" ? t.sources.join(" ") : ""} → ${t.dest || "."}\n`,
      );
    }
  });

  const blob = program
    .command("blob")
    .description("the blob logs shared with each peer")
    .addHelpText("after", "\nExamples:\n  $ pfs-dp blob stats\n  $ pfs-dp blob stats --json");
  addConfigDirOption(
    blob
      .command("stats")
      .description("what each peer's logs hold (as last made durable)")
      .option("--json", "print JSON")
      .addHelpText("after", "\nExamples:\n  $ pfs-dp blob stats\n  $ pfs-dp blob stats --json"),
  ).action(async (f: { configDir?: string; json?: boolean }) => {
    const blobs = await clientFor(pathsFromFlags(f)).blobStats();
    if (f.json) {
      io.out(JSON.stringify(blobs, null, 2) + "\n");
      return;
    }
    if (blobs.length === 0) io.out("no peers\n");
    for (const b of blobs) {
      io.out(
        `${b.peer}\n  tx  ${human(b.tx.held)} of ${human(b.tx.capacity)} held, epoch ${b.tx.epoch}\n  rx  ${human(b.rx.held)} of ${human(b.rx.capacity)} held, epoch ${b.rx.epoch}\n`,
      );
    }
  });
  addConfigDirOption(
    blob
      .command("verify")
      .description("compare the logs shared with a peer, segment by segment, with the peer's copy")
      .argument("<peer>", "a peer name from pfs-dp peers list")
      .option("--json", "print JSON")
      .addHelpText(
        "after",
        "\nExits 1 when a segment differs (the next session start cuts both logs back to\nthe last segment they agree on).\n\nExamples:\n  $ pfs-dp blob verify beta\n  $ pfs-dp blob verify beta --json",
      ),
  ).action(async (peer: string, f: { configDir?: string; json?: boolean }) => {
    const v = await clientFor(pathsFromFlags(f)).verifyBlob(peer);
    if (f.json) {
      io.out(JSON.stringify(v, null, 2) + "\n");
    } else {
      io.out(`${v.peer}: ${v.agree ? "the logs agree" : "the logs differ"}\n`);
      for (const d of v.directions) {
        const what = d.direction === "tx" ? "our tx / their rx" : "our rx / their tx";
        const detail = !d.sameEpoch
          ? "different epochs (the next session starts a new one)"
          : d.firstMismatch !== undefined
            ? `segment ${d.firstMismatch} differs (${d.segmentsCompared} before it agree)`
            : `${d.segmentsCompared} segments of ${human(d.segmentSize)} agree`;
        io.out(`  ${what.padEnd(18)} ${detail}\n`);
      }
    }
    if (!v.agree) setCode(1);
  });
}
