/**
 * The one error registry of the control plane.
 *
 * Every error a person or an API client can see has a stable code (`PFS_ERR_…`),
 * an HTTP status (for the REST API to come) and a documented meaning. The data-plane
 * codes mirror `dataplane/error.h` one to one — same names, same numbers (`cCode`) —
 * so a C tool's `{"error":{"code":"PFS_ERR_CHECKSUM",…}}` maps onto the same entry.
 * Codes are never renumbered or reused, only added; errors.test.ts parses the C
 * header and fails when the two lists drift apart.
 */

export interface ErrorSpec {
  /** Value of the C enum pfs_error, or null for errors that exist only here. */
  readonly cCode: number | null;
  /** HTTP status the REST API answers with. */
  readonly status: number;
  /** What the error means, for people reading docs and API clients. */
  readonly docs: string;
}

function spec(cCode: number | null, status: number, docs: string): ErrorSpec {
  return Object.freeze({ cCode, status, docs });
}

// 400: the caller's input is wrong; 404: a named thing does not exist;
// 409: state on disk conflicts with the request; 502: a peer (or a block from
// one) broke the protocol; 503: a resource is short or not set up; 500: our bug
// or the system's failure.
export const ERRORS = Object.freeze({
  // --- data plane, mirrored from dataplane/error.h ---------------------------
  PFS_ERR_INVALID_ARG: spec(-10001, 400, "A caller passed a value out of range."),
  PFS_ERR_CAPACITY: spec(-10002, 400, "Log capacity is not a power of two or is out of bounds."),
  PFS_ERR_NOMEM: spec(-10003, 503, "Memory or a mapping could not be obtained."),
  PFS_ERR_IO: spec(-10004, 500, "Reading, writing or syncing a log file failed."),
  PFS_ERR_META_CORRUPT: spec(-10005, 500, "A log file has no valid metadata slot."),
  PFS_ERR_META_MISMATCH: spec(-10006, 409, "A log file was made with other parameters."),
  PFS_ERR_BUF_TOO_SMALL: spec(-10007, 500, "An output buffer cannot hold the result."),
  PFS_ERR_TRUNCATED: spec(-10008, 502, "An encoded block is shorter than its fields say."),
  PFS_ERR_BAD_MAGIC: spec(-10009, 502, "Not a PacketFS block, or an unknown version."),
  PFS_ERR_CHECKSUM: spec(-10010, 502, "Block checksum mismatch: the block is corrupted."),
  PFS_ERR_LIMIT: spec(-10011, 502, "A field exceeds a specification limit."),
  PFS_ERR_POINTER_RANGE: spec(-10012, 502, "A pointer lies outside the receiver's valid window."),
  PFS_ERR_POINTER_CHECK: spec(-10013, 502, "Pointed-to bytes differ from the sender's."),
  PFS_ERR_LITERAL_RANGE: spec(-10014, 502, "Literals do not fit the log's write window."),
  PFS_ERR_DECOMPRESS: spec(-10015, 502, "A compressed section is malformed."),
  PFS_ERR_MALFORMED: spec(-10016, 502, "Fields of a block are inconsistent with each other."),
  PFS_ERR_OUT_OF_ORDER: spec(-10017, 503, "Too many out-of-order writes are pending in a log."),
  PFS_ERR_CRYPTO: spec(-10018, 500, "The crypto library failed to initialise."),
  PFS_ERR_AUTH: spec(
    -10019,
    502,
    "A packet failed authentication: forged, corrupted, or sealed with another key.",
  ),
  PFS_ERR_REPLAY: spec(
    -10020,
    502,
    "A packet number was already seen or is older than the replay window.",
  ),
  PFS_ERR_RING_FULL: spec(
    -10021,
    503,
    "A control ring is full: the side that should drain it is not reading.",
  ),
  PFS_ERR_RING_CORRUPT: spec(
    -10022,
    500,
    "A control ring's indices or a record header are inconsistent.",
  ),
  PFS_ERR_REGION_INVALID: spec(
    -10023,
    500,
    "A file is not a control region, or its layout is inconsistent.",
  ),
  PFS_ERR_REGION_VERSION: spec(
    -10024,
    409,
    "The control region was made with another layout version than this side speaks.",
  ),
  PFS_ERR_MSG_VERSION: spec(
    -10025,
    502,
    "A control message has a type version this side does not speak.",
  ),
  PFS_ERR_CANCELLED: spec(
    -10026,
    409,
    "A transfer was cancelled, or its session was removed before it finished.",
  ),
  PFS_ERR_PEER_SILENT: spec(
    -10027,
    504,
    "The peer stopped answering: the session's probe timeouts ran out.",
  ),

  // --- control plane only ----------------------------------------------------
  PFS_ERR_USAGE: spec(null, 400, "A command or request is missing an argument or has a bad one."),
  PFS_ERR_FILE_NOT_FOUND: spec(null, 404, "A named file does not exist or is not a regular file."),
  PFS_ERR_NATIVE_MISSING: spec(null, 503, "A C tool of the data plane is not built."),
  PFS_ERR_DATAPLANE_DEAD: spec(
    null,
    503,
    "The data plane process is gone, stopped, or has not updated its heartbeat in time.",
  ),
  PFS_ERR_NOT_FOUND: spec(null, 404, "A named peer, session or transfer does not exist."),
  PFS_ERR_CONFLICT: spec(
    null,
    409,
    "The thing to create exists already, or its state forbids the request.",
  ),
  PFS_ERR_UNAUTHORIZED: spec(null, 401, "The request carries no valid bearer token."),
  PFS_ERR_CONFIG: spec(null, 400, "The configuration file is missing a field or has a bad value."),
  PFS_ERR_PEER_UNTRUSTED: spec(
    null,
    403,
    "A peer presented a key whose fingerprint is not the one pinned for it, or no pinned key at all.",
  ),
  PFS_ERR_PEER_UNREACHABLE: spec(
    null,
    503,
    "A peer's daemon could not be reached or stopped answering.",
  ),
  PFS_ERR_DAEMON_NOT_RUNNING: spec(
    null,
    503,
    "No pfs-dp daemon is running for this configuration directory.",
  ),
  PFS_ERR_TOO_LARGE: spec(null, 413, "A request or value is larger than allowed."),
  PFS_ERR_INTERNAL: spec(
    null,
    500,
    "An unexpected failure inside the daemon; its log has the details under the request id.",
  ),
  PFS_ERR_NATIVE_FAILED: spec(
    null,
    500,
    "A C tool of the data plane failed without a known code, or answered with malformed output.",
  ),
} satisfies Record<string, ErrorSpec>);

export type PfsErrorCode = keyof typeof ERRORS;

export function isPfsErrorCode(code: string): code is PfsErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** The registry entry whose C value is `cCode`, if any. */
export function codeFromC(cCode: number): PfsErrorCode | undefined {
  for (const [code, s] of Object.entries(ERRORS)) {
    if (s.cCode === cCode) return code as PfsErrorCode;
  }
  return undefined;
}

export class PfsError extends Error {
  readonly code: PfsErrorCode;
  /** What the person should do about it; shown under the message. */
  readonly hint: string | undefined;

  constructor(code: PfsErrorCode, message: string, hint?: string) {
    super(message);
    this.name = "PfsError";
    this.code = code;
    this.hint = hint;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get cCode(): number | null {
    return ERRORS[this.code].cCode;
  }

  /** Shape used in JSON output and (later) REST API error bodies. */
  toJSON(): { code: PfsErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/**
 * Format any thrown value for a person:
 *   error: <message>
 *     hint: <what to do>
 * Errors that are not PfsErrors are bugs; they keep their stack for the report.
 */
export function formatError(err: unknown): string {
  if (err instanceof PfsError) {
    const lines = [`error: ${err.message}`];
    if (err.hint) lines.push(`  hint: ${err.hint}`);
    return lines.join("\n");
  }
  if (err instanceof Error) {
    return `error: internal error: ${err.stack ?? err.message}`;
  }
  return `error: internal error: ${String(err)}`;
}
