import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { TOKEN } from "../testing/api-app.js";
import { FakeDaemon } from "../testing/fake-daemon.js";
import { buildApp } from "./app.js";
import { ApiClient } from "./client.js";
import { type CloseServer, startServer } from "./server.js";

let dir: string;
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-api-"));
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function start(listen: string): Promise<CloseServer> {
  const close = await startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), listen);
  closers.push(close);
  return close;
}

async function rejection(p: Promise<unknown>): Promise<PfsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PfsError);
  return err as PfsError;
}

/** A socket file nobody listens on: its process was killed before it could remove it. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    "-e",
    `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
  ]);
  await new Promise((resolve) => child.once("exit", resolve));
  expect(statSync(path).isSocket()).toBe(true);
}

describe("startServer on a unix socket", () => {
  it("makes the socket mode 0600 and serves the client on it", async () => {
    const path = join(dir, "api.sock");
    const umask = process.umask(0o022);
    try {
      const server = await start(`unix:${path}`);
      expect(server.address).toBe(`unix:${path}`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(process.umask()).toBe(0o022);
      const api = new ApiClient({ address: server.address, token: TOKEN });
      expect((await api.peers()).map((p) => p.name)).toEqual(["alpha"]);
    } finally {
      process.umask(umask);
    }
  });

  it("removes its socket when closed", async () => {
    const path = join(dir, "api.sock");
    const close = await start(`unix:${path}`);
    await close();
    expect(existsSync(path)).toBe(false);
  });

  it("replaces a stale socket left by a dead daemon", async () => {
    const path = join(dir, "api.sock");
    await staleSocket(path);
    const server = await start(`unix:${path}`);
    expect((await new ApiClient({ address: server.address }).health()).status).toBe("degraded");
  });

  it("refuses a socket another process listens on, and leaves it alone", async () => {
    const path = join(dir, "api.sock");
    const other: Server = createServer();
    await new Promise<void>((resolve) => other.listen(path, resolve));
    closers.push(() => new Promise((resolve) => other.close(() => resolve())));
    const err = await rejection(
      startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), `unix:${path}`),
    );
    expect(err.code).toBe("PFS_ERR_CONFLICT");
    expect(err.message).toBe(`another process listens on unix:${path}`);
    expect(statSync(path).isSocket()).toBe(true);
  });

  it("refuses to remove a file that is not a socket", async () => {
    const path = join(dir, "api.sock");
    writeFileSync(path, "keep me");
    const err = await rejection(
      startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), `unix:${path}`),
    );
    expect(err.code).toBe("PFS_ERR_CONFLICT");
    expect(err.message).toContain("is not a socket");
    expect(statSync(path).size).toBe(7);
  });

  it("says when the socket's directory does not exist", async () => {
    const err = await rejection(
      startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), `unix:${dir}/no/api.sock`),
    );
    expect(err.code).toBe("PFS_ERR_USAGE");
    expect(err.message).toContain("directory does not exist");
  });
});

describe("startServer on TCP", () => {
  it("listens on 127.0.0.1:0 and reports the port it got", async () => {
    const server = await start("127.0.0.1:0");
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe("127.0.0.1:0");
    const api = new ApiClient({ address: server.address, token: TOKEN });
    expect((await api.sessions()).map((s) => s.peer)).toEqual(["alpha"]);
  });

  it("answers PFS_ERR_CONFLICT for an address in use", async () => {
    const server = await start("127.0.0.1:0");
    const err = await rejection(
      startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), server.address),
    );
    expect(err.code).toBe("PFS_ERR_CONFLICT");
    expect(err.message).toBe(`${server.address} is in use`);
  });

  it("refuses a malformed address", async () => {
    const err = await rejection(
      startServer(buildApp({ daemon: new FakeDaemon(), token: TOKEN }), "7445"),
    );
    expect(err.code).toBe("PFS_ERR_USAGE");
  });
});
