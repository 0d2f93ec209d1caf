/**
 * Puts a built app (app.ts) on a TCP address or a unix socket. The socket is
 * made with mode 0600 (umask set around the bind itself, so it never exists with
 * wider permissions); a socket file left by a dead daemon is removed, one that a
 * live process answers on is not.
 *
 *   const server = await startServer(buildApp({ daemon, token }), "unix:/run/packetfs/api.sock");
 *   console.log(server.address);
 *   await server(); // close
 */

import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import type { Server } from "node:http";
import { type AddressInfo, type ListenOptions, connect } from "node:net";
import { dirname } from "node:path";

import type { FastifyInstance } from "fastify";

import { PfsError } from "../errors.js";
import { type ListenAddress, formatListen, parseListen } from "./listen.js";

/** Closes the server (and the app) when called. */
export interface CloseServer {
  (): Promise<void>;
  /** where it listens, in listen syntax with the real port ("127.0.0.1:40123", "unix:/p") */
  readonly address: string;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** true if a process accepts connections on the socket at `path` */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", (err) => (errno(err) === "ECONNREFUSED" ? resolve(false) : reject(err)));
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (errno(err) === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `${path} exists and is not a socket; not removing it`,
      "choose another unix: path for the API",
    );
  }
  if (await answers(path)) {
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `another process listens on unix:${path}`,
      "stop it (pfs-dp stop) or choose another listen address",
    );
  }
  unlinkSync(path);
}

function bind(server: Server, options: ListenOptions, unix: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError).once("listening", onListening);
    // The pipe is bound synchronously inside listen(): a umask of 0177 makes it
    // 0600 from the start. (process.umask throws in worker threads; the chmod
    // after listening still applies there.)
    let old: number | undefined;
    try {
      if (unix) old = process.umask(0o177);
    } catch {
      old = undefined;
    }
    try {
      server.listen(options);
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
}

function bindError(err: unknown, where: string, addr: ListenAddress): unknown {
  // libuv reports a missing directory of a unix socket as EACCES
  const code = addr.kind === "unix" && !existsSync(dirname(addr.path)) ? "ENOENT" : errno(err);
  switch (code) {
    case "EADDRINUSE":
      return new PfsError(
        "PFS_ERR_CONFLICT",
        `${where} is in use`,
        "another daemon or program listens there: stop it or choose another listen address",
      );
    case "EACCES":
    case "EPERM":
      return new PfsError("PFS_ERR_USAGE", `no permission to listen on ${where}`);
    case "EADDRNOTAVAIL":
      return new PfsError("PFS_ERR_USAGE", `${where}: no local interface has this address`);
    case "ENOENT":
      return new PfsError("PFS_ERR_USAGE", `${where}: the socket's directory does not exist`);
    default:
      return err;
  }
}

export async function startServer(app: FastifyInstance, listen: string): Promise<CloseServer> {
  const addr: ListenAddress = parseListen(listen);
  await app.ready();
  const server = app.server;
  let ino: number | undefined;
  if (addr.kind === "unix") {
    await removeStaleSocket(addr.path);
    try {
      await bind(server, { path: addr.path }, true);
    } catch (err) {
      throw bindError(err, listen, addr);
    }
    chmodSync(addr.path, 0o600);
    ino = lstatSync(addr.path).ino;
  } else {
    try {
      await bind(server, { host: addr.host, port: addr.port }, false);
    } catch (err) {
      throw bindError(err, listen, addr);
    }
  }
  const bound = server.address() as AddressInfo | string;
  const address =
    typeof bound === "string" || addr.kind === "unix"
      ? formatListen(addr)
      : formatListen({ kind: "tcp", host: bound.address, port: bound.port });
  app.log.info({ address }, "API listening");

  const close = async () => {
    await app.close();
    if (addr.kind !== "unix") return;
    // Node removes the socket file on close; make sure, without touching a
    // socket a newer server may have made at the same path.
    try {
      if (lstatSync(addr.path).ino === ino) unlinkSync(addr.path);
    } catch (err) {
      if (errno(err) !== "ENOENT") throw err;
    }
  };
  return Object.assign(close, { address });
}
