/**
 * The pfs-dp daemon: one data plane (supervised), one control channel per
 * pinned peer, one data-plane session per connected peer, and the transfers.
 *
 * Per peer, when a channel comes up (the side with the smaller fingerprint
 * dials, the other listens):
 *   1. both send HELLO: their data-plane UDP port and what their logs for the
 *      pair hold (epoch, window) — the blob-state handshake;
 *   2. both compute, alike, per direction: resume at the point both logs hold,
 *      or start a new epoch (the log files are removed and made anew);
 *   3. both derive the session's AEAD keys, codec key, epochs and connection
 *      ids from the channel's TLS exporter and add the session to their data
 *      plane.
 * A transfer is offered to the receiver over the channel (OFFER → ACCEPT or
 * REJECT, with the reason) before its bytes go. When a channel or the data
 * plane goes away, sessions are rebuilt as soon as both are back and the
 * transfers that were running start again — what had arrived travels as
 * pointers the second time.
 */

import { statSync, statfsSync } from "node:fs";
import type { Server } from "node:tls";

import { ERRORS, PfsError, type PfsErrorCode, codeFromC } from "../errors.js";
import type { CounterSnapshot } from "../dataplane/counters.js";
import type { BackendEvent, Command, Event } from "../dataplane/messages.js";
import { BackendReport } from "./backend.js";
import { type Channel, type ChannelIdentity, dial, listen } from "./channel.js";
import {
  type LogState,
  firstMismatch,
  logPaths,
  logState,
  removeLog,
  resumePoint,
} from "./logs.js";
import { Supervisor, type XdpOptions } from "./supervisor.js";
import type {
  BlobDirectionCheck,
  BlobStats,
  BlobVerify,
  Daemon,
  Health,
  PeerInfo,
  Policy,
  SendRequest,
  SessionInfo,
  TransferInfo,
} from "./types.js";

export interface DaemonSettings {
  nodeName: string;
  control: { host: string; port: number };
  dataplane: {
    host: string;
    port: number;
    cores: string;
    mtu: number;
    receiveRoot: string;
    logDir: string;
    blobSize: number;
    region: string;
    binary?: string;
    /** the AF_XDP backend; absent: UDP */
    xdp?: XdpOptions;
  };
  policy: Policy;
  /** seconds between scheduled data-plane key rotations (default 3600; 0 = none) */
  keyRotationSeconds?: number;
}

export interface PeerSource {
  list(): PeerInfo[];
  add(p: PeerInfo): PeerInfo;
  remove(name: string): void;
}

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const PROTOCOL = 1;
const DIAL_EVERY_MS = 1000;
const FALLBACK_DIAL_MS = 3000;

interface PeerState {
  channel?: Channel | undefined;
  hello?: Hello | undefined;
  session?:
    | {
        id: bigint;
        state: SessionInfo["state"];
        error?: { code: string; message: string };
        policy: Policy;
      }
    | undefined;
  /** the policy the operator set, kept across sessions */
  policy?: Policy | undefined;
  dialing?: boolean;
  waitingSince?: number;
}

interface Hello {
  t: "hello";
  v: number;
  node: string;
  dpPort: number;
  capacity: number;
  tx: LogState;
  rx: LogState;
}

interface Transfer {
  info: TransferInfo;
  /** sender side: sources as given */
  req?: SendRequest;
  /** sender: the offer was accepted (the receiver is ready for it) */
  accepted?: boolean;
  waiters: ((t: TransferInfo) => void)[];
  /** receiver: the sender finished; waiting for this many files to be reported here */
  pendingFiles?: number;
  pendingEnd?: (() => void) | undefined;
}

// --- key rotation: types and limits -----------------------------------------------------

/** how long a data plane may take to confirm SET_KEYS, and the peer to answer "rekey" */
const KEYS_ACK_MS = 5000;
const REKEY_ANSWER_MS = 10000;

interface DirectionKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

interface KeysAck {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The peer's answer to a rotation started here. */
interface RekeyAnswer {
  /** it refused (generations differ, no session there), or the session ended */
  error?: string;
  code?: PfsErrorCode;
  /** both ends started it, the peer's goes on: complete it as the answering end */
  yielded?: boolean;
}

interface Rotation {
  sessionId: bigint;
  /** the generation both ends seal with (0: the session's first keys) */
  gen: number;
  rotatedAt?: string;
  /** a rotation under way: its generation, whether this end started it */
  busy?:
    | { gen: number; initiator: boolean; answer?: (a: RekeyAnswer) => void; done: Promise<void> }
    | undefined;
  /** SET_KEYS sent and not yet confirmed, oldest first (the data plane answers in order) */
  acks: KeysAck[];
  timer?: NodeJS.Timeout;
}

function timed<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A data-plane code as the registry names it (PFS_ERR_…), as the API reports errors. */
function errorOf(code: number, message: string): { code: string; message: string } {
  return { code: codeFromC(code) ?? String(code), message };
}

/** The C value of a data-plane code (the registry mirrors dataplane/error.h). */
function cValue(code: PfsErrorCode): number {
  const v = ERRORS[code].cCode;
  if (v === null) throw new Error(`${code} is not a data-plane code`);
  return v;
}

const CANCELLED = cValue("PFS_ERR_CANCELLED");

export class PfsDaemon implements Daemon {
  private readonly peerState = new Map<string, PeerState>();
  private readonly sessionsById = new Map<bigint, string>();
  private readonly transfersById = new Map<string, Transfer>();
  private readonly supervisor: Supervisor;
  private server: Server | undefined;
  private dialTimer: NodeJS.Timeout | undefined;
  private nextSession = 1n;
  private nextTransfer = BigInt(Date.now()) * 1000n;
  private stopped = false;
  private blobCache = new Map<string, BlobStats>();
  /** key rotation state per peer, for its live session (see "key rotation") */
  private readonly rotations = new Map<string, Rotation>();
  /** what the running data plane's packet I/O is (its BACKEND events) */
  private readonly backendReport: BackendReport;

  constructor(
    private readonly s: DaemonSettings,
    private readonly id: ChannelIdentity,
    private readonly peerSource: PeerSource,
    private readonly log: Logger,
  ) {
    this.backendReport = new BackendReport(s.dataplane.cores, (backend, line) =>
      this.log.info({ component: "dataplane", backend }, line),
    );
    this.supervisor = new Supervisor({
      region: s.dataplane.region,
      receiveRoot: s.dataplane.receiveRoot,
      listen: `${s.dataplane.host}:${s.dataplane.port}`,
      cores: s.dataplane.cores,
      mtu: s.dataplane.mtu,
      ...(s.dataplane.xdp ? { xdp: s.dataplane.xdp } : {}),
      ...(s.dataplane.binary ? { binary: s.dataplane.binary } : {}),
      onEvent: (e) => this.onEvent(e),
      onStart: (n) => this.onDataPlaneStart(n),
      onExit: (why) => this.onDataPlaneExit(why),
      log: (level, msg) => this.log[level]({ component: "supervisor" }, msg),
    });
  }

  async start(): Promise<void> {
    await this.supervisor.start();
    this.server = await listen(
      this.id,
      { peerByFingerprint: (fp) => this.peers().find((p) => p.fingerprint === fp)?.name },
      this.s.control.host,
      this.s.control.port,
      (c) => this.onChannel(c),
      (why) => this.log.warn({ component: "channel" }, why),
    );
    this.dialTimer = setInterval(() => this.dialPeers(), DIAL_EVERY_MS);
    this.dialPeers();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.dialTimer) clearInterval(this.dialTimer);
    for (const st of this.peerState.values()) st.channel?.close("the daemon stopped");
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.supervisor.stop();
  }

  // --- peers ------------------------------------------------------------------------

  peers(): PeerInfo[] {
    return this.peerSource.list();
  }

  addPeer(p: PeerInfo): PeerInfo {
    const added = this.peerSource.add(p);
    this.dialPeers();
    return added;
  }

  removePeer(name: string): void {
    this.peerSource.remove(name);
    const st = this.peerState.get(name);
    st?.channel?.close("the peer was removed");
    this.peerState.delete(name);
  }

  private peer(name: string): PeerInfo {
    const p = this.peers().find((x) => x.name === name);
    if (!p) {
      throw new PfsError(
        "PFS_ERR_NOT_FOUND",
        `no peer named ${name}`,
        "`pfs-dp peers list` shows them",
      );
    }
    return p;
  }

  private dialPeers(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const p of this.peers()) {
      const st = this.state(p.name);
      st.waitingSince ??= now;
      // one channel per pair: the side with the smaller key dials; the other
      // dials too once it has waited a while (the peer may not have pinned
      // it, and should hear about it: it refuses and logs the attempt)
      const mine = this.id.fingerprint < p.fingerprint;
      if (st.channel || st.dialing || (!mine && now - st.waitingSince < FALLBACK_DIAL_MS)) continue;
      st.dialing = true;
      dial(this.id, p, 3000)
        .then((c) => this.onChannel(c))
        .catch((err: Error) => this.log.warn({ peer: p.name }, err.message))
        .finally(() => (st.dialing = false));
    }
  }

  private state(name: string): PeerState {
    let st = this.peerState.get(name);
    if (!st) this.peerState.set(name, (st = {}));
    return st;
  }

  // --- channels and the handshake -----------------------------------------------------

  /** Of two channels to one peer, both ends keep the one the smaller key dialled. */
  private preferred(c: Channel): boolean {
    const peerFp = this.peers().find((p) => p.name === c.peer)?.fingerprint ?? "";
    return c.initiator ? this.id.fingerprint < peerFp : peerFp < this.id.fingerprint;
  }

  private onChannel(c: Channel): void {
    const st = this.state(c.peer);
    if (st.channel && !st.channel.isClosed) {
      if (!this.preferred(c) || this.preferred(st.channel)) {
        c.close("a channel to this peer is open already");
        return;
      }
      st.channel.close("replaced by the channel the smaller key dialled");
    }
    st.channel = c;
    st.hello = undefined;
    this.log.info({ peer: c.peer }, `control channel up (${c.initiator ? "dialled" : "accepted"})`);
    c.on("message", (m: { t: string }) => {
      this.onMessage(c, m).catch((err: Error) => {
        this.log.error({ peer: c.peer }, `control message ${m.t}: ${err.message}`);
        c.close(err.message);
      });
    });
    c.on("close", (why: string) => this.onChannelClosed(c, why));
    this.sendHello(c).catch((err: Error) => c.close(err.message));
  }

  private async sendHello(c: Channel): Promise<void> {
    const paths = logPaths(this.s.dataplane.logDir, c.peer);
    const hello: Hello = {
      t: "hello",
      v: PROTOCOL,
      node: this.s.nodeName,
      dpPort: this.s.dataplane.port,
      capacity: this.s.dataplane.blobSize,
      tx: await logState(paths.tx, true),
      rx: await logState(paths.rx, true),
    };
    c.send(hello);
  }

  private onChannelClosed(c: Channel, why: string): void {
    const st = this.peerState.get(c.peer);
    if (!st || st.channel !== c) return;
    st.channel = undefined;
    st.waitingSince = Date.now();
    this.log.warn({ peer: c.peer }, `control channel down: ${why}`);
    void this.dropSession(c.peer, "the control channel closed");
  }

  private async onMessage(c: Channel, m: { t: string } & Record<string, unknown>): Promise<void> {
    switch (m.t) {
      case "hello":
        return this.onHello(c, m as unknown as Hello);
      case "offer":
        return this.onOffer(c, m);
      case "accept":
      case "reject":
        return this.onAnswer(m);
      case "finished":
        return this.onFinished(c, m);
      case "verify?":
        return this.onVerifyAsk(c, m);
      case "verify":
        return this.onVerifyAnswer(m);
      case "rekey":
        return this.onRekey(c, m);
      case "rekeyed":
        return this.onRekeyed(c, m);
      default:
        this.log.warn({ peer: c.peer }, `ignored an unknown control message type ${m.t}`);
    }
  }

  private async onHello(c: Channel, h: Hello): Promise<void> {
    if (h.v !== PROTOCOL) {
      c.close(`${c.peer} speaks control protocol ${h.v}, this daemon ${PROTOCOL}: upgrade one`);
      return;
    }
    if (h.capacity !== this.s.dataplane.blobSize) {
      c.close(
        `blob sizes differ (${c.peer}: ${h.capacity}, here: ${this.s.dataplane.blobSize}): both must use the same dataplane.blobSize`,
      );
      return;
    }
    const st = this.state(c.peer);
    st.hello = h;
    await this.setUpSession(c, h);
  }

  private async setUpSession(c: Channel, h: Hello): Promise<void> {
    const st = this.state(c.peer);
    if (!this.supervisor.running || st.session) return;
    const paths = logPaths(this.s.dataplane.logDir, c.peer);
    const mine = { tx: await logState(paths.tx, true), rx: await logState(paths.rx, true) };
    const cap = this.s.dataplane.blobSize;
    const txResume = resumePoint(mine.tx, h.rx, cap);
    const rxResume = resumePoint(h.tx, mine.rx, cap);
    // everything both ends need alike comes from the TLS exporter; "i" is
    // the side that dialled, "r" the one that accepted
    const sid = this.nextSession++;
    const k = c.derive("EXPORTER-packetfs-session", `${PROTOCOL}`, 2 * 44 + 32 + 2 * 8 + 2 * 8);
    const i2r = { key: k.subarray(0, 32), iv: k.subarray(32, 44) };
    const r2i = { key: k.subarray(44, 76), iv: k.subarray(76, 88) };
    const pairKey = k.subarray(88, 120);
    const cid = { i: k.readBigUInt64LE(120) | 1n, r: k.readBigUInt64LE(128) | 1n };
    const epoch = { i2r: k.readBigUInt64LE(136) | 1n, r2i: k.readBigUInt64LE(144) | 1n };
    const me = c.initiator ? "i" : "r";
    if (txResume === undefined) removeLog(paths.tx);
    if (rxResume === undefined) removeLog(paths.rx);
    const address = (c.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const cmd: Command = {
      type: "ADD_SESSION",
      sessionId: sid,
      localConnId: me === "i" ? cid.i : cid.r,
      peerConnId: me === "i" ? cid.r : cid.i,
      address,
      port: h.dpPort,
      aead: "auto",
      txKey: me === "i" ? i2r.key : r2i.key,
      txIv: me === "i" ? i2r.iv : r2i.iv,
      rxKey: me === "i" ? r2i.key : i2r.key,
      rxIv: me === "i" ? r2i.iv : i2r.iv,
      pairKey,
      txLog: {
        id: 1n,
        capacity: cap,
        path: paths.tx,
        epoch: me === "i" ? epoch.i2r : epoch.r2i,
        ...(txResume !== undefined ? { resumeAt: txResume } : {}),
      },
      rxLog: {
        id: 2n,
        capacity: cap,
        path: paths.rx,
        epoch: me === "i" ? epoch.r2i : epoch.i2r,
        ...(rxResume !== undefined ? { resumeAt: rxResume } : {}),
      },
      policy: st.policy ?? this.s.policy,
    };
    st.session = { id: sid, state: "starting", policy: cmd.policy };
    this.sessionsById.set(sid, c.peer);
    this.log.info(
      { peer: c.peer, session: String(sid) },
      `session: tx ${txResume === undefined ? "new epoch" : `resumes at ${txResume}`}, rx ${
        rxResume === undefined ? "new epoch" : `resumes at ${rxResume}`
      }`,
    );
    this.supervisor.send(cmd);
    this.startRotations(c, sid);
  }

  private async dropSession(peer: string, why: string): Promise<void> {
    this.stopRotations(peer, why);
    const st = this.peerState.get(peer);
    const sess = st?.session;
    if (!st || !sess) return;
    st.session = undefined;
    this.sessionsById.delete(sess.id);
    try {
      this.supervisor.send({ type: "REMOVE_SESSION", sessionId: sess.id });
    } catch {
      /* the data plane is gone: so is the session */
    }
    // running transfers to this peer wait for the next session
    for (const t of this.transfersById.values()) {
      if (t.info.peer === peer && t.info.direction === "send" && t.info.state === "running") {
        t.info.state = "queued";
        t.accepted = false;
        this.log.warn({ peer, transfer: t.info.id }, `transfer paused: ${why}`);
      }
    }
  }

  private onDataPlaneStart(restarts: number): void {
    this.backendReport.clear(); // a new process reports (and may get) anew
    if (restarts === 0) return;
    // a new data plane knows no session: rebuild them (their logs are files)
    for (const [name, st] of this.peerState) {
      if (st.session) {
        this.sessionsById.delete(st.session.id);
        st.session = undefined;
      }
      if (st.channel && st.hello) {
        const c = st.channel;
        // the peer's log view is stale too: a fresh channel repeats the handshake
        c.close("the data plane restarted");
        this.log.info({ peer: name }, "data plane restarted: re-establishing the session");
      }
    }
  }

  private onDataPlaneExit(why: string): void {
    this.backendReport.clear();
    for (const [peer] of this.peerState)
      void this.dropSession(peer, `the data plane went away: ${why}`);
  }

  // --- data-plane events ----------------------------------------------------------------

  private onEvent(e: Event): void {
    switch (e.type) {
      case "SESSION_STATE": {
        this.keysAnswered(e);
        const peer = this.sessionsById.get(e.sessionId);
        const st = peer ? this.peerState.get(peer) : undefined;
        if (!peer || !st?.session || st.session.id !== e.sessionId) return;
        st.session.state = e.state as SessionInfo["state"];
        if (e.error) st.session.error = errorOf(e.error, e.message);
        if (e.state === "failed" || e.state === "removed") {
          this.log.warn({ peer }, `session ${e.state}: ${e.message}`);
          st.channel?.close(`the session ${e.state}: ${e.message}`);
        }
        if (e.state === "up") this.kick(peer);
        return;
      }
      case "TRANSFER_PROGRESS": {
        const t = this.transfersById.get(String(e.transferId));
        if (!t) return;
        Object.assign(t.info, {
          bytesDone: e.bytesDone,
          bytesTotal: e.bytesTotal,
          filesDone: e.filesDone,
          filesTotal: e.filesTotal,
          wireBytes: e.wireBytes,
          pointerBytes: e.pointerBytes,
          retransmittedBytes: e.retransmittedBytes,
        });
        return;
      }
      case "TRANSFER_DONE": {
        const t = this.transfersById.get(String(e.transferId));
        if (!t || t.info.state !== "running") return;
        if (e.status === CANCELLED) {
          // the session went away under it: it runs again with the next one
          const st = this.peerState.get(t.info.peer);
          if (!st?.session || st.session.state !== "up") {
            t.info.state = "queued";
            t.accepted = false;
            return;
          }
        }
        this.finish(t, e.status === 0 ? "done" : "failed", e.status, e.message);
        this.peerState.get(t.info.peer)?.channel?.send({
          t: "finished",
          id: t.info.id,
          status: e.status,
          message: e.message,
          files: t.info.filesDone,
        });
        return;
      }
      case "FILE_RECEIVED": {
        const peer = this.sessionsById.get(e.sessionId);
        for (const t of this.transfersById.values()) {
          if (t.info.direction !== "receive" || t.info.peer !== peer || t.info.state !== "running")
            continue;
          if (t.info.dest === "" || e.path.startsWith(`${t.info.dest}/`)) {
            t.info.filesDone++;
            t.info.bytesDone += e.size;
            if (t.pendingEnd && t.info.filesDone >= (t.pendingFiles ?? 0)) {
              const end = t.pendingEnd;
              t.pendingEnd = undefined;
              end();
            }
            break;
          }
        }
        this.log.info({ peer, path: e.path, size: e.size }, "file received");
        return;
      }
      case "BACKEND":
        this.backendReport.update(e);
        return;
      case "LOG":
        this.log[e.level === "error" ? "error" : e.level === "warn" ? "warn" : "info"](
          { component: "dataplane" },
          e.message,
        );
        return;
      default:
        return;
    }
  }

  // --- transfers ------------------------------------------------------------------------

  transfers(): TransferInfo[] {
    return [...this.transfersById.values()].map((t) => ({ ...t.info }));
  }

  transfer(id: string): TransferInfo | undefined {
    const t = this.transfersById.get(id);
    return t ? { ...t.info } : undefined;
  }

  async send(req: SendRequest): Promise<TransferInfo> {
    this.peer(req.peer);
    let bytes = 0;
    for (const src of req.sources) {
      try {
        bytes += statSync(src).size;
      } catch {
        throw new PfsError(
          "PFS_ERR_FILE_NOT_FOUND",
          `${src}: no such file or directory`,
          "give paths as the daemon sees them (absolute paths are safest)",
        );
      }
    }
    const id = String(this.nextTransfer++);
    const t: Transfer = {
      info: transferInfo(id, req.peer, "send", req.sources, req.dest, "queued", bytes),
      req,
      waiters: [],
    };
    this.transfersById.set(id, t);
    this.kick(req.peer);
    return { ...t.info };
  }

  async cancel(id: string): Promise<TransferInfo> {
    const t = this.transfersById.get(id);
    if (!t) throw new PfsError("PFS_ERR_NOT_FOUND", `no transfer ${id}`);
    if (t.info.state === "running" && t.info.direction === "send") {
      this.supervisor.send({ type: "CANCEL_TRANSFER", transferId: BigInt(id) });
    }
    if (t.info.state === "queued" || t.info.state === "running") {
      this.finish(t, "cancelled", CANCELLED, "cancelled by the operator");
    }
    return { ...t.info };
  }

  /** Waits until a transfer has finished (for the CLI and tests). */
  settled(id: string): Promise<TransferInfo> {
    const t = this.transfersById.get(id);
    if (!t) return Promise.reject(new PfsError("PFS_ERR_NOT_FOUND", `no transfer ${id}`));
    if (!["queued", "running"].includes(t.info.state)) return Promise.resolve({ ...t.info });
    return new Promise((r) => t.waiters.push(r));
  }

  private finish(t: Transfer, state: TransferInfo["state"], status: number, message: string): void {
    t.info.state = state;
    t.info.finishedAt = new Date().toISOString();
    if (status !== 0) t.info.error = errorOf(status, message);
    for (const w of t.waiters.splice(0)) w({ ...t.info });
  }

  /** Offers the queued transfers of a peer whose session is up. */
  private kick(peer: string): void {
    const st = this.peerState.get(peer);
    if (!st?.channel || st.session?.state !== "up") return;
    for (const t of this.transfersById.values()) {
      if (t.info.peer !== peer || t.info.direction !== "send" || t.info.state !== "queued")
        continue;
      t.info.state = "running";
      st.channel.send({
        t: "offer",
        id: t.info.id,
        dest: t.info.dest,
        bytes: t.info.bytesTotal,
        sources: t.req!.sources.length,
      });
    }
  }

  private async onOffer(c: Channel, m: Record<string, unknown>): Promise<void> {
    const id = String(m.id);
    const dest = typeof m.dest === "string" ? m.dest : "";
    const bytes = typeof m.bytes === "number" ? m.bytes : 0;
    const reject = (code: string, message: string) => c.send({ t: "reject", id, code, message });
    // the receiver's consent rules: a destination below the receive root,
    // and room for the bytes offered
    if (dest.startsWith("/") || dest.split("/").some((p) => p === ".." || p === ".")) {
      reject("PFS_ERR_USAGE", `destination ${dest} must be a relative path without . or ..`);
      return;
    }
    const free = freeBytes(this.s.dataplane.receiveRoot);
    if (free !== undefined && bytes > free) {
      reject("PFS_ERR_NOMEM", `${bytes} bytes offered, ${free} free under the receive root`);
      return;
    }
    if (!this.transfersById.has(id)) {
      this.transfersById.set(id, {
        info: transferInfo(id, c.peer, "receive", [], dest, "running", bytes),
        waiters: [],
      });
    }
    c.send({ t: "accept", id });
  }

  private async onAnswer(m: Record<string, unknown>): Promise<void> {
    const t = this.transfersById.get(String(m.id));
    if (!t || t.info.state !== "running" || t.accepted) return;
    if (m.t === "reject") {
      this.finish(
        t,
        "failed",
        cValue("PFS_ERR_INVALID_ARG"),
        `the peer refused it: ${String(m.message)}`,
      );
      return;
    }
    const st = this.peerState.get(t.info.peer);
    if (!st?.session) {
      t.info.state = "queued";
      return;
    }
    t.accepted = true;
    this.supervisor.send({
      type: "START_TRANSFER",
      transferId: BigInt(t.info.id),
      sessionId: st.session.id,
      sources: t.req!.sources,
      dest: t.info.dest,
    });
  }

  private async onFinished(c: Channel, m: Record<string, unknown>): Promise<void> {
    const t = this.transfersById.get(String(m.id));
    if (!t || t.info.direction !== "receive" || t.info.peer !== c.peer) return;
    const status = typeof m.status === "number" ? m.status : cValue("PFS_ERR_MALFORMED");
    const files = typeof m.files === "number" ? m.files : 0;
    const end = () =>
      this.finish(t, status === 0 ? "done" : "failed", status, String(m.message ?? ""));
    // the sender's word can overtake our data plane's file events: finish
    // once as many files arrived here as it says it sent (or after 5 s)
    if (status !== 0 || t.info.filesDone >= files) return end();
    t.pendingFiles = files;
    t.pendingEnd = end;
    setTimeout(() => {
      if (t.pendingEnd === end) {
        t.pendingEnd = undefined;
        end();
      }
    }, 5000).unref();
  }

  // --- key rotation ---------------------------------------------------------------------
  //
  // The data-plane keys of a running session are replaced on a schedule
  // (keyRotationSeconds after the session began or last rotated) and on demand
  // (rekey()). Generation g's keys come from the channel's TLS exporter like the
  // session's first ones (generation 0, setUpSession), with the context
  // `${PROTOCOL}/rekey/${g}` and the same layout, so they never travel. Either
  // end may start a rotation:
  //
  //   initiator                                      the other end
  //   SET_KEYS(seal g-1, accept g)
  //   ---- {t:"rekey", gen: g} --------------------->
  //                                                  SET_KEYS(seal g, accept g)
  //   <------------------- {t:"rekeyed", gen: g} ----
  //   SET_KEYS(seal g, accept g)
  //
  // Why no packet is lost, whatever the order in which the ends switch: the
  // data plane tries each packet under its current key, then under the next one
  // (the first packet that opens under it makes it current), then under the
  // retired one for a grace period (dataplane/session.h). So from the moment an
  // end has installed generation g, packets under g-1 and under g both get in,
  // in whatever order the path delivers them; and each end here starts sealing
  // with g only after the other end's data plane has confirmed that it accepts
  // g (each SET_KEYS is confirmed by a SESSION_STATE whose message begins
  // "keys" before the next step). Packet numbers run on across keys, so no nonce
  // repeats; transfers never pause.
  //
  // When both ends start the same generation at once, the one that dialled the
  // channel goes on and the other completes it as the answering end. A rotation
  // asked for while one is under way here is refused with PFS_ERR_CONFLICT (the
  // schedule just waits for its next turn). A step that fails or is not answered
  // in time closes the channel: the session is rebuilt with fresh keys and its
  // transfers resume.

  /** Rotates the data-plane keys of the session with a peer now. */
  async rekey(peer: string): Promise<SessionInfo> {
    this.peer(peer);
    const st = this.peerState.get(peer);
    const r = this.rotations.get(peer);
    if (!st?.session || !st.channel || !r || r.sessionId !== st.session.id) {
      throw new PfsError(
        "PFS_ERR_NOT_FOUND",
        `no session with ${peer} right now`,
        "it comes up when the peer's daemon is reachable",
      );
    }
    if (r.busy) {
      throw new PfsError(
        "PFS_ERR_CONFLICT",
        `a key rotation with ${peer} (to generation ${r.busy.gen}) is under way`,
        "retry in a moment: a rotation takes about one round trip",
      );
    }
    await this.rotate(peer, st.channel, r, "on demand");
    const info = this.sessions().find((x) => x.peer === peer);
    if (!info) throw new PfsError("PFS_ERR_NOT_FOUND", `the session with ${peer} ended`);
    return info;
  }

  /** Generation gen's keys for this end of the channel. */
  private keysOf(c: Channel, gen: number): { tx: DirectionKeys; rx: DirectionKeys } {
    // generation 0 is setUpSession's derivation (the exporter's output
    // depends on the length asked for, so the same length)
    const k =
      gen === 0
        ? c.derive("EXPORTER-packetfs-session", `${PROTOCOL}`, 2 * 44 + 32 + 2 * 8 + 2 * 8)
        : c.derive("EXPORTER-packetfs-session", `${PROTOCOL}/rekey/${gen}`, 2 * 44);
    const i2r = { key: k.subarray(0, 32), iv: k.subarray(32, 44) };
    const r2i = { key: k.subarray(44, 76), iv: k.subarray(76, 88) };
    return c.initiator ? { tx: i2r, rx: r2i } : { tx: r2i, rx: i2r };
  }

  /** The rotation state of the session a channel carries, if that session is live. */
  private rotationOf(c: Channel): Rotation | undefined {
    const st = this.peerState.get(c.peer);
    const r = this.rotations.get(c.peer);
    return r && st?.channel === c && st.session?.id === r.sessionId ? r : undefined;
  }

  /** A new session starts at generation 0, with its schedule. */
  private startRotations(c: Channel, sessionId: bigint): void {
    this.stopRotations(c.peer, "a new session replaced it");
    const r: Rotation = { gen: 0, sessionId, acks: [] };
    this.rotations.set(c.peer, r);
    this.armRotation(c, r);
  }

  private stopRotations(peer: string, why: string): void {
    const r = this.rotations.get(peer);
    if (!r) return;
    this.rotations.delete(peer);
    clearTimeout(r.timer);
    for (const a of r.acks.splice(0)) {
      clearTimeout(a.timer);
      a.reject(new PfsError("PFS_ERR_NOT_FOUND", `the session ended: ${why}`));
    }
    r.busy?.answer?.({ error: `the session ended: ${why}`, code: "PFS_ERR_NOT_FOUND" });
  }

  /** The next scheduled rotation. The end that accepted the channel waits a
   * tenth longer, so with equal settings the dialler's comes first and resets
   * both schedules (rather than the two starting the same one at once). */
  private armRotation(c: Channel, r: Rotation): void {
    clearTimeout(r.timer);
    const seconds = this.s.keyRotationSeconds ?? 3600;
    if (!(seconds > 0)) return;
    const ms = Math.min(seconds * 1000 * (c.initiator ? 1 : 1.1), 2 ** 31 - 1);
    r.timer = setTimeout(() => {
      if (this.rotationOf(c) !== r) return;
      if (r.busy) return this.armRotation(c, r);
      this.rotate(c.peer, c, r, "scheduled").catch(() => {
        /* logged, and the channel closed, by rotate() */
      });
    }, ms);
    r.timer.unref();
  }

  /** Runs a rotation this end started (the protocol above). */
  private async rotate(peer: string, c: Channel, r: Rotation, why: string): Promise<void> {
    const gen = r.gen + 1;
    let answer!: (a: RekeyAnswer) => void;
    const answered = new Promise<RekeyAnswer>((resolve) => (answer = resolve));
    let finish!: () => void;
    r.busy = { gen, initiator: true, answer, done: new Promise((resolve) => (finish = resolve)) };
    try {
      const now = this.keysOf(c, r.gen);
      const next = this.keysOf(c, gen);
      await this.setKeys(r, now.tx, next.rx);
      c.send({ t: "rekey", gen });
      const a = await timed(answered, REKEY_ANSWER_MS, () => {
        return new PfsError(
          "PFS_ERR_PEER_UNREACHABLE",
          `${peer} did not answer the key rotation to generation ${gen} within ${REKEY_ANSWER_MS} ms`,
        );
      });
      if (a.error !== undefined) {
        throw new PfsError(
          a.code ?? "PFS_ERR_CONFLICT",
          `the key rotation to generation ${gen} with ${peer} failed: ${a.error}`,
        );
      }
      await this.setKeys(r, next.tx, next.rx);
      // both ends started it and the peer's went on: answer it
      if (a.yielded) c.send({ t: "rekeyed", gen });
      this.rotated(peer, c, r, gen, a.yielded ? `${why}, completed as the peer's` : why);
    } catch (err) {
      this.rotationFailed(c, gen, err);
      throw err;
    } finally {
      r.busy = undefined;
      finish();
    }
  }

  private async onRekey(c: Channel, m: Record<string, unknown>): Promise<void> {
    const gen = typeof m.gen === "number" && Number.isSafeInteger(m.gen) ? m.gen : -1;
    const r = this.rotationOf(c);
    const refuse = (why: string) => c.send({ t: "rekeyed", gen: m.gen, error: why });
    if (!r) return void refuse("there is no session here");
    // both ends started generation gen at once: the dialler's goes on
    if (r.busy?.initiator && r.busy.gen === gen) {
      if (!c.initiator) r.busy.answer?.({ yielded: true });
      return;
    }
    // the rotation before may still be taking its last step here
    while (r.busy) await r.busy.done;
    if (this.rotationOf(c) !== r) return void refuse("the session ended");
    if (gen !== r.gen + 1) {
      return void refuse(`generation ${String(m.gen)} asked for, ${r.gen} in use here`);
    }
    let finish!: () => void;
    r.busy = { gen, initiator: false, done: new Promise((resolve) => (finish = resolve)) };
    try {
      const next = this.keysOf(c, gen);
      await this.setKeys(r, next.tx, next.rx);
      this.rotated(c.peer, c, r, gen, "started by the peer");
      c.send({ t: "rekeyed", gen });
    } catch (err) {
      this.rotationFailed(c, gen, err);
    } finally {
      r.busy = undefined;
      finish();
    }
  }

  private async onRekeyed(c: Channel, m: Record<string, unknown>): Promise<void> {
    const r = this.rotationOf(c);
    if (!r?.busy?.initiator || r.busy.gen !== m.gen) return; // one given up here
    r.busy.answer?.(typeof m.error === "string" ? { error: m.error } : {});
  }

  /** Sends SET_KEYS and waits for the data plane's confirmation. */
  private setKeys(r: Rotation, tx: DirectionKeys, rx: DirectionKeys): Promise<void> {
    return new Promise((resolve, reject) => {
      const ack: KeysAck = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = r.acks.indexOf(ack);
          if (i >= 0) r.acks.splice(i, 1);
          reject(
            new PfsError(
              "PFS_ERR_DATAPLANE_DEAD",
              `the data plane did not confirm new keys within ${KEYS_ACK_MS} ms`,
            ),
          );
        }, KEYS_ACK_MS),
      };
      r.acks.push(ack);
      try {
        this.supervisor.send({
          type: "SET_KEYS",
          sessionId: r.sessionId,
          txKey: tx.key,
          txIv: tx.iv,
          rxKey: rx.key,
          rxIv: rx.iv,
        });
      } catch (err) {
        clearTimeout(ack.timer);
        r.acks.splice(r.acks.indexOf(ack), 1);
        reject(err as Error);
      }
    });
  }

  /** The data plane's answer to a SET_KEYS: the oldest one awaited. */
  private keysAnswered(e: Extract<Event, { type: "SESSION_STATE" }>): void {
    if (!e.message.startsWith("keys")) return;
    const peer = this.sessionsById.get(e.sessionId);
    const r = peer === undefined ? undefined : this.rotations.get(peer);
    const ack = r?.sessionId === e.sessionId ? r.acks.shift() : undefined;
    if (!ack) return;
    clearTimeout(ack.timer);
    if (e.error === 0) ack.resolve();
    else ack.reject(new PfsError(codeFromC(e.error) ?? "PFS_ERR_INTERNAL", e.message));
  }

  private rotated(peer: string, c: Channel, r: Rotation, gen: number, why: string): void {
    r.gen = gen;
    r.rotatedAt = new Date().toISOString();
    this.log.info(
      { peer, session: String(r.sessionId), keyGeneration: gen },
      `data-plane keys rotated to generation ${gen} (${why})`,
    );
    this.armRotation(c, r);
  }

  private rotationFailed(c: Channel, gen: number, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.log.error({ peer: c.peer }, `key rotation to generation ${gen} failed: ${msg}`);
    // the two ends may now disagree on the keys: start again from fresh ones
    c.close(`key rotation to generation ${gen} failed: ${msg}`);
  }

  private keyInfo(peer: string, sessionId: bigint): Partial<SessionInfo> {
    const r = this.rotations.get(peer);
    if (!r || r.sessionId !== sessionId) return {};
    return { keyGeneration: r.gen, ...(r.rotatedAt ? { keysRotatedAt: r.rotatedAt } : {}) };
  }

  // --- blob verify ------------------------------------------------------------------------

  private verifyRequests = new Map<string, (m: Record<string, unknown>) => void>();
  private nextVerify = 1;

  async verifyBlob(peer: string): Promise<BlobVerify> {
    this.peer(peer);
    const c = this.peerState.get(peer)?.channel;
    if (!c || c.isClosed) {
      throw new PfsError(
        "PFS_ERR_PEER_UNREACHABLE",
        `no control channel to ${peer} right now`,
        "its daemon must run and have this node pinned; `pfs-dp status` shows the session",
      );
    }
    const req = String(this.nextVerify++);
    const theirs = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.verifyRequests.delete(req);
        reject(new PfsError("PFS_ERR_PEER_UNREACHABLE", `${peer} did not answer within 30 s`));
      }, 30000);
      this.verifyRequests.set(req, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      c.send({ t: "verify?", req });
    });
    const paths = logPaths(this.s.dataplane.logDir, peer);
    const mine = { tx: await logState(paths.tx, true), rx: await logState(paths.rx, true) };
    const check = (direction: "tx" | "rx", a: LogState, b: LogState): BlobDirectionCheck => {
      const sameEpoch = a.exists && b.exists && a.epoch === b.epoch;
      const m = firstMismatch(a, b);
      return {
        direction,
        sameEpoch,
        segmentsCompared: m.compared,
        segmentSize: a.segmentSize ?? 0,
        ...(m.at !== undefined ? { firstMismatch: m.at } : {}),
        agree: sameEpoch && m.at === undefined,
      };
    };
    const directions = [
      check("tx", mine.tx, theirs.rx as LogState),
      check("rx", mine.rx, theirs.tx as LogState),
    ];
    const result = { peer, agree: directions.every((d) => d.agree), directions };
    this.log[result.agree ? "info" : "warn"]({ peer, result }, "blob verify");
    return result;
  }

  private async onVerifyAsk(c: Channel, m: Record<string, unknown>): Promise<void> {
    const paths = logPaths(this.s.dataplane.logDir, c.peer);
    c.send({
      t: "verify",
      req: String(m.req),
      tx: await logState(paths.tx, true),
      rx: await logState(paths.rx, true),
    });
  }

  private async onVerifyAnswer(m: Record<string, unknown>): Promise<void> {
    const done = this.verifyRequests.get(String(m.req));
    if (!done) return;
    this.verifyRequests.delete(String(m.req));
    done(m);
  }

  // --- the rest of the Daemon interface ---------------------------------------------------

  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const [peer, st] of this.peerState) {
      if (!st.session) continue;
      out.push({
        id: String(st.session.id),
        peer,
        state: st.session.state,
        policy: { ...st.session.policy },
        ...(st.session.error ? { error: st.session.error } : {}),
        ...this.keyInfo(peer, st.session.id),
      });
    }
    return out;
  }

  async setPolicy(peer: string, policy: Partial<Policy>): Promise<SessionInfo> {
    this.peer(peer);
    const st = this.peerState.get(peer);
    if (!st?.session) {
      throw new PfsError(
        "PFS_ERR_NOT_FOUND",
        `no session with ${peer} right now`,
        "it comes up when the peer's daemon is reachable",
      );
    }
    const next = { ...st.session.policy, ...policy };
    this.supervisor.send({ type: "SET_POLICY", sessionId: st.session.id, policy: next });
    st.session.policy = next;
    st.policy = next;
    return this.sessions().find((s) => s.peer === peer)!;
  }

  blobStats(): BlobStats[] {
    return [...this.blobCache.values()];
  }

  /** Refreshes what blobStats() reports from the logs' metadata (as last synced). */
  async refreshBlobStats(): Promise<BlobStats[]> {
    const out = new Map<string, BlobStats>();
    for (const p of this.peers()) {
      const paths = logPaths(this.s.dataplane.logDir, p.name);
      const view = (l: LogState) => ({
        capacity: l.capacity ?? this.s.dataplane.blobSize,
        held: l.exists ? Number(BigInt(l.contig!) - BigInt(l.lower!)) : 0,
        epoch: l.epoch ?? "0",
        lower: l.lower ?? "0",
        contig: l.contig ?? "0",
      });
      out.set(p.name, {
        peer: p.name,
        tx: view(await logState(paths.tx)),
        rx: view(await logState(paths.rx)),
      });
    }
    this.blobCache = out;
    return [...out.values()];
  }

  health(): Health {
    const age = this.supervisor.heartbeatAgeMs();
    const backend = this.supervisor.running ? this.backendReport.status() : undefined;
    return {
      status: this.supervisor.running ? "ok" : "degraded",
      dataplane: {
        running: this.supervisor.running,
        ...(this.supervisor.pid ? { pid: this.supervisor.pid } : {}),
        restarts: this.supervisor.restarts,
        ...(age !== undefined ? { heartbeatAgeMs: Math.round(age) } : {}),
        ...(backend !== undefined ? { backend } : {}),
      },
    };
  }

  backend(): BackendEvent | undefined {
    return this.supervisor.running ? this.backendReport.latest : undefined;
  }

  counters(): CounterSnapshot | undefined {
    return this.supervisor.counters();
  }

  peerOfSession(sessionId: bigint): string | undefined {
    return this.sessionsById.get(sessionId);
  }

  /** For tests of the restart path: kill the data plane as a crash would. */
  crashDataPlane(): void {
    this.supervisor.crash();
  }
}

function transferInfo(
  id: string,
  peer: string,
  direction: TransferInfo["direction"],
  sources: string[],
  dest: string,
  state: TransferInfo["state"],
  bytesTotal: number,
): TransferInfo {
  return {
    id,
    peer,
    direction,
    sources,
    dest,
    state,
    bytesDone: 0,
    bytesTotal,
    filesDone: 0,
    filesTotal: 0,
    wireBytes: 0,
    pointerBytes: 0,
    retransmittedBytes: 0,
    startedAt: new Date().toISOString(),
  };
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
