/**
 * Host and port text as people write it: "beta", "198.18.0.2:7443",
 * "[2001:db8::2]:7443", "2001:db8::2" (an IPv6 address without a port needs no
 * brackets; with a port it does, or the port would read as the last group).
 * The config (listen addresses) and the peer list (peer hosts) share these rules.
 */

import { isIPv4, isIPv6 } from "node:net";

import { PfsError } from "../errors.js";

export interface HostPort {
  /** a DNS name, an IPv4 address or an IPv6 address without brackets */
  host: string;
  port: number;
}

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** True for an RFC 1123 host name (letters, digits, "-", dot-separated labels, ≤ 253 chars). */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = (s.endsWith(".") ? s.slice(0, -1) : s).split(".");
  // All-numeric dotted text is a mistyped IPv4 address, not a name.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => LABEL_RE.test(l));
}

/** Why `host` (no port, IPv6 with or without brackets) is not a host, or undefined if it is one. */
export function hostProblem(host: string): string | undefined {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIPv4(bare) || isIPv6(bare) || isHostname(bare)) return undefined;
  if (bare === "") return "the host is empty";
  return `"${host}" is not a host name, an IPv4 address or an IPv6 address`;
}

/** `host` without IPv6 brackets. */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function portProblem(text: string): string | undefined {
  if (!/^\d{1,5}$/.test(text)) return `port "${text}" is not a number`;
  const n = Number(text);
  if (n < 1 || n > 65535) return `port ${n} is outside 1..65535`;
  return undefined;
}

/**
 * Parse "host[:port]"; returns the reason as a string when it is not one.
 * Without `defaultPort` the port is required.
 */
export function tryParseHostPort(text: string, defaultPort?: number): HostPort | string {
  const t = text.trim();
  let host: string;
  let port: string | undefined;
  if (t.startsWith("[")) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
    if (!m) return `"${text}" has an unclosed "[" (write IPv6 as [2001:db8::1]:7443)`;
    host = m[1] as string;
    port = m[2];
    if (!isIPv6(host)) return `"${host}" in brackets is not an IPv6 address`;
  } else if (isIPv6(t)) {
    host = t;
  } else {
    const i = t.lastIndexOf(":");
    host = i < 0 ? t : t.slice(0, i);
    port = i < 0 ? undefined : t.slice(i + 1);
    if (host.includes(":")) {
      return `"${text}" is ambiguous: put an IPv6 address in brackets, as in [2001:db8::1]:7443`;
    }
    const p = hostProblem(host);
    if (p !== undefined) return p;
  }
  if (port === undefined) {
    if (defaultPort === undefined) return `"${text}" has no port (write HOST:PORT)`;
    return { host, port: defaultPort };
  }
  const pp = portProblem(port);
  if (pp !== undefined) return pp;
  return { host, port: Number(port) };
}

/** Parse "host[:port]" or throw PFS_ERR_USAGE saying what is wrong. */
export function parseHostPort(text: string, defaultPort: number): HostPort {
  const r = tryParseHostPort(text, defaultPort);
  if (typeof r === "string") {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `bad address "${text}": ${r}`,
      "write HOST or HOST:PORT, e.g. beta.example.net, 198.18.0.2:7443 or [2001:db8::2]:7443",
    );
  }
  return r;
}

/** "host:port", with brackets around an IPv6 host. */
export function formatHostPort(hp: HostPort): string {
  return isIPv6(hp.host) ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
