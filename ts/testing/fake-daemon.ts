/**
 * An in-memory Daemon for tests of the REST API and the metrics: peers,
 * sessions and transfers in maps, the same PfsErrors the real daemon throws,
 * a settable counter snapshot, and state() to check that a refused request
 * changed nothing.
 */

import type {
  BlobStats,
  BlobVerify,
  Daemon,
  Health,
  PeerInfo,
  Policy,
  SendRequest,
  SessionInfo,
  TransferInfo,
} from "../daemon/types.js";
import { backendStatus } from "../daemon/backend.js";
import type { CounterName, CounterSnapshot, Counters } from "../dataplane/counters.js";
import type { BackendEvent } from "../dataplane/messages.js";
import { COUNTERS, camel } from "../dataplane/protocol.js";
import { PfsError } from "../errors.js";

export const FINGERPRINT = `sha256:${"ab".repeat(32)}`;

export const DEFAULT_POLICY: Policy = Object.freeze({
  windowBlocks: 1024,
  cc: "bbr",
  rateCap: 0,
  fixedRate: 0,
  maxPtoBackoff: 6,
  maxRetries: 8,
});

/** Counters all 0 but those given. */
export function counters(values: Partial<Counters> = {}): Counters {
  const out = {} as Counters;
  for (const name of COUNTERS.map(camel) as CounterName[]) out[name] = values[name] ?? 0;
  return out;
}

export class FakeDaemon implements Daemon {
  readonly peerMap = new Map<string, PeerInfo>();
  readonly sessionMap = new Map<string, SessionInfo>();
  readonly transferMap = new Map<string, TransferInfo>();
  /** paths send() accepts as sources */
  readonly files = new Set<string>(["/data/a.bin", "/data/tree"]);
  snapshot: CounterSnapshot | undefined = undefined;
  /** the data plane's last BACKEND event (reported while snapshot is set, as by a running one) */
  backendEvent: BackendEvent | undefined = undefined;
  /** dataplane.cores as configured */
  cores = "";
  sessionPeers = new Map<bigint, string>();
  restarts = 0;
  /** peers whose key rotation is under way: rekey() answers PFS_ERR_CONFLICT */
  readonly rotating = new Set<string>();
  /** the next call of any method throws this (for 500 tests) */
  failWith: unknown = undefined;
  private nextId = 1000n;

  constructor(opts: { peers?: string[] } = {}) {
    for (const name of opts.peers ?? ["alpha"]) {
      this.peerMap.set(name, { name, host: "192.0.2.1", port: 7443, fingerprint: FINGERPRINT });
      const id = String(this.nextId++);
      this.sessionMap.set(name, { id, peer: name, state: "up", policy: { ...DEFAULT_POLICY } });
      this.sessionPeers.set(BigInt(id), name);
    }
  }

  /** Everything a request could change, as JSON, to compare before and after. */
  state(): string {
    return JSON.stringify({
      peers: [...this.peerMap.values()],
      sessions: [...this.sessionMap.values()],
      transfers: [...this.transferMap.values()],
    });
  }

  private check(): void {
    if (this.failWith !== undefined) {
      const err = this.failWith;
      this.failWith = undefined;
      throw err;
    }
  }

  peers(): PeerInfo[] {
    this.check();
    return [...this.peerMap.values()];
  }

  addPeer(p: PeerInfo): PeerInfo {
    this.check();
    if (this.peerMap.has(p.name)) {
      throw new PfsError("PFS_ERR_CONFLICT", `peer ${p.name} exists already`);
    }
    this.peerMap.set(p.name, { ...p });
    return { ...p };
  }

  removePeer(name: string): void {
    this.check();
    if (!this.peerMap.delete(name)) throw new PfsError("PFS_ERR_NOT_FOUND", `no peer ${name}`);
    this.sessionMap.delete(name);
  }

  sessions(): SessionInfo[] {
    this.check();
    return [...this.sessionMap.values()];
  }

  async setPolicy(peer: string, policy: Partial<Policy>): Promise<SessionInfo> {
    this.check();
    const s = this.sessionMap.get(peer);
    if (s === undefined) throw new PfsError("PFS_ERR_NOT_FOUND", `no session with peer ${peer}`);
    const next = { ...s.policy, ...policy };
    if (next.cc === "fixed" && next.fixedRate <= 0) {
      throw new PfsError("PFS_ERR_USAGE", 'cc "fixed" needs fixedRate > 0');
    }
    s.policy = next;
    return { ...s, policy: { ...next } };
  }

  async rekey(peer: string): Promise<SessionInfo> {
    this.check();
    const s = this.sessionMap.get(peer);
    if (s === undefined) throw new PfsError("PFS_ERR_NOT_FOUND", `no session with peer ${peer}`);
    if (this.rotating.has(peer)) {
      throw new PfsError("PFS_ERR_CONFLICT", `a key rotation with ${peer} is under way`);
    }
    s.keyGeneration = (s.keyGeneration ?? 0) + 1;
    s.keysRotatedAt = new Date(2000).toISOString();
    return { ...s, policy: { ...s.policy } };
  }

  transfers(): TransferInfo[] {
    this.check();
    return [...this.transferMap.values()];
  }

  transfer(id: string): TransferInfo | undefined {
    this.check();
    return this.transferMap.get(id);
  }

  async send(req: SendRequest): Promise<TransferInfo> {
    this.check();
    if (!this.peerMap.has(req.peer)) throw new PfsError("PFS_ERR_NOT_FOUND", `no peer ${req.peer}`);
    for (const s of req.sources) {
      if (!this.files.has(s)) throw new PfsError("PFS_ERR_FILE_NOT_FOUND", `${s} does not exist`);
    }
    const t: TransferInfo = {
      id: String(this.nextId++),
      peer: req.peer,
      direction: "send",
      sources: [...req.sources],
      dest: req.dest,
      state: "queued",
      bytesDone: 0,
      bytesTotal: 4096 * req.sources.length,
      filesDone: 0,
      filesTotal: req.sources.length,
      wireBytes: 0,
      pointerBytes: 0,
      retransmittedBytes: 0,
      startedAt: new Date(0).toISOString(),
    };
    this.transferMap.set(t.id, t);
    return { ...t };
  }

  async cancel(id: string): Promise<TransferInfo> {
    this.check();
    const t = this.transferMap.get(id);
    if (t === undefined) throw new PfsError("PFS_ERR_NOT_FOUND", `no transfer ${id}`);
    if (t.state === "queued" || t.state === "running") {
      t.state = "cancelled";
      t.finishedAt = new Date(1000).toISOString();
    }
    return { ...t };
  }

  async verifyBlob(peer: string): Promise<BlobVerify> {
    this.check();
    if (!this.peerMap.has(peer)) throw new PfsError("PFS_ERR_NOT_FOUND", `no peer named ${peer}`);
    const d = (direction: "tx" | "rx") => ({
      direction,
      sameEpoch: true,
      segmentsCompared: 4,
      segmentSize: 1 << 20,
      agree: true,
    });
    return { peer, agree: true, directions: [d("tx"), d("rx")] };
  }

  blobStats(): BlobStats[] {
    this.check();
    const log = {
      capacity: 1 << 30,
      held: 4096,
      epoch: "1",
      lower: "0",
      contig: "18446744073709551615",
    };
    return [...this.peerMap.keys()].map((peer) => ({ peer, tx: { ...log }, rx: { ...log } }));
  }

  health(): Health {
    this.check();
    const running = this.snapshot !== undefined;
    const backend = running ? this.backendEvent : undefined;
    return running
      ? {
          status: "ok",
          dataplane: {
            running,
            pid: 4242,
            restarts: this.restarts,
            heartbeatAgeMs: 12,
            ...(backend ? { backend: backendStatus(backend, this.cores) } : {}),
          },
        }
      : { status: "degraded", dataplane: { running, restarts: this.restarts } };
  }

  backend(): BackendEvent | undefined {
    return this.snapshot === undefined ? undefined : this.backendEvent;
  }

  counters(): CounterSnapshot | undefined {
    return this.snapshot;
  }

  peerOfSession(sessionId: bigint): string | undefined {
    return this.sessionPeers.get(sessionId);
  }
}
