/**
 * The daemon's configuration: one TypeBox schema whose descriptions and defaults
 * are the documentation (`pfs-dp init` writes them into a commented config.yaml),
 * and whose static type is the `Config` every other module receives.
 * Fixed defaults are the frozen DEFAULTS below; the three that depend on the
 * machine (node name, receive root, log directory) come from defaultConfig().
 */

import { hostname } from "node:os";

import { type Static, type TSchema, Type } from "@sinclair/typebox";

import { MSG_LIMITS } from "../dataplane/protocol.js";
import type { ConfigPaths } from "./paths.js";

export const LIMITS = Object.freeze({
  /** the IPv4 minimum datagram every host must accept (RFC 791) */
  MTU_MIN: 576,
  /** the largest UDP payload over IPv4: 65535 − 20 (IP) − 8 (UDP) */
  MTU_MAX: 65507,
  WINDOW_BLOCKS_MAX: 4096,
  PTO_BACKOFF_MAX: MSG_LIMITS.PTO_BACKOFF_MAX,
  RETRIES_MAX: 65535,
  /** bytes per second: 1 TB/s, above any link; keeps values exact in JSON */
  RATE_MAX: 1e12,
  KEY_ROTATION_MIN_S: 60,
  KEY_ROTATION_MAX_S: 7 * 24 * 3600,
});

/** The machine-independent defaults. */
export const DEFAULTS = Object.freeze({
  control: Object.freeze({ listen: "0.0.0.0:7443" }),
  dataplane: Object.freeze({
    backend: "udp" as const,
    xdpMode: "auto" as const,
    xdpCopy: "auto" as const,
    listen: "0.0.0.0:7444",
    cores: "",
    blobSize: "1GiB",
    mtu: 1472,
  }),
  rest: Object.freeze({ listen: "127.0.0.1:7445" }),
  keyRotation: Object.freeze({ intervalSeconds: 3600 }),
  policy: Object.freeze({
    windowBlocks: 256,
    cc: "bbr" as const,
    rateCap: 0,
    fixedRate: 0,
    maxPtoBackoff: 6,
    maxRetries: 10,
  }),
  logLevel: "info" as const,
});

/** A string that must be one of `values` (a plain JSON-schema enum: one clear ajv error). */
function stringEnum<const T extends string>(values: readonly T[], description: string, dflt: T) {
  return Type.Unsafe<T>({ type: "string", enum: [...values], description, default: dflt });
}

function section<T extends Parameters<typeof Type.Object>[0]>(description: string, props: T) {
  return Type.Object(props, { additionalProperties: false, description });
}

function int(min: number, max: number, dflt: number, description: string) {
  return Type.Integer({ minimum: min, maximum: max, default: dflt, description });
}

export const PolicySchema = section(
  "Transport policy of new sessions (the API can change it per session while it runs).",
  {
    windowBlocks: int(
      1,
      LIMITS.WINDOW_BLOCKS_MAX,
      DEFAULTS.policy.windowBlocks,
      "Blocks in flight per session; a session can later shrink its window but not grow it past this.",
    ),
    cc: stringEnum(
      ["bbr", "cubic", "fixed"],
      'Congestion control: "bbr", "cubic", or "fixed" (sends at policy.fixedRate).',
      DEFAULTS.policy.cc,
    ),
    rateCap: int(
      0,
      LIMITS.RATE_MAX,
      DEFAULTS.policy.rateCap,
      "Most bytes per second a session sends; 0 = no cap.",
    ),
    fixedRate: int(
      0,
      LIMITS.RATE_MAX,
      DEFAULTS.policy.fixedRate,
      'Bytes per second with cc "fixed" (required > 0 then); ignored otherwise.',
    ),
    maxPtoBackoff: int(
      0,
      LIMITS.PTO_BACKOFF_MAX,
      DEFAULTS.policy.maxPtoBackoff,
      "How often the probe timeout may double while a peer is silent.",
    ),
    maxRetries: int(
      0,
      LIMITS.RETRIES_MAX,
      DEFAULTS.policy.maxRetries,
      "Probe timeouts in a row before the peer counts as gone; 0 = never give up.",
    ),
  },
);

export const ConfigSchema = Type.Object(
  {
    nodeName: Type.String({
      format: "node-name",
      description:
        "This node's name: its certificate's CN and what peers call it. Lowercase letters, digits and \"-\". Default: the host name, made to fit.",
    }),
    control: section("The TLS control channel peers connect to (mutual, pinned keys).", {
      listen: Type.String({
        format: "listen",
        default: DEFAULTS.control.listen,
        description: "Address and TCP port to accept peers' control connections on.",
      }),
    }),
    dataplane: section("The data plane process (pfs-dp-worker) that moves the blocks.", {
      backend: stringEnum(
        ["udp", "xdp"],
        'Packet I/O: "udp" (sockets, works anywhere) or "xdp" (AF_XDP, needs root and dataplane.iface).',
        DEFAULTS.dataplane.backend,
      ),
      iface: Type.Optional(
        Type.String({
          format: "iface",
          examples: ["eth0"],
          description:
            'Network interface for the "xdp" backend, e.g. eth0. No default; pfs-dp start --iface sets it too.',
        }),
      ),
      xdpMode: stringEnum(
        ["auto", "native", "generic"],
        'How the "xdp" backend attaches its XDP program: "native" (in the driver, fast), "generic" (in the kernel stack, any driver, slower) or "auto" (native, else generic). Ignored with "udp".',
        DEFAULTS.dataplane.xdpMode,
      ),
      xdpCopy: stringEnum(
        ["auto", "zerocopy", "copy"],
        'How the "xdp" backend binds its AF_XDP sockets: "zerocopy" (the NIC writes into the data plane\'s memory; needs driver support), "copy" or "auto" (zero-copy, else copy). Ignored with "udp".',
        DEFAULTS.dataplane.xdpCopy,
      ),
      listen: Type.String({
        format: "listen",
        default: DEFAULTS.dataplane.listen,
        description: "Address and UDP port of the data plane.",
      }),
      cores: Type.String({
        format: "cores",
        default: DEFAULTS.dataplane.cores,
        description:
          'CPUs to pin one worker each to, e.g. "0" or "0-3,6"; "" = one unpinned worker.',
      }),
      blobSize: Type.String({
        format: "blob-size",
        default: DEFAULTS.dataplane.blobSize,
        description:
          "Capacity of each blob log (one per peer and direction): a power of two from 64KiB to 1TiB.",
      }),
      mtu: int(
        LIMITS.MTU_MIN,
        LIMITS.MTU_MAX,
        DEFAULTS.dataplane.mtu,
        "Largest UDP payload per packet, in bytes (1472 fits a 1500-byte Ethernet MTU).",
      ),
      receiveRoot: Type.String({
        format: "abs-path",
        description:
          "Directory received files are written under; peers cannot write outside it. Default: <config-dir>/received.",
      }),
      logDir: Type.String({
        format: "abs-path",
        description: "Directory of the blob logs. Default: <config-dir>/state/logs.",
      }),
    }),
    rest: section("The local REST API (bearer token in <config-dir>/token).", {
      listen: Type.String({
        format: "rest-listen",
        default: DEFAULTS.rest.listen,
        description:
          'ADDR:PORT or "unix:/path/to.sock". Keep it on localhost or a socket: it controls the node.',
      }),
    }),
    keyRotation: section("Data-plane key rotation.", {
      intervalSeconds: int(
        LIMITS.KEY_ROTATION_MIN_S,
        LIMITS.KEY_ROTATION_MAX_S,
        DEFAULTS.keyRotation.intervalSeconds,
        "Seconds between fresh data-plane keys for each session (60 to 604800 = one week).",
      ),
    }),
    policy: PolicySchema,
    logLevel: stringEnum(
      ["debug", "info", "warn", "error"],
      'Least severe log level written: "debug", "info", "warn" or "error".',
      DEFAULTS.logLevel,
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** `hostname` made into a node name: lowercase, [a-z0-9-], ≤ 63 chars; "node" if nothing is left. */
export function sanitizeNodeName(host: string): string {
  const s = (host.split(".")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return s === "" ? "node" : s;
}

/** Freeze `v` and everything reachable from it. */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** The complete default configuration for the directory of `paths`, deep-frozen. */
export function defaultConfig(paths: ConfigPaths, host: string = hostname()): Config {
  return deepFreeze({
    nodeName: sanitizeNodeName(host),
    control: { ...DEFAULTS.control },
    dataplane: { ...DEFAULTS.dataplane, receiveRoot: paths.receiveDir, logDir: paths.logDir },
    rest: { ...DEFAULTS.rest },
    keyRotation: { ...DEFAULTS.keyRotation },
    policy: { ...DEFAULTS.policy },
    logLevel: DEFAULTS.logLevel,
  });
}

/** Sub-schemas of an object schema, in declaration order (for the commented config file). */
export function propertiesOf(schema: TSchema): [string, TSchema][] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  return props === undefined ? [] : Object.entries(props);
}
