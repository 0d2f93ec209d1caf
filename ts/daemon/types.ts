/**
 * What the daemon offers its operator surfaces (REST API, CLI through the API,
 * metrics). The daemon implements it (ts/daemon/daemon.ts); the HTTP app is
 * built against this interface so that it can be tested with a stand-in.
 * Every method either returns or throws a PfsError (ts/errors.ts) whose code
 * carries the HTTP status.
 */

import type { CounterSnapshot } from "../dataplane/counters.js";
import type { BackendEvent } from "../dataplane/messages.js";

export type CongestionControl = "bbr" | "cubic" | "fixed";

/** Per-session transport policy (the data plane's SET_POLICY). */
export interface Policy {
  /** blocks in flight, 1..4096; can grow only up to the value the session started with */
  windowBlocks: number;
  cc: CongestionControl;
  /** bytes per second, 0 = no cap */
  rateCap: number;
  /** bytes per second, required (> 0) with cc "fixed" */
  fixedRate: number;
  /** probe-timeout doublings, 0..16 */
  maxPtoBackoff: number;
  /** probe timeouts in a row before the peer counts as gone, 0 = never */
  maxRetries: number;
}

export interface PeerInfo {
  name: string;
  host: string;
  port: number;
  /** the SPKI fingerprint pinned for it: "sha256:" + 64 hex digits */
  fingerprint: string;
}

export type SessionState = "starting" | "up" | "down" | "failed" | "removed";

export interface SessionInfo {
  /** decimal string (a 64-bit id) */
  id: string;
  peer: string;
  state: SessionState;
  /** why it failed or went down, if it did */
  error?: { code: string; message: string };
  policy: Policy;
  /** the data-plane key generation in use: 0 = the session's first keys, +1 per rotation */
  keyGeneration?: number;
  /** ISO 8601: when the keys were last rotated (absent: never, in this session) */
  keysRotatedAt?: string;
}

export type TransferState = "queued" | "running" | "done" | "failed" | "cancelled";

export interface TransferInfo {
  /** decimal string (a 64-bit id) */
  id: string;
  peer: string;
  direction: "send" | "receive";
  sources: string[];
  /** relative to the peer's receive root ("" = the root) */
  dest: string;
  state: TransferState;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** bytes this transfer put on the wire (headers, tags, retransmissions included) */
  wireBytes: number;
  /** payload bytes that travelled as pointers */
  pointerBytes: number;
  retransmittedBytes: number;
  /** ISO 8601 */
  startedAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface LogStats {
  capacity: number;
  /** bytes held now ([lower, contig)) */
  held: number;
  epoch: string;
  /** the log's 64-bit offsets, as decimal strings */
  lower: string;
  contig: string;
}

export interface BlobStats {
  peer: string;
  tx: LogStats;
  rx: LogStats;
}

/** One direction of a pair's logs compared segment by segment (`blob verify`). */
export interface BlobDirectionCheck {
  /** "tx": this node's tx log against the peer's rx log; "rx": the other way */
  direction: "tx" | "rx";
  sameEpoch: boolean;
  /** whole segments whose digests both ends listed and compared */
  segmentsCompared: number;
  segmentSize: number;
  /** index of the first segment whose bytes differ, if any */
  firstMismatch?: number;
  agree: boolean;
}

export interface BlobVerify {
  peer: string;
  agree: boolean;
  directions: BlobDirectionCheck[];
}

/** What packet I/O the running data plane got (its last BACKEND event) and where it runs. */
export interface BackendStatus {
  kind: "udp" | "xdp";
  /** xdp: the interface */
  ifname?: string;
  /** xdp: how the XDP program is attached */
  xdpMode?: "native" | "generic";
  /** xdp: AF_XDP sockets bound zero-copy (false: copy mode) */
  zeroCopy: boolean;
  /** xdp: AF_XDP sockets, one per receive queue; udp: sockets, one per worker */
  queues: number;
  /** xdp: UMEM in hugepages (false: normal pages) */
  hugepages: boolean;
  /** the configured CPU list (dataplane.cores); "" = workers not pinned */
  cores: string;
}

export interface Health {
  status: "ok" | "degraded";
  dataplane: {
    running: boolean;
    pid?: number;
    restarts: number;
    /** ms since its last heartbeat */
    heartbeatAgeMs?: number;
    /** absent until the running data plane has reported it */
    backend?: BackendStatus;
  };
}

export interface SendRequest {
  /** files or directories on this host */
  sources: string[];
  peer: string;
  dest: string;
}

export interface Daemon {
  peers(): PeerInfo[];
  /** throws PFS_ERR_USAGE for a bad name, host or fingerprint, PFS_ERR_CONFLICT if it exists */
  addPeer(p: PeerInfo): PeerInfo;
  /** throws PFS_ERR_NOT_FOUND */
  removePeer(name: string): void;

  sessions(): SessionInfo[];
  /** throws PFS_ERR_NOT_FOUND (no session with that peer), PFS_ERR_USAGE (bad values) */
  setPolicy(peer: string, policy: Partial<Policy>): Promise<SessionInfo>;
  /**
   * rotates the data-plane keys of the session with a peer now (both ends switch,
   * transfers go on); throws PFS_ERR_NOT_FOUND (no session with that peer),
   * PFS_ERR_CONFLICT (a rotation is under way)
   */
  rekey(peer: string): Promise<SessionInfo>;
  /** compares the pair's logs by segment digests with the peer; PFS_ERR_NOT_FOUND, PFS_ERR_PEER_UNREACHABLE */
  verifyBlob(peer: string): Promise<BlobVerify>;

  transfers(): TransferInfo[];
  /** undefined when there is no such transfer */
  transfer(id: string): TransferInfo | undefined;
  /** starts a transfer; throws PFS_ERR_NOT_FOUND (peer), PFS_ERR_FILE_NOT_FOUND (a source), PFS_ERR_USAGE */
  send(req: SendRequest): Promise<TransferInfo>;
  /** throws PFS_ERR_NOT_FOUND; cancelling a finished transfer returns it unchanged */
  cancel(id: string): Promise<TransferInfo>;

  blobStats(): BlobStats[];
  health(): Health;
  /** the data plane's counters, or undefined while it is not running */
  counters(): CounterSnapshot | undefined;
  /** the running data plane's last BACKEND event (its packet I/O and counts), if any yet */
  backend(): BackendEvent | undefined;
  /** peer name of a session id (for metric labels) */
  peerOfSession(sessionId: bigint): string | undefined;
}
