import { mkdtempSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { TOKEN } from "../testing/api-app.js";
import { FakeDaemon } from "../testing/fake-daemon.js";
import { buildApp } from "./app.js";
import { ApiClient, errorFromAnswer } from "./client.js";
import { DEFAULT_PEER_PORT } from "./schemas.js";
import { type CloseServer, startServer } from "./server.js";

async function rejection(p: Promise<unknown>): Promise<PfsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PfsError);
  return err as PfsError;
}

describe("ApiClient against a server", () => {
  let daemon: FakeDaemon;
  let server: CloseServer;
  let api: ApiClient;

  beforeAll(async () => {
    daemon = new FakeDaemon({ peers: ["alpha"] });
    server = await startServer(buildApp({ daemon, token: TOKEN }), "127.0.0.1:0");
    api = new ApiClient({ address: server.address, token: TOKEN });
  });
  afterAll(async () => server());

  it("has a method for every route, answering with the route's data", async () => {
    expect((await api.health()).status).toBe("degraded");
    const bravo = { name: "bravo", host: "198.51.100.2", fingerprint: `sha256:${"1".repeat(64)}` };
    expect(await api.addPeer(bravo)).toEqual({ ...bravo, port: DEFAULT_PEER_PORT });
    expect((await api.peers()).map((p) => p.name)).toEqual(["alpha", "bravo"]);
    await api.removePeer("bravo");
    expect((await api.peers()).map((p) => p.name)).toEqual(["alpha"]);
    expect((await api.sessions())[0]?.peer).toBe("alpha");
    expect((await api.setPolicy("alpha", { windowBlocks: 64 })).policy.windowBlocks).toBe(64);
    expect((await api.rekey("alpha")).keyGeneration).toBe(1);
    const t = await api.send({ sources: ["/data/a.bin"], peer: "alpha", dest: "in" });
    expect(t.state).toBe("queued");
    expect((await api.transfer(t.id)).id).toBe(t.id);
    expect((await api.transfers({ state: "queued" })).map((x) => x.id)).toEqual([t.id]);
    expect(await api.transfers({ peer: "bravo" })).toEqual([]);
    expect((await api.cancel(t.id)).state).toBe("cancelled");
    expect((await api.blobStats())[0]?.peer).toBe("alpha");
    expect(await api.metrics()).toContain("packetfs_dataplane_up 0");
    expect(Object.keys((await api.openapi()).paths as object)).toContain("/v1/transfers");
  });

  it("turns error answers into PfsErrors with the server's code, message and hint", async () => {
    const notFound = await rejection(api.transfer("424242"));
    expect(notFound.code).toBe("PFS_ERR_NOT_FOUND");
    expect(notFound.message).toBe("no transfer 424242");
    expect(notFound.hint).toBe("GET /v1/transfers lists them");

    const usage = await rejection(api.send({ sources: ["rel"], peer: "alpha", dest: "" }));
    expect(usage.code).toBe("PFS_ERR_USAGE");
    expect(usage.message).toContain("body.sources[0] must be an absolute path");

    const missing = await rejection(api.send({ sources: ["/nope"], peer: "alpha", dest: "" }));
    expect(missing.code).toBe("PFS_ERR_FILE_NOT_FOUND");
  });

  it("answers PFS_ERR_UNAUTHORIZED with a wrong token", async () => {
    const wrong = new ApiClient({ address: server.address, token: "nope" });
    const err = await rejection(wrong.peers());
    expect(err.code).toBe("PFS_ERR_UNAUTHORIZED");
    expect(err.status).toBe(401);
  });
});

describe("ApiClient without a daemon", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pfs-client-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers PFS_ERR_DAEMON_NOT_RUNNING when TCP connections are refused", async () => {
    const probe: Server = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const err = await rejection(
      new ApiClient({ address: `127.0.0.1:${port}`, token: TOKEN }).health(),
    );
    expect(err.code).toBe("PFS_ERR_DAEMON_NOT_RUNNING");
    expect(err.message).toBe(`no daemon answers at 127.0.0.1:${port}`);
    expect(err.hint).toContain("pfs-dp start");
  });

  it("answers PFS_ERR_DAEMON_NOT_RUNNING when the unix socket is not there", async () => {
    const err = await rejection(new ApiClient({ address: `unix:${dir}/api.sock` }).peers());
    expect(err.code).toBe("PFS_ERR_DAEMON_NOT_RUNNING");
    expect(err.hint).toContain("pfs-dp start");
  });

  it("answers PFS_ERR_DAEMON_NOT_RUNNING when the daemon does not answer in time", async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const api = new ApiClient({ address: `127.0.0.1:${port}`, timeoutMs: 100 });
      const err = await rejection(api.health());
      expect(err.code).toBe("PFS_ERR_DAEMON_NOT_RUNNING");
      expect(err.message).toContain("did not answer within 100 ms");
    } finally {
      silent.close();
      // fetch keeps the socket open; close() waits for it otherwise
      (silent as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });
});

describe("errorFromAnswer", () => {
  it("keeps a code the registry knows", () => {
    const err = errorFromAnswer(
      409,
      '{"error":{"code":"PFS_ERR_CONFLICT","message":"m","hint":"h"}}',
      "x",
    );
    expect([err.code, err.message, err.hint]).toEqual(["PFS_ERR_CONFLICT", "m", "h"]);
  });

  it("maps a code it does not know by status, keeping the code in the message", () => {
    const err = errorFromAnswer(404, '{"error":{"code":"PFS_ERR_FUTURE","message":"gone"}}', "x");
    expect([err.code, err.message]).toEqual(["PFS_ERR_NOT_FOUND", "gone (PFS_ERR_FUTURE)"]);
  });

  it("says what came back when the answer is not an error body", () => {
    const err = errorFromAnswer(502, "<html>Bad Gateway</html>", "127.0.0.1:7445");
    expect(err.message).toBe(
      "HTTP 502 from the daemon at 127.0.0.1:7445: <html>Bad Gateway</html>",
    );
  });
});
