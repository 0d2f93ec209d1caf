/**
 * `pfs-dp peers add|list|remove`: the peers this node trusts. The commands talk
 * to a PeerBackend: today the peers.yaml file itself (PeerStore); once a daemon
 * runs, a backend over its REST API can take its place without changing them.
 */

import type { Command } from "commander";

import type { ConfigPaths } from "../config/paths.js";
import type { PeerInfo } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import {
  DEFAULT_CONTROL_PORT,
  type PeerInput,
  PeerStore,
  formatHostPort,
  parseHostPort,
} from "../peers.js";
import type { Io } from "../util/io.js";
import { addConfigDirOption, configDirSuffix, pathsFromFlags } from "./config-dir.js";

/** Where the peer commands read and change the peer list. Every method throws PfsError. */
export interface PeerBackend {
  list(): Promise<PeerInfo[]>;
  /** PFS_ERR_USAGE for bad values, PFS_ERR_CONFLICT for a taken name or key */
  add(peer: PeerInput): Promise<PeerInfo>;
  /** PFS_ERR_NOT_FOUND */
  remove(name: string): Promise<void>;
}

export type PeerBackendFactory = (paths: ConfigPaths) => PeerBackend;

/** The backend over peers.yaml. */
export function fileBackend(paths: ConfigPaths): PeerBackend {
  const store = new PeerStore(paths.peersFile);
  return {
    list: async () => store.list(),
    add: async (p) => store.add(p),
    remove: async (name) => void store.remove(name),
  };
}

interface Flags {
  configDir?: string;
  key?: string;
  json?: boolean;
}

function table(peers: PeerInfo[]): string {
  const rows = [
    ["NAME", "ADDRESS", "FINGERPRINT"],
    ...peers.map((p) => [p.name, formatHostPort(p), p.fingerprint]),
  ];
  const w0 = Math.max(...rows.map((r) => (r[0] as string).length));
  const w1 = Math.max(...rows.map((r) => (r[1] as string).length));
  return rows.map((r) => `${r[0]?.padEnd(w0)}  ${r[1]?.padEnd(w1)}  ${r[2]}`).join("\n") + "\n";
}

export function addPeersCommands(
  program: Command,
  io: Io,
  backendFor: PeerBackendFactory = fileBackend,
): void {
  const peers = program
    .command("peers")
    .description("pin, list and remove the peers this node trusts (by key fingerprint)")
    .addHelpText(
      "after",
      `
A peer is known by the fingerprint of its key, printed by pfs-dp init on the peer.
The control channel accepts a peer only if it presents exactly that key.

Examples:
  $ pfs-dp peers add beta 198.18.0.2 --key sha256:3f0c…
  $ pfs-dp peers list`,
    );

  addConfigDirOption(
    peers
      .command("add")
      .description("pin a peer: its name, where its control channel listens, and its key")
      .argument("<NAME>", "a name for the peer: lowercase letters, digits and '-'")
      .argument(
        "<HOST[:PORT]>",
        `host name, IPv4 or IPv6 address, port default ${DEFAULT_CONTROL_PORT} (IPv6 with a port: [ADDR]:PORT)`,
      )
      .option(
        "--key <FINGERPRINT>",
        "the peer's key fingerprint, sha256:<64 hex digits> (required)",
      ),
  )
    .addHelpText(
      "after",
      `
Refused, with nothing changed, if the name or the key is pinned already.

Examples:
  $ pfs-dp peers add beta 198.18.0.2 --key sha256:9b1d5c0e8a7f6d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a
  $ pfs-dp peers add gamma gamma.example.net:8443 --key sha256:…
  $ pfs-dp peers add delta [2001:db8::7]:7443 --key sha256:…`,
    )
    .action(async (name: string, hostPort: string, flags: Flags) => {
      if (flags.key === undefined) {
        throw new PfsError(
          "PFS_ERR_USAGE",
          "peers add needs --key FINGERPRINT, the peer's key",
          `run pfs-dp init on the peer (it prints the fingerprint), then: pfs-dp peers add ${name} ${hostPort} --key sha256:…`,
        );
      }
      const paths = pathsFromFlags(flags);
      const { host, port } = parseHostPort(hostPort, DEFAULT_CONTROL_PORT);
      const p = await backendFor(paths).add({ name, host, port, fingerprint: flags.key });
      io.out(`pinned peer ${p.name} at ${formatHostPort(p)} with key ${p.fingerprint}\n`);
    });

  addConfigDirOption(
    peers
      .command("list")
      .description("show the pinned peers")
      .option("--json", "print them as a JSON array"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ pfs-dp peers list
  $ pfs-dp peers list --json --config-dir /srv/pfs/alpha`,
    )
    .action(async (flags: Flags) => {
      const paths = pathsFromFlags(flags);
      const list = await backendFor(paths).list();
      if (flags.json) io.out(JSON.stringify(list, null, 2) + "\n");
      else if (list.length === 0) {
        io.out(
          `no peers pinned yet; add one with: pfs-dp peers add NAME HOST[:PORT] --key FINGERPRINT${configDirSuffix(flags, paths)}\n`,
        );
      } else io.out(table(list));
    });

  addConfigDirOption(
    peers
      .command("remove")
      .description("unpin a peer: its key is no longer accepted")
      .argument("<NAME>", "the peer's name, as pfs-dp peers list shows it"),
  )
    .addHelpText(
      "after",
      `
Examples:
  $ pfs-dp peers remove beta`,
    )
    .action(async (name: string, flags: Flags) => {
      const paths = pathsFromFlags(flags);
      await backendFor(paths).remove(name);
      io.out(`removed peer ${name}\n`);
    });
}
