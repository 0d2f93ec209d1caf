/**
 * Constants of the control region and its messages, mirrored from
 * dataplane/control.h name for name and value for value, and the reason codes
 * a BACKEND event counts by, mirrored from bpf/pfs_xdp.h and
 * dataplane/ethframe.h (protocol.test.ts parses the headers and fails when
 * they drift apart). Values are never renumbered, only added. Format in
 * docs/protocol.md, "Control region".
 */

/** Layout version of the region this controller speaks (PFS_REGION_VERSION). */
export const REGION_VERSION = 1;
export const REGION_MAGIC = 0x52534650;

/** PFS_REGION_<key> */
export const REGION = Object.freeze({
  WORKERS_MAX: 64,
  WORKER_WORDS: 32,
  SLOT_HEAD_WORDS: 8,
  SLOT_WORDS: 40,
});

/** PFS_SLOT_<key>: words of a session slot's head. */
export const SLOT_WORD = Object.freeze({
  SESSION_ID: 0,
  STATE: 1,
  WORKER: 2,
  GENERATION: 3,
});

/** PFS_DP_<key>: the data plane's life, in the region's state word. */
export const DP_STATE = Object.freeze({
  NONE: 0,
  STARTING: 1,
  RUNNING: 2,
  STOPPING: 3,
  STOPPED: 4,
});

/**
 * PFS_CTR_<NAME>: the counters of a worker block and of a session slot, in
 * index order. The camelCase name is what counters() reports.
 */
export const COUNTERS = Object.freeze([
  "PACKETS_SENT",
  "PACKETS_RECEIVED",
  "WIRE_BYTES_SENT",
  "WIRE_BYTES_RECEIVED",
  "PAYLOAD_BYTES_SENT",
  "PAYLOAD_BYTES_RECEIVED",
  "POINTER_BYTES_SENT",
  "LITERAL_BYTES_SENT",
  "POINTER_BYTES_RECEIVED",
  "LITERAL_BYTES_RECEIVED",
  "RETRANSMIT_PACKETS",
  "RETRANSMIT_BYTES",
  "AUTH_FAILURES",
  "REPLAYED",
  "MALFORMED",
  "POINTER_CHECK_FAILURES",
  "BLOCKS_APPLIED",
  "BLOCK_REPAIRS",
  "FILES_COMMITTED",
  "FILE_DIGEST_FAILURES",
  "SRTT_NS",
  "MIN_RTT_NS",
  "CWND_BYTES",
  "PACING_RATE",
  "BYTES_IN_FLIGHT",
  "BLOB_FILL_BYTES",
  "SESSIONS",
  "TRANSFERS_ACTIVE",
] as const);

/** PFS_MSG_<key>: limits and sizes of the message encoding. */
export const MSG_LIMITS = Object.freeze({
  VERSION: 1,
  HEADER_BYTES: 4,
  MAX: 65528,
  PATH_MAX: 4095,
  TEXT_MAX: 1024,
  SOURCES_MAX: 64,
  KEY_BYTES: 32,
  IV_BYTES: 12,
  DIGEST_BYTES: 16,
  ADDR_BYTES: 16,
  PTO_BACKOFF_MAX: 16,
  IFNAME_MAX: 15,
  COUNTS_MAX: 16,
});

/** PFS_MSG_<key>: message types; commands below 0x80, events from 0x81. */
export const MSG = Object.freeze({
  ADD_SESSION: 0x01,
  REMOVE_SESSION: 0x02,
  SET_POLICY: 0x03,
  START_TRANSFER: 0x04,
  CANCEL_TRANSFER: 0x05,
  SHUTDOWN: 0x06,
  SET_KEYS: 0x07,
  READY: 0x81,
  SESSION_STATE: 0x82,
  TRANSFER_PROGRESS: 0x83,
  TRANSFER_DONE: 0x84,
  FILE_RECEIVED: 0x85,
  LOG: 0x86,
  BACKEND: 0x87,
});

/** PFS_BACKEND_<key>: a BACKEND event's kind of packet I/O. */
export const BACKEND = Object.freeze({ UDP: 1, XDP: 2 });

/** PFS_MSG_XDP_<key>: a BACKEND event's XDP attach mode (NONE: the UDP backend). */
export const XDP_MODE = Object.freeze({ NONE: 0, NATIVE: 1, GENERIC: 2 });

/** PFS_FAMILY_<key> */
export const FAMILY = Object.freeze({ IPV4: 4, IPV6: 6 });

/** PFS_MSG_AEAD_<key> (= enum pfs_aead_alg) */
export const AEAD = Object.freeze({ AUTO: 0, AES256GCM: 1, CHACHA20POLY1305: 2 });

/** PFS_MSG_CC_<key> (= enum pfs_cc_algo) */
export const CC = Object.freeze({ FIXED: 0, CUBIC: 1, BBR: 2 });

/** PFS_SHUTDOWN_<key> */
export const SHUTDOWN = Object.freeze({ NOW: 0, DRAIN: 1 });

/** PFS_SSTATE_<key>: a session's state. */
export const SSTATE = Object.freeze({
  FREE: 0,
  STARTING: 1,
  UP: 2,
  DOWN: 3,
  FAILED: 4,
  REMOVED: 5,
});

/** PFS_LEVEL_<key>: severity of a LOG event. */
export const LEVEL = Object.freeze({ DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 });

/** Every constant above under its C name, for the mirror test and for docs. */
export function cNames(): Map<string, number> {
  const out = new Map<string, number>([
    ["PFS_REGION_MAGIC", REGION_MAGIC],
    ["PFS_REGION_VERSION", REGION_VERSION],
    ["PFS_CTR_COUNT", COUNTERS.length],
  ]);
  const groups: [string, Readonly<Record<string, number>>][] = [
    ["PFS_REGION_", REGION],
    ["PFS_SLOT_", SLOT_WORD],
    ["PFS_DP_", DP_STATE],
    ["PFS_MSG_", MSG_LIMITS],
    ["PFS_MSG_", MSG],
    ["PFS_FAMILY_", FAMILY],
    ["PFS_MSG_AEAD_", AEAD],
    ["PFS_MSG_CC_", CC],
    ["PFS_SHUTDOWN_", SHUTDOWN],
    ["PFS_SSTATE_", SSTATE],
    ["PFS_LEVEL_", LEVEL],
    ["PFS_BACKEND_", BACKEND],
    ["PFS_MSG_XDP_", XDP_MODE],
  ];
  for (const [prefix, group] of groups) {
    for (const [k, v] of Object.entries(group)) out.set(prefix + k, v);
  }
  COUNTERS.forEach((name, i) => out.set(`PFS_CTR_${name}`, i));
  return out;
}

/**
 * PFS_XDP_<key> (enum pfs_xdp_reason of bpf/pfs_xdp.h): why the XDP program
 * redirected or passed a packet. Indices of a BACKEND event's reasons.
 */
export const XDP_REASON = Object.freeze({
  REDIRECTED: 0,
  PASS_NO_XSK: 1,
  PASS_NOT_IP: 2,
  PASS_NOT_UDP: 3,
  PASS_OTHER_PORT: 4,
  PASS_FRAGMENT: 5,
  PASS_TRUNCATED: 6,
  PASS_IPV6_EXT: 7,
  PASS_BAD_IP: 8,
  PASS_VLAN_STACK: 9,
});

/**
 * Metric labels of XDP_REASON, by code. Every code but 0 is a pass, so the
 * label drops "pass_" — except for no_xsk, the one PacketFS datagram that is
 * passed, where it says what happened to it.
 */
export const XDP_REASON_NAMES: readonly string[] = Object.freeze([
  "redirected",
  "pass_no_xsk",
  "not_ip",
  "not_udp",
  "other_port",
  "fragment",
  "truncated",
  "ipv6_ext",
  "bad_ip",
  "vlan_stack",
]);

/**
 * Names of enum pfs_eth_verdict (dataplane/ethframe.h), by code, as
 * pfs_eth_verdict_name() in ethframe.c spells them: why the AF_XDP backend
 * refused a frame. Indices of a BACKEND event's refused counts.
 */
export const ETH_VERDICT_NAMES: readonly string[] = Object.freeze([
  "ok",
  "truncated",
  "not_ip",
  "bad_ip",
  "fragment",
  "not_udp",
  "bad_udp",
  "wrong_dest",
]);

/**
 * The label of code `i` in one of the name tables above; a code this build
 * does not know yet (a newer data plane) is still counted, as "code_<i>".
 */
export function codeName(names: readonly string[], i: number): string {
  return names[i] ?? `code_${i}`;
}

/** "PACKETS_SENT" -> "packetsSent" */
export function camel(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The name of a value in one of the groups above, lower-case ("up", "bbr"). */
export function nameOf(group: Readonly<Record<string, number>>, value: number): string | undefined {
  for (const [k, v] of Object.entries(group)) if (v === value) return k.toLowerCase();
  return undefined;
}
