/**
 * Control messages as the controller sees them: typed commands it encodes for
 * the data plane, typed events it decodes from it. The byte encoding and its
 * rules are those of dataplane/ring_msg.c (docs/protocol.md, "Control
 * region"): messages.test.ts checks the bytes against ones the C encoder
 * wrote. 64-bit ids are bigints; quantities (bytes, rates) are numbers, exact
 * below 2^53.
 */

import { PfsError, type PfsErrorCode } from "../errors.js";
import { ByteReader, ByteWriter, encodeAddress, fromUtf8, toU64, utf8 } from "./bytes.js";
import {
  AEAD,
  BACKEND,
  CC,
  ETH_VERDICT_NAMES,
  LEVEL,
  MSG,
  MSG_LIMITS,
  REGION,
  SHUTDOWN,
  SSTATE,
  XDP_MODE,
  XDP_REASON_NAMES,
  codeName,
  nameOf,
} from "./protocol.js";

export type Aead = "auto" | "aes256gcm" | "chacha20poly1305";
export type CongestionControl = "fixed" | "cubic" | "bbr";
export type SessionState = "starting" | "up" | "down" | "failed" | "removed";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type BackendKind = "udp" | "xdp";
export type XdpMode = "native" | "generic";

export interface Policy {
  windowBlocks: number;
  cc: CongestionControl;
  /** bytes/s, 0 = no cap */
  rateCap: number;
  /** bytes/s; required (> 0) with cc "fixed" */
  fixedRate: number;
  /** probe-timeout doublings, <= 16 */
  maxPtoBackoff: number;
  /** probe timeouts in a row before the session fails, 0 = no limit */
  maxRetries: number;
}

export interface LogSpec {
  id: bigint;
  /** a power of two */
  capacity: number;
  path: string;
  /** epoch for a log file made new; 0n or absent: random */
  epoch?: bigint;
  /** the point both peers hold (the handshake's outcome); absent: take the log as it is */
  resumeAt?: bigint;
}

/** resumeAt on the wire when the log is taken as it is */
export const RESUME_KEEP = (1n << 64n) - 1n;

export type Command =
  | {
      type: "ADD_SESSION";
      sessionId: bigint;
      localConnId: bigint;
      peerConnId: bigint;
      address: string;
      port: number;
      aead: Aead;
      txKey: Uint8Array;
      txIv: Uint8Array;
      rxKey: Uint8Array;
      rxIv: Uint8Array;
      /** the pair's codec key (chunking, fingerprints): the same for every session of the pair */
      pairKey: Uint8Array;
      txLog: LogSpec;
      rxLog: LogSpec;
      policy: Policy;
    }
  | { type: "REMOVE_SESSION"; sessionId: bigint }
  | { type: "SET_POLICY"; sessionId: bigint; policy: Policy }
  | {
      type: "START_TRANSFER";
      transferId: bigint;
      sessionId: bigint;
      sources: string[];
      dest: string;
    }
  | { type: "CANCEL_TRANSFER"; transferId: bigint }
  | { type: "SHUTDOWN"; mode: "now" | "drain" }
  | {
      /** new AEAD keys for a running session: tx seals every packet sent
       * after it, rx is accepted at once beside the current key (key rotation) */
      type: "SET_KEYS";
      sessionId: bigint;
      txKey: Uint8Array;
      txIv: Uint8Array;
      rxKey: Uint8Array;
      rxIv: Uint8Array;
    };

export type Event =
  | { type: "READY"; layoutVersion: number; workerCount: number; pid: number }
  | {
      type: "SESSION_STATE";
      sessionId: bigint;
      state: SessionState;
      /** 0 or a negative code of dataplane/error.h (see codeFromC) */
      error: number;
      message: string;
    }
  | {
      type: "TRANSFER_PROGRESS";
      transferId: bigint;
      bytesDone: number;
      bytesTotal: number;
      filesDone: number;
      filesTotal: number;
      wireBytes: number;
      pointerBytes: number;
      retransmittedBytes: number;
    }
  | { type: "TRANSFER_DONE"; transferId: bigint; status: number; message: string }
  | { type: "FILE_RECEIVED"; sessionId: bigint; path: string; size: number; digest: Uint8Array }
  | { type: "LOG"; level: LogLevel; message: string }
  | BackendEvent;

/**
 * What the data plane's packet I/O is, with its counts since it started
 * (sent after READY, then every second). Counts are cumulative; a restarted
 * data plane starts them at 0 again.
 */
export interface BackendEvent {
  type: "BACKEND";
  kind: BackendKind;
  /** how the XDP program is attached; null for udp */
  xdpMode: XdpMode | null;
  /** AF_XDP sockets bound zero-copy (else copy mode); false for udp */
  zeroCopy: boolean;
  /** UMEM in hugepages (else normal pages); false for udp */
  hugepages: boolean;
  /** AF_XDP sockets (one per queue and worker); udp: its sockets */
  queues: number;
  /** the interface; "" for udp */
  ifname: string;
  /** kicks of the AF_XDP rings (sendto/recvfrom) */
  wakeups: number;
  /** frames dropped while a next hop was being resolved */
  noNeighbour: number;
  /** datagrams passed to the worker owning their session */
  handedOff: number;
  /** ... that found that worker's ring full */
  handoffDropped: number;
  /** the XDP program's packets by reason (XDP_REASON_NAMES; "code_N" for a newer code) */
  reasons: Record<string, number>;
  /** frames the backend refused, by verdict (ETH_VERDICT_NAMES; "code_N" for a newer one) */
  refused: Record<string, number>;
}

function bad(code: PfsErrorCode, message: string): PfsError {
  return new PfsError(code, message);
}

/** A string field as bytes, checked as ring_msg.c checks it. */
function field(value: string, what: string, kind: "path" | "optional-path"): Uint8Array {
  const b = utf8(value);
  checkText(b, what, kind);
  return b;
}

function fixed(b: Uint8Array, n: number, what: string): Uint8Array {
  if (b.length !== n)
    throw bad("PFS_ERR_INVALID_ARG", `${what} must be ${n} bytes, got ${b.length}`);
  return b;
}

function code<T extends Readonly<Record<string, number>>>(
  group: T,
  name: string,
  what: string,
): number {
  const v = group[name.toUpperCase()];
  if (v === undefined) {
    const names = Object.keys(group).map((k) => k.toLowerCase());
    throw bad("PFS_ERR_MALFORMED", `${what} "${name}" is none of ${names.join(", ")}`);
  }
  return v;
}

/** A u32 field's value, or PFS_ERR_INVALID_ARG naming the field. */
function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw bad(
      "PFS_ERR_INVALID_ARG",
      `${what} must be a whole number from 0 to 4294967295, got ${v}`,
    );
  }
  return v;
}

/** A 64-bit id, or PFS_ERR_INVALID_ARG naming it. */
function id(v: bigint, what: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) {
    throw bad(
      "PFS_ERR_INVALID_ARG",
      `${what} must be a bigint from 0 to 2^64 - 1, got ${String(v)}`,
    );
  }
  return v;
}

/** A key of the right size and not all zeros (a key nobody set: refused as in C). */
function key(b: Uint8Array, what: string): Uint8Array {
  fixed(b, MSG_LIMITS.KEY_BYTES, what);
  if (b.every((x) => x === 0)) throw bad("PFS_ERR_MALFORMED", `${what} is all zeros`);
  return b;
}

function writePolicy(w: ByteWriter, p: Policy): void {
  const cc = code(CC, p.cc, "congestion control");
  if (p.maxPtoBackoff > MSG_LIMITS.PTO_BACKOFF_MAX) {
    throw bad(
      "PFS_ERR_LIMIT",
      `maxPtoBackoff ${p.maxPtoBackoff} is over ${MSG_LIMITS.PTO_BACKOFF_MAX}`,
    );
  }
  if (!(p.windowBlocks >= 1)) throw bad("PFS_ERR_MALFORMED", "windowBlocks must be at least 1");
  if (cc === CC.FIXED && p.fixedRate <= 0) {
    throw bad("PFS_ERR_MALFORMED", 'congestion control "fixed" needs a fixedRate above 0');
  }
  w.u32(u32(p.windowBlocks, "windowBlocks"));
  w.u8(cc);
  w.u64(toU64(p.rateCap, "rateCap"));
  w.u64(toU64(p.fixedRate, "fixedRate"));
  w.u32(u32(p.maxPtoBackoff, "maxPtoBackoff"));
  w.u32(u32(p.maxRetries, "maxRetries"));
}

function writeLog(w: ByteWriter, log: LogSpec, what: string): void {
  const path = field(log.path, `${what} path`, "path");
  const cap = toU64(log.capacity, `${what} capacity`);
  if (cap === 0n || (cap & (cap - 1n)) !== 0n) {
    throw bad("PFS_ERR_MALFORMED", `${what} capacity ${log.capacity} is not a power of two`);
  }
  w.u64(id(log.id, `${what} id`));
  w.u64(cap);
  w.u64(id(log.epoch ?? 0n, `${what} epoch`));
  w.u64(id(log.resumeAt ?? RESUME_KEEP, `${what} resumeAt`));
  w.str(path);
}

function writeBody(w: ByteWriter, c: Command): void {
  switch (c.type) {
    case "ADD_SESSION": {
      const addr = encodeAddress(c.address);
      if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) {
        throw bad("PFS_ERR_MALFORMED", `port ${c.port} is not from 1 to 65535`);
      }
      w.u64(id(c.sessionId, "sessionId"));
      w.u64(id(c.localConnId, "localConnId"));
      w.u64(id(c.peerConnId, "peerConnId"));
      w.u8(addr.family);
      w.bytes(addr.bytes);
      w.u16(c.port);
      w.u8(code(AEAD, c.aead, "AEAD"));
      w.bytes(fixed(c.txKey, MSG_LIMITS.KEY_BYTES, "txKey"));
      w.bytes(fixed(c.txIv, MSG_LIMITS.IV_BYTES, "txIv"));
      w.bytes(fixed(c.rxKey, MSG_LIMITS.KEY_BYTES, "rxKey"));
      w.bytes(fixed(c.rxIv, MSG_LIMITS.IV_BYTES, "rxIv"));
      w.bytes(fixed(c.pairKey, MSG_LIMITS.KEY_BYTES, "pairKey"));
      writeLog(w, c.txLog, "tx log");
      writeLog(w, c.rxLog, "rx log");
      writePolicy(w, c.policy);
      return;
    }
    case "REMOVE_SESSION":
      return w.u64(id(c.sessionId, "sessionId"));
    case "SET_POLICY":
      w.u64(id(c.sessionId, "sessionId"));
      return writePolicy(w, c.policy);
    case "START_TRANSFER": {
      const n = c.sources.length;
      if (n > MSG_LIMITS.SOURCES_MAX) {
        throw bad(
          "PFS_ERR_LIMIT",
          `${n} sources in one transfer, at most ${MSG_LIMITS.SOURCES_MAX}`,
        );
      }
      if (n === 0) throw bad("PFS_ERR_MALFORMED", "a transfer needs at least one source path");
      w.u64(id(c.transferId, "transferId"));
      w.u64(id(c.sessionId, "sessionId"));
      w.str(field(c.dest, "destination", "optional-path"));
      w.u16(n);
      c.sources.forEach((s, i) => w.str(field(s, `source ${i + 1}`, "path")));
      return;
    }
    case "CANCEL_TRANSFER":
      return w.u64(id(c.transferId, "transferId"));
    case "SHUTDOWN":
      return w.u8(code(SHUTDOWN, c.mode, "shutdown mode"));
    case "SET_KEYS":
      w.u64(id(c.sessionId, "sessionId"));
      w.bytes(key(c.txKey, "txKey"));
      w.bytes(fixed(c.txIv, MSG_LIMITS.IV_BYTES, "txIv"));
      w.bytes(key(c.rxKey, "rxKey"));
      w.bytes(fixed(c.rxIv, MSG_LIMITS.IV_BYTES, "rxIv"));
      return;
  }
}

/**
 * The bytes of a command. Throws PfsError with the code the C decoder would
 * give the result (PFS_ERR_MALFORMED, PFS_ERR_LIMIT) or PFS_ERR_INVALID_ARG
 * for a value JavaScript cannot encode (a key of the wrong size, a fraction).
 */
export function encodeCommand(c: Command): Uint8Array {
  const w = new ByteWriter();
  w.u16(MSG[c.type]);
  w.u16(MSG_LIMITS.VERSION);
  writeBody(w, c);
  if (w.length > MSG_LIMITS.MAX) {
    throw bad("PFS_ERR_LIMIT", `${c.type} is ${w.length} bytes, at most ${MSG_LIMITS.MAX}`);
  }
  return w.result();
}

/** A string field read raw; checked after every field is read, as in C. */
function checkText(b: Uint8Array, what: string, kind: "path" | "optional-path" | "text"): string {
  const max = kind === "text" ? MSG_LIMITS.TEXT_MAX : MSG_LIMITS.PATH_MAX;
  if (b.length > max) throw bad("PFS_ERR_LIMIT", `${what} is ${b.length} bytes, at most ${max}`);
  if (kind === "path" && b.length === 0) throw bad("PFS_ERR_MALFORMED", `${what} is empty`);
  if (b.includes(0)) throw bad("PFS_ERR_MALFORMED", `${what} contains a NUL byte`);
  return fromUtf8(b);
}

function nonPositive(v: number, what: string): number {
  if (v > 0) throw bad("PFS_ERR_MALFORMED", `${what} ${v} is not 0 or a negative error code`);
  return v;
}

/** Reads every field of the event, then checks them (the C decoder's order,
 * so the same bytes get the same code). */
function readEvent(r: ByteReader, type: number): Event {
  const num = (what: string) => Number(r.u64(what));
  switch (type) {
    case MSG.READY: {
      const layoutVersion = r.u32("layout version");
      const workerCount = r.u32("worker count");
      const pid = r.u32("pid");
      end(r);
      if (workerCount > REGION.WORKERS_MAX) {
        throw bad(
          "PFS_ERR_LIMIT",
          `READY names ${workerCount} workers, at most ${REGION.WORKERS_MAX}`,
        );
      }
      if (layoutVersion === 0) throw bad("PFS_ERR_MALFORMED", "READY has layout version 0");
      return { type: "READY", layoutVersion, workerCount, pid };
    }
    case MSG.SESSION_STATE: {
      const sessionId = r.u64("session id");
      const s = r.u8("state");
      const error = r.i32("error");
      const message = r.str("message");
      end(r);
      const state = s === SSTATE.FREE ? undefined : nameOf(SSTATE, s);
      if (state === undefined) throw bad("PFS_ERR_MALFORMED", `session state ${s} is unknown`);
      nonPositive(error, "error");
      const m = checkText(message, "message", "text");
      return { type: "SESSION_STATE", sessionId, state: state as SessionState, error, message: m };
    }
    case MSG.TRANSFER_PROGRESS: {
      const ev: Event = {
        type: "TRANSFER_PROGRESS",
        transferId: r.u64("transfer id"),
        bytesDone: num("bytes done"),
        bytesTotal: num("bytes total"),
        filesDone: r.u32("files done"),
        filesTotal: r.u32("files total"),
        wireBytes: num("wire bytes"),
        pointerBytes: num("pointer bytes"),
        retransmittedBytes: num("retransmitted bytes"),
      };
      end(r);
      return ev;
    }
    case MSG.TRANSFER_DONE: {
      const transferId = r.u64("transfer id");
      const status = r.i32("status");
      const message = r.str("message");
      end(r);
      nonPositive(status, "status");
      return {
        type: "TRANSFER_DONE",
        transferId,
        status,
        message: checkText(message, "message", "text"),
      };
    }
    case MSG.FILE_RECEIVED: {
      const sessionId = r.u64("session id");
      const size = num("size");
      const digest = r.bytes(MSG_LIMITS.DIGEST_BYTES, "digest");
      const path = r.str("path");
      end(r);
      return {
        type: "FILE_RECEIVED",
        sessionId,
        size,
        digest,
        path: checkText(path, "path", "path"),
      };
    }
    case MSG.LOG: {
      const l = r.u8("level");
      const message = r.str("message");
      end(r);
      const level = nameOf(LEVEL, l);
      if (level === undefined) throw bad("PFS_ERR_MALFORMED", `log level ${l} is unknown`);
      return {
        type: "LOG",
        level: level as LogLevel,
        message: checkText(message, "message", "text"),
      };
    }
    case MSG.BACKEND:
      return readBackend(r);
  }
  throw bad("PFS_ERR_MALFORMED", `message type 0x${type.toString(16)} is not an event`);
}

/** A u8 count (at most PFS_MSG_COUNTS_MAX: over it, reading stops, as in C) and its u64s. */
function readCounts(r: ByteReader, what: string, names: readonly string[]): Record<string, number> {
  const n = r.u8(`the number of ${what}`);
  if (n > MSG_LIMITS.COUNTS_MAX) {
    throw bad("PFS_ERR_LIMIT", `BACKEND has ${n} ${what}, at most ${MSG_LIMITS.COUNTS_MAX}`);
  }
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) out[codeName(names, i)] = Number(r.u64(`${what} ${i}`));
  return out;
}

/** BACKEND's fields, then ring_msg.c's check() on them, in its order. */
function readBackend(r: ByteReader): BackendEvent {
  const num = (what: string) => Number(r.u64(what));
  const kind = r.u8("kind");
  const mode = r.u8("xdp mode");
  const zeroCopy = r.u8("zero copy");
  const hugepages = r.u8("hugepages");
  const queues = r.u32("queues");
  const ifname = r.str("interface name");
  const wakeups = num("wakeups");
  const noNeighbour = num("no-neighbour drops");
  const handedOff = num("hand-offs");
  const handoffDropped = num("hand-off drops");
  const reasons = readCounts(r, "XDP reasons", XDP_REASON_NAMES);
  const refused = readCounts(r, "refused-frame verdicts", ETH_VERDICT_NAMES);
  end(r);
  const udp = kind === BACKEND.UDP;
  if (!udp && kind !== BACKEND.XDP) {
    throw bad("PFS_ERR_MALFORMED", `BACKEND kind ${kind} is neither udp (1) nor xdp (2)`);
  }
  if (mode > XDP_MODE.GENERIC) {
    throw bad("PFS_ERR_MALFORMED", `BACKEND xdp mode ${mode} is unknown`);
  }
  if (zeroCopy > 1 || hugepages > 1) {
    throw bad("PFS_ERR_MALFORMED", "BACKEND zero copy and hugepages must be 0 or 1");
  }
  if (udp !== (mode === XDP_MODE.NONE)) {
    throw bad("PFS_ERR_MALFORMED", `BACKEND of kind ${udp ? "udp" : "xdp"} has xdp mode ${mode}`);
  }
  if (udp && (ifname.length > 0 || zeroCopy || hugepages)) {
    throw bad("PFS_ERR_MALFORMED", "BACKEND udp has an interface, zero copy or hugepages");
  }
  if (!udp && (ifname.length === 0 || queues === 0)) {
    throw bad("PFS_ERR_MALFORMED", "BACKEND xdp has no interface or no queue");
  }
  if (ifname.length > MSG_LIMITS.IFNAME_MAX) {
    throw bad(
      "PFS_ERR_LIMIT",
      `BACKEND interface name is ${ifname.length} bytes, at most ${MSG_LIMITS.IFNAME_MAX}`,
    );
  }
  return {
    type: "BACKEND",
    kind: udp ? "udp" : "xdp",
    xdpMode: udp ? null : (nameOf(XDP_MODE, mode) as XdpMode),
    zeroCopy: zeroCopy === 1,
    hugepages: hugepages === 1,
    queues,
    ifname: checkText(ifname, "interface name", "text"),
    wakeups,
    noNeighbour,
    handedOff,
    handoffDropped,
    reasons,
    refused,
  };
}

function end(r: ByteReader): void {
  if (r.remaining !== 0) {
    throw bad("PFS_ERR_MALFORMED", `event has ${r.remaining} bytes after its last field`);
  }
}

/**
 * One event from its bytes. Throws PfsError with the code the C decoder gives
 * the same bytes: PFS_ERR_TRUNCATED, PFS_ERR_LIMIT, PFS_ERR_MSG_VERSION or
 * PFS_ERR_MALFORMED (a command type is malformed here too: it has no place on
 * the event ring).
 */
export function decodeEvent(bytes: Uint8Array): Event {
  if (bytes.length > MSG_LIMITS.MAX) {
    throw bad("PFS_ERR_LIMIT", `event of ${bytes.length} bytes, at most ${MSG_LIMITS.MAX}`);
  }
  const r = new ByteReader(bytes);
  const type = r.u16("the message type");
  const version = r.u16("the message version");
  const known = type >= MSG.READY && type <= MSG.BACKEND;
  if (!known) throw bad("PFS_ERR_MALFORMED", `message type 0x${type.toString(16)} is not an event`);
  if (version !== MSG_LIMITS.VERSION) {
    throw bad(
      "PFS_ERR_MSG_VERSION",
      `event type 0x${type.toString(16)} has version ${version}, this controller speaks version ${MSG_LIMITS.VERSION}`,
    );
  }
  return readEvent(r, type);
}
