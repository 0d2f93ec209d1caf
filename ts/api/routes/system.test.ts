import { readFileSync } from "node:fs";

import type { RouteOptions } from "fastify";
import { describe, expect, it } from "vitest";

import { testApp } from "../../testing/api-app.js";
import { counters } from "../../testing/fake-daemon.js";

const usage = (message: string) => ({ status: 400, code: "PFS_ERR_USAGE", message });

describe("GET /v1/health", () => {
  it("answers without a token, degraded while the data plane is down", async () => {
    const t = testApp();
    const res = await t.call("GET", "/v1/health", undefined, null);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "degraded", dataplane: { running: false, restarts: 0 } });
  });

  it("reports a running data plane with its pid and heartbeat", async () => {
    const t = testApp();
    t.daemon.snapshot = { workers: [], total: counters(), sessions: [] };
    const res = await t.call("GET", "/v1/health", undefined, null);
    expect(res.json()).toEqual({
      status: "ok",
      dataplane: { running: true, pid: 4242, restarts: 0, heartbeatAgeMs: 12 },
    });
  });

  it("shows the packet I/O the data plane reported, with the configured cores", async () => {
    const t = testApp();
    t.daemon.snapshot = { workers: [], total: counters(), sessions: [] };
    t.daemon.cores = "2-3";
    t.daemon.backendEvent = {
      type: "BACKEND",
      kind: "xdp",
      xdpMode: "native",
      zeroCopy: false,
      hugepages: true,
      queues: 2,
      ifname: "eth0",
      wakeups: 7,
      noNeighbour: 0,
      handedOff: 0,
      handoffDropped: 0,
      reasons: { redirected: 9 },
      refused: {},
    };
    const res = await t.call("GET", "/v1/health", undefined, null);
    expect(res.json().dataplane.backend).toEqual({
      kind: "xdp",
      ifname: "eth0",
      xdpMode: "native",
      zeroCopy: false,
      queues: 2,
      hugepages: true,
      cores: "2-3",
    });
    t.daemon.backendEvent = {
      ...t.daemon.backendEvent,
      kind: "udp",
      xdpMode: null,
      hugepages: false,
      ifname: "",
    };
    const udp = await t.call("GET", "/v1/health", undefined, null);
    expect(udp.json().dataplane.backend).toEqual({
      kind: "udp",
      zeroCopy: false,
      queues: 2,
      hugepages: false,
      cores: "2-3",
    });
    // the counts are for /metrics, not the health answer
    expect(JSON.stringify(udp.json())).not.toContain("wakeups");
  });

  it("refuses query parameters", async () => {
    await testApp().refused(usage("query.full is not allowed"), "GET", "/v1/health?full=1");
  });
});

describe("GET /v1/blob/stats", () => {
  it("lists each peer's logs, 64-bit offsets as decimal strings", async () => {
    const t = testApp();
    const res = await t.call("GET", "/v1/blob/stats");
    expect(res.statusCode).toBe(200);
    const log = {
      capacity: 1 << 30,
      held: 4096,
      epoch: "1",
      lower: "0",
      contig: "18446744073709551615",
    };
    expect(res.json()).toEqual({ blobs: [{ peer: "alpha", tx: log, rx: log }] });
  });

  it("refuses query parameters", async () => {
    await testApp().refused(usage("query.peer is not allowed"), "GET", "/v1/blob/stats?peer=alpha");
  });
});

describe("POST /v1/blob/verify", () => {
  it("compares the pair's logs with the peer's, per direction", async () => {
    const res = await testApp().call("POST", "/v1/blob/verify", { peer: "alpha" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ peer: "alpha", agree: true });
    expect(res.json().directions.map((d: { direction: string }) => d.direction)).toEqual([
      "tx",
      "rx",
    ]);
  });

  it("refuses an unknown peer, a bad name, a missing or extra field", async () => {
    const t = testApp();
    await t.refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no peer named nobody" },
      "POST",
      "/v1/blob/verify",
      { peer: "nobody" },
    );
    for (const [body, message] of [
      [{ peer: "Not A Name" }, "body.peer"],
      [{}, "body.peer"],
      [{ peer: "alpha", extra: 1 }, "body.extra is not allowed"],
    ] as const) {
      await t.refused(usage(message), "POST", "/v1/blob/verify", body);
    }
  });
});

describe("GET /metrics", () => {
  it("needs the token by default and answers in the Prometheus text format", async () => {
    const t = testApp();
    expect((await t.call("GET", "/metrics", undefined, null)).statusCode).toBe(401);
    const res = await t.call("GET", "/metrics");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain("packetfs_dataplane_up 0");
  });

  it("is open with metricsPublic", async () => {
    const t = testApp({ metricsPublic: true });
    const res = await t.call("GET", "/metrics", undefined, null);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("# TYPE packetfs_wire_bytes_total counter");
  });

  it("refuses query parameters", async () => {
    await testApp().refused(usage("query.name is not allowed"), "GET", "/metrics?name=x");
  });
});

describe("GET /openapi.json", () => {
  async function documented(metricsPublic = false) {
    const t = testApp({ metricsPublic });
    const routes: RouteOptions[] = [];
    t.app.addHook("onRoute", (r) => {
      routes.push(r);
    });
    const res = await t.call("GET", "/openapi.json");
    expect(res.statusCode).toBe(200);
    return { doc: res.json(), routes };
  }

  it("documents every route the app serves, with its operation id", async () => {
    const { doc, routes } = await documented();
    const served = routes
      .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => `${m} ${r.url}`))
      .filter((r) => !r.startsWith("HEAD "))
      .map((r) => r.replace(/:(\w+)/g, "{$1}"))
      .sort();
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(listed).toEqual(served);
    expect(listed).toEqual([
      "DELETE /v1/peers/{name}",
      "GET /metrics",
      "GET /openapi.json",
      "GET /v1/blob/stats",
      "GET /v1/health",
      "GET /v1/peers",
      "GET /v1/sessions",
      "GET /v1/transfers",
      "GET /v1/transfers/{id}",
      "POST /v1/blob/verify",
      "POST /v1/peers",
      "POST /v1/sessions/{peer}/rekey",
      "POST /v1/transfers",
      "POST /v1/transfers/{id}/cancel",
      "PUT /v1/sessions/{peer}/policy",
    ]);
  });

  it("gives every operation its error answers, and 401 where a token is needed", async () => {
    const { doc } = await documented();
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const [method, op] of Object.entries(ops as Record<string, any>)) {
        const where = `${method} ${path}`;
        expect(op.operationId, where).toBeTypeOf("string");
        expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(["400", "500"]));
        const open = path === "/v1/health";
        expect(op.security, where).toEqual(open ? [] : undefined);
        if (!open) expect(op.responses["401"], where).toBeDefined();
        const err = op.responses["400"].content["application/json"].schema;
        expect(err.properties.error.required, where).toEqual(["code", "message"]);
      }
    }
  });

  it("documents the request schemas with their bounds", async () => {
    const { doc } = await documented();
    const send = doc.paths["/v1/transfers"].post.requestBody.content["application/json"].schema;
    expect(send.additionalProperties).toBe(false);
    expect(send.properties.sources).toMatchObject({ minItems: 1, maxItems: 64 });
    const policy = doc.paths["/v1/sessions/{peer}/policy"].put;
    expect(policy.parameters).toEqual([
      expect.objectContaining({ in: "path", name: "peer", required: true }),
    ]);
    expect(
      policy.requestBody.content["application/json"].schema.properties.windowBlocks,
    ).toMatchObject({
      minimum: 1,
      maximum: 4096,
    });
    const list = doc.paths["/v1/transfers"].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(["peer", "state"]);
  });

  it("marks /metrics open when it is public", async () => {
    const { doc } = await documented(true);
    expect(doc.paths["/metrics"].get.security).toEqual([]);
    expect(doc.paths["/metrics"].get.responses["401"]).toBeUndefined();
  });

  it("lists the same routes as docs/api.md", async () => {
    const { doc } = await documented();
    const docs = readFileSync(new URL("../../../docs/api.md", import.meta.url), "utf8");
    const inDocs = [...docs.matchAll(/^\| (GET|POST|PUT|DELETE) +\| `([^`]+)` +\|/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    const listed = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(inDocs.sort()).toEqual(listed.sort());
  });

  it("needs the token", async () => {
    const t = testApp();
    const res = await t.app.inject({
      url: "/openapi.json",
      headers: { authorization: "Bearer x" },
    });
    expect(res.statusCode).toBe(401);
  });
});
