/**
 * The peers this node trusts, kept in peers.yaml: a name, where its control
 * channel listens, and the fingerprint of the key it must present (pinned like
 * an SSH known_hosts entry). Every call reads the file afresh, so the CLI and a
 * running daemon see each other's changes; every change replaces the file
 * atomically (mode 0600) and leaves it untouched when the request is refused.
 */

import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

import { parseDocument, stringify } from "yaml";

import { bareHost, formatHostPort, hostProblem } from "./config/address.js";
import { writeFileAtomic } from "./config/atomic-write.js";
import { FORMATS } from "./config/formats.js";
import type { PeerInfo } from "./daemon/types.js";
import { PfsError } from "./errors.js";
import { parseFingerprint } from "./identity.js";

export { formatHostPort, parseHostPort } from "./config/address.js";

/** Port of a peer's control channel when none is given (the default control.listen port). */
export const DEFAULT_CONTROL_PORT = 7443;

export interface PeerInput {
  name: string;
  /** host name, IPv4, or IPv6 (brackets optional) — no port */
  host: string;
  /** default DEFAULT_CONTROL_PORT */
  port?: number | undefined;
  fingerprint: string;
}

const FIELDS = ["name", "host", "port", "fingerprint"] as const;

/** `input` checked and normalised (IPv6 without brackets, default port); PFS_ERR_USAGE otherwise. */
export function checkPeer(input: PeerInput): PeerInfo {
  const nameSpec = FORMATS["node-name"];
  if (typeof input.name !== "string" || nameSpec?.problem(input.name) !== undefined) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `bad peer name ${JSON.stringify(input.name)}: it must be ${nameSpec?.expected}`,
      "for example: beta, rack1-node7",
    );
  }
  const hp = typeof input.host === "string" ? hostProblem(input.host) : "the host is not text";
  if (hp !== undefined) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `bad host for peer "${input.name}": ${hp}`,
      "give a host name (beta.example.net), an IPv4 address (198.18.0.2) or an IPv6 address (2001:db8::2)",
    );
  }
  const port = input.port ?? DEFAULT_CONTROL_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `bad port for peer "${input.name}": ${JSON.stringify(port)} is not a whole number in 1..65535`,
      `the control channel listens on ${DEFAULT_CONTROL_PORT} unless its config says otherwise`,
    );
  }
  if (typeof input.fingerprint !== "string") {
    throw new PfsError("PFS_ERR_USAGE", `peer "${input.name}" has no key fingerprint`);
  }
  const fingerprint = parseFingerprint(input.fingerprint);
  return { name: input.name, host: bareHost(input.host), port, fingerprint };
}

const HEADER = `# Peers this node trusts, kept by pfs-dp peers add/remove.
# Each peer must present the key whose fingerprint is pinned here; the control
# channel refuses any other. Edit with care: pfs-dp checks every entry.
`;

export class PeerStore {
  constructor(readonly file: string) {}

  /** Every peer, in the order they were added. PFS_ERR_CONFIG if the file is corrupt. */
  list(): PeerInfo[] {
    return this.read();
  }

  find(name: string): PeerInfo | undefined {
    return this.read().find((p) => p.name === name);
  }

  /** The peer named `name`; PFS_ERR_NOT_FOUND if there is none. */
  get(name: string): PeerInfo {
    const peers = this.read();
    const p = peers.find((x) => x.name === name);
    if (p === undefined) throw notFound(name, peers);
    return p;
  }

  /** The peer whose key has `fingerprint`, if any (who is this TLS client?). */
  findByFingerprint(fingerprint: string): PeerInfo | undefined {
    return this.read().find((p) => p.fingerprint === fingerprint);
  }

  /**
   * Pin a new peer. PFS_ERR_USAGE for a bad name, host, port or fingerprint;
   * PFS_ERR_CONFLICT if the name or the key is taken.
   */
  add(input: PeerInput): PeerInfo {
    const peer = checkPeer(input);
    const peers = this.read();
    const sameName = peers.find((p) => p.name === peer.name);
    if (sameName !== undefined) {
      throw new PfsError(
        "PFS_ERR_CONFLICT",
        `a peer named "${peer.name}" exists already (${formatHostPort(sameName)}, ${sameName.fingerprint})`,
        `pick another name, or remove it first: pfs-dp peers remove ${peer.name}`,
      );
    }
    const sameKey = peers.find((p) => p.fingerprint === peer.fingerprint);
    if (sameKey !== undefined) {
      throw new PfsError(
        "PFS_ERR_CONFLICT",
        `the key ${peer.fingerprint} is pinned already, for peer "${sameKey.name}"`,
        `one key is one node; if it was renamed, remove the old entry first: pfs-dp peers remove ${sameKey.name}`,
      );
    }
    this.write([...peers, peer]);
    return peer;
  }

  /** Unpin a peer and return what it was; PFS_ERR_NOT_FOUND if there is none. */
  remove(name: string): PeerInfo {
    const peers = this.read();
    const i = peers.findIndex((p) => p.name === name);
    if (i < 0) throw notFound(name, peers);
    const [gone] = peers.splice(i, 1);
    this.write(peers);
    return gone as PeerInfo;
  }

  private read(): PeerInfo[] {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw this.corrupt(`cannot be read: ${(err as Error).message}`);
    }
    return this.parse(text);
  }

  private parse(text: string): PeerInfo[] {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const bad = doc.errors[0];
    if (bad !== undefined) {
      throw this.corrupt(
        `has a YAML syntax error: ${(bad.message.split("\n")[0] ?? "").replace(/:$/, "")}`,
      );
    }
    const top: unknown = doc.toJS();
    if (top === null || top === undefined) return [];
    if (!isMapping(top) || Object.keys(top).some((k) => k !== "peers")) {
      throw this.corrupt('must hold one field, "peers", a list of peers');
    }
    const list = top.peers ?? [];
    if (!Array.isArray(list)) throw this.corrupt('"peers" must be a list');
    const out: PeerInfo[] = [];
    list.forEach((entry: unknown, i) => {
      const label = `entry ${i + 1}${isMapping(entry) && typeof entry.name === "string" ? ` ("${entry.name}")` : ""}`;
      if (!isMapping(entry))
        throw this.corrupt(`${label} is not a mapping of name, host, port, fingerprint`);
      const extra = Object.keys(entry).filter((k) => !(FIELDS as readonly string[]).includes(k));
      if (extra.length > 0) {
        throw this.corrupt(
          `${label} has unknown field ${extra.join(", ")} (allowed: ${FIELDS.join(", ")})`,
        );
      }
      let peer: PeerInfo;
      try {
        peer = checkPeer(entry as unknown as PeerInput);
      } catch (err) {
        if (err instanceof PfsError) throw this.corrupt(`${label}: ${err.message}`);
        throw err;
      }
      const dup = out.find((p) => p.name === peer.name || p.fingerprint === peer.fingerprint);
      if (dup !== undefined) {
        const what = dup.name === peer.name ? "name" : `key ${peer.fingerprint}`;
        throw this.corrupt(`${label} repeats the ${what} of peer "${dup.name}"`);
      }
      out.push(peer);
    });
    return out;
  }

  private write(peers: PeerInfo[]): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const body = stringify({ peers: peers.map((p) => ({ ...p })) });
    writeFileAtomic(this.file, HEADER + body, 0o600);
  }

  private corrupt(what: string): PfsError {
    return new PfsError(
      "PFS_ERR_CONFIG",
      `peers file ${this.file} ${what}`,
      "fix that entry in the file (or remove it and add the peer again with pfs-dp peers add)",
    );
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function notFound(name: string, peers: PeerInfo[]): PfsError {
  const known = peers.map((p) => p.name);
  return new PfsError(
    "PFS_ERR_NOT_FOUND",
    `no peer named "${name}"`,
    known.length === 0
      ? "no peers are pinned yet; add one with pfs-dp peers add NAME HOST --key FINGERPRINT"
      : `known peers: ${known.join(", ")}`,
  );
}
