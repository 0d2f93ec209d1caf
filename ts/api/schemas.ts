/**
 * JSON schemas (TypeBox) of every request and response of the REST API. They
 * validate requests (ajv), serialize responses (fast-json-stringify) and make up
 * the OpenAPI document, so the three never disagree. Every string has a length
 * bound, every array a size bound, every number a range, every object
 * `additionalProperties: false`. Schemas whose rule is a pattern carry a
 * `description` that completes "… must be <description>" in error messages.
 */

import { type Static, type TSchema, Type } from "@sinclair/typebox";

import { MSG_LIMITS } from "../dataplane/protocol.js";
import { DEFAULT_CONTROL_PORT } from "../peers.js";

export const LIMITS = Object.freeze({
  /** a path in a request, in bytes of UTF-16 (the message encoding's bound) */
  PATH_MAX: MSG_LIMITS.PATH_MAX,
  SOURCES_MAX: MSG_LIMITS.SOURCES_MAX,
  NAME_MAX: 63,
  /** a DNS name's maximum length */
  HOST_MAX: 253,
  WINDOW_BLOCKS_MAX: 4096,
  /** bytes per second: 1 TB/s, above any link; keeps values exact in JSON */
  RATE_MAX: 1e12,
  PTO_BACKOFF_MAX: MSG_LIMITS.PTO_BACKOFF_MAX,
  RETRIES_MAX: 65535,
  /** decimal digits of a 64-bit id */
  ID_DIGITS_MAX: 20,
});

/** The control-channel port a peer is assumed to listen on when a request names none. */
export const DEFAULT_PEER_PORT = DEFAULT_CONTROL_PORT;

const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, description?: string) =>
  Type.Object(props, {
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  });

/** A string from a fixed list: a plain JSON-schema enum (one clear error, an enum in OpenAPI). */
const StringEnum = <const T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values] });

// --- fields ------------------------------------------------------------------

/** The node-name format of ts/config/formats.ts: peers are named like nodes. */
export const PeerName = Type.String({
  minLength: 1,
  maxLength: LIMITS.NAME_MAX,
  pattern: "^[a-z0-9][a-z0-9-]*$",
  description: 'a peer name: lowercase letters, digits and "-", starting with a letter or digit',
});

const Host = Type.String({
  minLength: 1,
  maxLength: LIMITS.HOST_MAX,
  pattern: "^[A-Za-z0-9._:%\\[\\]-]+$",
  description: "a host name, an IPv4 address or an IPv6 address",
});

const Port = Type.Integer({ minimum: 1, maximum: 65535 });

const Fingerprint = Type.String({
  minLength: 71,
  maxLength: 71,
  pattern: "^sha256:[0-9a-f]{64}$",
  description: 'a key fingerprint: "sha256:" followed by 64 lower-case hex digits',
});

export const TransferId = Type.String({
  minLength: 1,
  maxLength: LIMITS.ID_DIGITS_MAX,
  pattern: "^[0-9]+$",
  description: "a transfer id: decimal digits only",
});

const SourcePath = Type.String({
  minLength: 1,
  maxLength: LIMITS.PATH_MAX,
  pattern: "^/[^\\u0000]*$",
  description: 'an absolute path on this host (starting with "/", no NUL byte)',
});

/** Relative, no ".." component, no leading "/", no NUL; "" is the peer's receive root. */
const DestPath = Type.String({
  maxLength: LIMITS.PATH_MAX,
  pattern: "^(?!/)(?!(?:.*/)?\\.\\.(?:/|$))[^\\u0000]*$",
  description:
    'a path relative to the peer\'s receive root: no leading "/", no ".." component, no NUL byte ("" = the root)',
});

const Bytes = Type.Integer({ minimum: 0 });
const Rate = Type.Integer({ minimum: 0, maximum: LIMITS.RATE_MAX });
const DecimalU64 = Type.String({ pattern: "^[0-9]+$" });
const Timestamp = Type.String({ format: "date-time" });
const ErrorInfo = obj({ code: Type.String(), message: Type.String() });

// --- entities ----------------------------------------------------------------

export const Policy = obj({
  windowBlocks: Type.Integer({ minimum: 1, maximum: LIMITS.WINDOW_BLOCKS_MAX }),
  cc: StringEnum(["bbr", "cubic", "fixed"]),
  rateCap: Rate,
  fixedRate: Rate,
  maxPtoBackoff: Type.Integer({ minimum: 0, maximum: LIMITS.PTO_BACKOFF_MAX }),
  maxRetries: Type.Integer({ minimum: 0, maximum: LIMITS.RETRIES_MAX }),
});

export const PeerInfo = obj({ name: PeerName, host: Host, port: Port, fingerprint: Fingerprint });

const SessionState = StringEnum(["starting", "up", "down", "failed", "removed"]);

export const SessionInfo = obj({
  id: DecimalU64,
  peer: Type.String(),
  state: SessionState,
  error: Type.Optional(ErrorInfo),
  policy: Policy,
  keyGeneration: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: "data-plane key generation: 0 = the session's first keys, +1 per rotation",
    }),
  ),
  keysRotatedAt: Type.Optional(Timestamp),
});

const TransferState = StringEnum(["queued", "running", "done", "failed", "cancelled"]);

export const TransferInfo = obj({
  id: DecimalU64,
  peer: Type.String(),
  direction: StringEnum(["send", "receive"]),
  sources: Type.Array(Type.String()),
  dest: Type.String(),
  state: TransferState,
  bytesDone: Bytes,
  bytesTotal: Bytes,
  filesDone: Bytes,
  filesTotal: Bytes,
  wireBytes: Bytes,
  pointerBytes: Bytes,
  retransmittedBytes: Bytes,
  startedAt: Timestamp,
  finishedAt: Type.Optional(Timestamp),
  error: Type.Optional(ErrorInfo),
});

const LogStats = obj({
  capacity: Bytes,
  held: Bytes,
  epoch: DecimalU64,
  lower: DecimalU64,
  contig: DecimalU64,
});

export const BlobStats = obj({ peer: Type.String(), tx: LogStats, rx: LogStats });

const BlobDirectionCheck = obj({
  direction: StringEnum(["tx", "rx"]),
  sameEpoch: Type.Boolean(),
  segmentsCompared: Bytes,
  segmentSize: Bytes,
  firstMismatch: Type.Optional(Bytes),
  agree: Type.Boolean(),
});

export const BlobVerify = obj({
  peer: Type.String(),
  agree: Type.Boolean(),
  directions: Type.Array(BlobDirectionCheck),
});

export const BlobVerifyBody = obj({ peer: PeerName });

export const Health = obj({
  status: StringEnum(["ok", "degraded"]),
  dataplane: obj({
    running: Type.Boolean(),
    pid: Type.Optional(Type.Integer({ minimum: 1 })),
    restarts: Bytes,
    heartbeatAgeMs: Type.Optional(Type.Number({ minimum: 0 })),
    backend: Type.Optional(
      obj(
        {
          kind: StringEnum(["udp", "xdp"]),
          ifname: Type.Optional(Type.String({ maxLength: MSG_LIMITS.IFNAME_MAX })),
          xdpMode: Type.Optional(StringEnum(["native", "generic"])),
          zeroCopy: Type.Boolean(),
          queues: Type.Integer({ minimum: 0 }),
          hugepages: Type.Boolean(),
          cores: Type.String(),
        },
        "The data plane's packet I/O as it last reported it (absent until it has).",
      ),
    ),
  }),
});

export const PeerList = obj({ peers: Type.Array(PeerInfo) });
export const SessionList = obj({ sessions: Type.Array(SessionInfo) });
export const TransferList = obj({ transfers: Type.Array(TransferInfo) });
export const BlobStatsList = obj({ blobs: Type.Array(BlobStats) });

/** The body of every error answer. */
export const ErrorBody = (description: string) =>
  obj(
    {
      error: obj({
        code: Type.String({ description: "a stable PFS_ERR_… code (docs/api.md)" }),
        message: Type.String(),
        hint: Type.Optional(Type.String()),
      }),
    },
    description,
  );
export type ErrorBody = Static<ReturnType<typeof ErrorBody>>;

// --- requests ----------------------------------------------------------------

export const PeerParams = obj({ name: PeerName });
export const SessionParams = obj({ peer: PeerName });
export const TransferParams = obj({ id: TransferId });
export const NoQuery = obj({});

export const AddPeerBody = obj({
  name: PeerName,
  host: Host,
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: DEFAULT_PEER_PORT })),
  fingerprint: Fingerprint,
});

export const PolicyBody = Type.Partial(Policy, { additionalProperties: false, minProperties: 1 });

export const TransfersQuery = obj({
  peer: Type.Optional(PeerName),
  state: Type.Optional(TransferState),
});

export const SendBody = obj({
  sources: Type.Array(SourcePath, { minItems: 1, maxItems: LIMITS.SOURCES_MAX }),
  peer: PeerName,
  dest: DestPath,
});

export type AddPeerBody = Static<typeof AddPeerBody>;
export type PolicyBody = Static<typeof PolicyBody>;
export type SendBody = Static<typeof SendBody>;
export type TransfersQuery = Static<typeof TransfersQuery>;

/**
 * Error answers a route can give, for its `response` schema (and so the OpenAPI
 * document): 400 and 500 always, the rest as listed.
 */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const what: Record<number, string> = {
    400: "The request is malformed (PFS_ERR_USAGE): the message names the field.",
    401: "No valid bearer token (PFS_ERR_UNAUTHORIZED).",
    404: "The named peer, session or transfer does not exist.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large (PFS_ERR_TOO_LARGE).",
    500: "An internal error; the daemon's log has the details.",
    503: "The data plane or a resource it needs is not available.",
  };
  const out: Record<number, TSchema> = {};
  for (const s of [400, ...statuses, 500]) {
    out[s] = ErrorBody(what[s] ?? "An error; the code says which.");
  }
  return out;
}
