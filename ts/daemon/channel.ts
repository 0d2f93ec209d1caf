/**
 * The control channel between two daemons: TLS 1.3, both sides authenticated
 * by the key each has pinned for the other (the SHA-256 of the certificate's
 * public key, like SSH known_hosts or WireGuard peers). Certificates are
 * self-signed; no CA is trusted, so a key that is not pinned is refused
 * whatever it is signed by. Over it travel newline-delimited JSON messages
 * (at most 1 MiB each), and from it the data-plane keys are derived with the
 * TLS keying-material exporter (RFC 8446 §7.5), so they never travel.
 */

import { EventEmitter } from "node:events";
import { type Server, type TLSSocket, connect, createServer } from "node:tls";

import { PfsError } from "../errors.js";
import { fingerprint } from "../identity.js";

export const MESSAGE_MAX = 1 << 20;

export interface ChannelIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

/** One authenticated connection to a peer. Emits "message" (object) and "close" (reason). */
export class Channel extends EventEmitter {
  private buf = "";
  private closed = false;

  constructor(
    readonly socket: TLSSocket,
    /** the peer's name (from the pinned keys) */
    readonly peer: string,
    /** true on the side that connected */
    readonly initiator: boolean,
  ) {
    super();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("close", () => this.finish("the connection closed"));
    socket.on("error", (err) => this.finish(err.message));
  }

  /** Sends a message; false if the channel has closed (the message is dropped). */
  send(msg: object): boolean {
    if (this.closed) return false;
    this.socket.write(JSON.stringify(msg) + "\n");
    return true;
  }

  /**
   * Keying material both ends derive alike: `bytes` bytes for `label` and a
   * context (e.g. the session id), from this TLS session's secrets.
   */
  derive(label: string, context: string, bytes: number): Buffer {
    return this.socket.exportKeyingMaterial(bytes, label, Buffer.from(context, "utf8"));
  }

  close(reason = "closed"): void {
    this.finish(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("close", reason);
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    if (this.buf.length > MESSAGE_MAX && !this.buf.includes("\n")) {
      this.close(`a message from ${this.peer} is longer than ${MESSAGE_MAX} bytes`);
      return;
    }
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        this.close(`${this.peer} sent a message that is not JSON`);
        return;
      }
      if (
        typeof msg !== "object" ||
        msg === null ||
        typeof (msg as { t?: unknown }).t !== "string"
      ) {
        this.close(`${this.peer} sent a message without a type`);
        return;
      }
      this.emit("message", msg);
    }
  }
}

export interface TrustStore {
  /** the name of the peer pinned with this fingerprint, if any */
  peerByFingerprint(fp: string): string | undefined;
}

function tlsOptions(id: ChannelIdentity) {
  return {
    key: id.keyPem,
    cert: id.certPem,
    minVersion: "TLSv1.3" as const,
    // self-signed certificates: trust comes from the pinned fingerprints below
    rejectUnauthorized: false,
  };
}

function peerFingerprint(s: TLSSocket): string | undefined {
  const cert = s.getPeerX509Certificate();
  return cert ? fingerprint(cert) : undefined;
}

/**
 * Accepts channels from pinned peers. An unknown or mismatched key is refused
 * (the connection is closed) and reported through onRefused.
 */
export function listen(
  id: ChannelIdentity,
  trust: TrustStore,
  host: string,
  port: number,
  onChannel: (c: Channel) => void,
  onRefused: (why: string) => void,
): Promise<Server> {
  const server = createServer({ ...tlsOptions(id), requestCert: true }, (socket) => {
    const fp = peerFingerprint(socket);
    const peer = fp ? trust.peerByFingerprint(fp) : undefined;
    if (!peer) {
      onRefused(
        `refused a control connection from ${socket.remoteAddress}:${socket.remotePort}: ` +
          (fp ? `its key ${fp} is not pinned for any peer` : "it presented no certificate"),
      );
      socket.destroy();
      return;
    }
    onChannel(new Channel(socket, peer, false));
  });
  server.on("tlsClientError", (err) => onRefused(`a control connection failed: ${err.message}`));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/**
 * Connects to a peer and checks that it presents exactly the key pinned for
 * it. Rejects with PFS_ERR_PEER_UNTRUSTED (another key) or
 * PFS_ERR_PEER_UNREACHABLE (no answer within timeoutMs).
 */
export function dial(
  id: ChannelIdentity,
  peer: { name: string; host: string; port: number; fingerprint: string },
  timeoutMs = 5000,
): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...tlsOptions(id), host: peer.host, port: peer.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new PfsError(
          "PFS_ERR_PEER_UNREACHABLE",
          `${peer.name} (${peer.host}:${peer.port}) did not answer within ${timeoutMs} ms`,
          "check that its daemon runs (`pfs-dp status` there) and the address is right",
        ),
      );
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const fp = peerFingerprint(socket);
      if (fp !== peer.fingerprint) {
        socket.destroy();
        reject(
          new PfsError(
            "PFS_ERR_PEER_UNTRUSTED",
            `${peer.name} (${peer.host}:${peer.port}) presented key ${fp ?? "none"}, not the pinned ${peer.fingerprint}`,
            "if the peer's key really changed, remove and re-add it with the new fingerprint",
          ),
        );
        return;
      }
      resolve(new Channel(socket, peer.name, true));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(
        new PfsError(
          "PFS_ERR_PEER_UNREACHABLE",
          `cannot reach ${peer.name} at ${peer.host}:${peer.port}: ${err.message}`,
          "check that its daemon runs (`pfs-dp status` there) and the address is right",
        ),
      );
    });
  });
}
