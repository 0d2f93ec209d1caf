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

import { PfsError } from "../errors.js";
import type { CounterSnapshot } from "../dataplane/counters.js";
import type { Command, Event } from "../dataplane/messages.js";
import { type Channel, type ChannelIdentity, dial, listen } from "./channel.js";
import { type LogState, logPaths, logState, removeLog, resumePoint } from "./logs.js";
import { Supervisor } from "./supervisor.js";
import type {
  BlobStats,
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
  };
  policy: Policy;
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
}

function errorOf(code: number, message: string): { code: string; message: string } {
  return { code: String(code), message };
}

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

  constructor(
    private readonly s: DaemonSettings,
    private readonly id: ChannelIdentity,
    private readonly peerSource: PeerSource,
    private readonly log: Logger,
  ) {
    this.supervisor = new Supervisor({
      region: s.dataplane.region,
      receiveRoot: s.dataplane.receiveRoot,
      listen: `${s.dataplane.host}:${s.dataplane.port}`,
      cores: s.dataplane.cores,
      mtu: s.dataplane.mtu,
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
      tx: await logState(paths.tx),
      rx: await logState(paths.rx),
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
    const mine = { tx: await logState(paths.tx), rx: await logState(paths.rx) };
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
  }

  private async dropSession(peer: string, why: string): Promise<void> {
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
    for (const [peer] of this.peerState)
      void this.dropSession(peer, `the data plane went away: ${why}`);
  }

  // --- data-plane events ----------------------------------------------------------------

  private onEvent(e: Event): void {
    switch (e.type) {
      case "SESSION_STATE": {
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
        if (e.status === -10026 /* PFS_ERR_CANCELLED */ && t.info.state === "running") {
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
            break;
          }
        }
        this.log.info({ peer, path: e.path, size: e.size }, "file received");
        return;
      }
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
      info: {
        id,
        peer: req.peer,
        direction: "send",
        sources: req.sources,
        dest: req.dest,
        state: "queued",
        bytesDone: 0,
        bytesTotal: bytes,
        filesDone: 0,
        filesTotal: 0,
        wireBytes: 0,
        pointerBytes: 0,
        retransmittedBytes: 0,
        startedAt: new Date().toISOString(),
      },
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
      this.finish(t, "cancelled", -10026, "cancelled by the operator");
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
        info: {
          id,
          peer: c.peer,
          direction: "receive",
          sources: [],
          dest,
          state: "running",
          bytesDone: 0,
          bytesTotal: bytes,
          filesDone: 0,
          filesTotal: 0,
          wireBytes: 0,
          pointerBytes: 0,
          retransmittedBytes: 0,
          startedAt: new Date().toISOString(),
        },
        waiters: [],
      });
    }
    c.send({ t: "accept", id });
  }

  private async onAnswer(m: Record<string, unknown>): Promise<void> {
    const t = this.transfersById.get(String(m.id));
    if (!t || t.info.state !== "running" || t.accepted) return;
    if (m.t === "reject") {
      this.finish(t, "failed", -10001, `the peer refused it: ${String(m.message)}`);
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
    const status = typeof m.status === "number" ? m.status : -10016;
    this.finish(t, status === 0 ? "done" : "failed", status, String(m.message ?? ""));
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
    return {
      status: this.supervisor.running ? "ok" : "degraded",
      dataplane: {
        running: this.supervisor.running,
        ...(this.supervisor.pid ? { pid: this.supervisor.pid } : {}),
        restarts: this.supervisor.restarts,
        ...(age !== undefined ? { heartbeatAgeMs: Math.round(age) } : {}),
      },
    };
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

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
