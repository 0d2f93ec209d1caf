/**
 * Listen addresses of the API, shared by the server and the client:
 *   "127.0.0.1:7445", "[::1]:7445", "localhost:7445"   TCP
 *   "unix:/run/packetfs/api.sock"                       unix socket
 */

import { resolve } from "node:path";

import { PfsError } from "../errors.js";

export const DEFAULT_LISTEN = "127.0.0.1:7445";

/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
const UNIX_PATH_MAX = 107;

export type ListenAddress =
  { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

function bad(text: string, why: string): PfsError {
  return new PfsError(
    "PFS_ERR_USAGE",
    `listen address ${JSON.stringify(text)} ${why}`,
    'use ADDR:PORT (e.g. "127.0.0.1:7445", "[::1]:7445") or unix:/PATH',
  );
}

export function parseListen(text: string): ListenAddress {
  if (text.startsWith("unix:")) {
    const raw = text.slice("unix:".length);
    if (raw.length === 0) throw bad(text, "has no socket path after unix:");
    if (raw.includes("\0")) throw bad(text, "has a NUL byte in its path");
    const path = resolve(raw);
    if (Buffer.byteLength(path) > UNIX_PATH_MAX) {
      throw bad(
        text,
        `has a socket path longer than ${UNIX_PATH_MAX} bytes (the limit of unix sockets)`,
      );
    }
    return { kind: "unix", path };
  }
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (m === null) throw bad(text, "is neither ADDR:PORT nor unix:/PATH");
  const port = Number(m[3]);
  if (port > 65535) throw bad(text, `has port ${port}, above 65535`);
  return { kind: "tcp", host: (m[1] ?? m[2]) as string, port };
}

export function formatListen(a: ListenAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
