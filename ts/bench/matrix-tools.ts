/**
 * The command lines of the matrix's reference tools, as a receiver (run
 * first, in the receiving namespace) and a sender (in the sending one):
 * a plain TCP copy by socat, zstd -3 and zstd --patch-from piped through
 * socat, and rsync against an rsync daemon. Pure: the runner (matrix.ts) runs
 * them and measures; the tests read them.
 */

import { join } from "node:path";

import type { ManifestEntry } from "./matrix-plan.js";
import type { ToolId } from "./matrix-types.js";

export const TCP_PORT = 5001;
export const RSYNC_PORT = 8730;

/** A shell word: the string in single quotes, its own single quotes escaped. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ToolRun {
  /** sh -c text run in the receiver's namespace first */
  receiver: string;
  /** sh -c text run in the sender's namespace once the receiver listens */
  sender: string;
  /** the TCP port the receiver listens on */
  port: number;
  /** the receiver is a server that stays up: stop it once the sender is done */
  receiverIsServer: boolean;
  /** what to compare with the dataset: a file, or a directory for trees */
  output: string;
  /** files to put at the receiver before the clock starts: [from, to] */
  seed: [string, string][];
  /** TCP congestion control at both ends */
  cc: "cubic" | "bbr";
  /** an rsync daemon configuration to write first: [path, text] */
  config?: [string, string];
}

export interface ToolContext {
  /** the receiver's address */
  addr: string;
  /** an empty directory for what the receiver writes */
  recvDir: string;
  /** a scratch directory for configuration and logs */
  workDir: string;
}

/** The receiver's memory cap for zstd --patch-from windows (a base of up to ~1 GB). */
const ZSTD_MEMORY = "--memory=2048MB";

function rsyncConfig(c: ToolContext): string {
  return [
    `pid file = ${join(c.workDir, "rsyncd.pid")}`,
    `log file = ${join(c.workDir, "rsyncd.log")}`,
    "use chroot = no",
    "uid = root",
    "gid = root",
    "[m]",
    `path = ${c.recvDir}`,
    "read only = no",
    "",
  ].join("\n");
}

/** How `tool` sends `d` (never called for pairings runsOn() rules out). */
export function toolRun(tool: ToolId, d: ManifestEntry, c: ToolContext): ToolRun {
  const tree = d.kind === "tree";
  const name = tree ? "tree" : "file";
  const output = join(c.recvDir, name);
  const listen = `socat -u TCP-LISTEN:${TCP_PORT},bind=${c.addr},reuseaddr -`;
  const connect = `socat -u - TCP:${c.addr}:${TCP_PORT}`;
  // a tree travels as a tar stream, unpacked as it arrives
  const source = `tar -C ${shq(d.path)} -cf - .`;
  const sink = tree ? `mkdir -p ${shq(output)} && tar -C ${shq(output)} -xf -` : "";
  const into = (cmd: string): string => (tree ? `${cmd} | (${sink})` : `${cmd} > ${shq(output)}`);
  const base: Omit<ToolRun, "receiver" | "sender"> = {
    port: TCP_PORT,
    receiverIsServer: false,
    output,
    seed: [],
    cc: "cubic",
  };
  switch (tool) {
    case "tcp":
    case "tcp-bbr":
      return {
        ...base,
        cc: tool === "tcp" ? "cubic" : "bbr",
        receiver: into(listen),
        sender: tree
          ? `${source} | ${connect}`
          : `socat -u OPEN:${shq(d.path)},rdonly TCP:${c.addr}:${TCP_PORT}`,
      };
    case "zstd3":
      return {
        ...base,
        receiver: tree
          ? into(`${listen} | zstd -d -q -c`)
          : `${listen} | zstd -d -q -o ${shq(output)}`,
        sender: tree
          ? `${source} | zstd -3 -q -c | ${connect}`
          : `zstd -3 -q -c ${shq(d.path)} | ${connect}`,
      };
    case "zstd-patch": {
      const ref = shq(d.base as string);
      return {
        ...base,
        receiver: `${listen} | zstd -d -q --patch-from=${ref} ${ZSTD_MEMORY} -o ${shq(output)}`,
        sender: `zstd -3 -q --patch-from=${ref} -c ${shq(d.path)} | ${connect}`,
      };
    }
    case "rsync": {
      const conf = join(c.workDir, "rsyncd.conf");
      const url = `rsync://${c.addr}:${RSYNC_PORT}/m/${name}${tree ? "/" : ""}`;
      return {
        ...base,
        port: RSYNC_PORT,
        receiverIsServer: true,
        config: [conf, rsyncConfig(c)],
        // the previous version under the same name: rsync sends the delta against it
        seed: d.base ? [[d.base, output]] : [],
        receiver: `exec rsync --daemon --no-detach --address=${c.addr} --port=${RSYNC_PORT} --config=${shq(conf)}`,
        sender: `rsync -a ${shq(tree ? `${d.path}/` : d.path)} ${url}`,
      };
    }
    default:
      throw new Error(`toolRun: ${tool} is not a reference tool`);
  }
}
