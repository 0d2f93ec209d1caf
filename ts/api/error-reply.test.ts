import { Writable } from "node:stream";

import pino from "pino";
import { describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { TOKEN, testApp } from "../testing/api-app.js";
import { INTERNAL_CODE, fieldPath } from "./error-reply.js";

describe("error answers", () => {
  it("answer an unknown route with 404 PFS_ERR_NOT_FOUND", async () => {
    const res = await testApp().call("GET", "/v2/peers?x=1");
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: {
        code: "PFS_ERR_NOT_FOUND",
        message: "no route GET /v2/peers",
        hint: "GET /openapi.json lists the routes",
      },
    });
  });

  it("answer a known path with another method with 404", async () => {
    const res = await testApp().call("PATCH", "/v1/peers");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe("no route PATCH /v1/peers");
  });

  it("keep the status and code of a PfsError the daemon throws", async () => {
    const t = testApp();
    t.daemon.failWith = new PfsError(
      "PFS_ERR_RING_FULL",
      "command ring full",
      "is the data plane stuck?",
    );
    const res = await t.call("GET", "/v1/sessions");
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: {
        code: "PFS_ERR_RING_FULL",
        message: "command ring full",
        hint: "is the data plane stuck?",
      },
    });
  });

  it("answer any other failure with 500 and a request id, logging the details but not sending them", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const t = testApp({ logger: pino(sink) });
    t.daemon.failWith = new TypeError("cannot read /etc/packetfs/secret.key");
    const res = await t.call("POST", "/v1/transfers", {
      sources: ["/data/a.bin"],
      peer: "alpha",
      dest: "",
    });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body.error.code).toBe(INTERNAL_CODE);
    expect(body.error.message).toMatch(/^internal error \(request req-\w+\)$/);
    expect(res.body).not.toContain("secret");
    expect(res.body).not.toContain("TypeError");
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "internal error");
    expect(logged.err.message).toBe("cannot read /etc/packetfs/secret.key");
    expect(logged.reqId).toBe(body.error.message.match(/request (req-\w+)/)[1]);
  });

  it("answer 413 PFS_ERR_TOO_LARGE for a body above 64 KiB, before the daemon sees it", async () => {
    const t = testApp();
    const sources = Array.from({ length: 64 }, (_, i) => `/data/${String(i).padStart(1100, "x")}`);
    await t.refused(
      {
        status: 413,
        code: "PFS_ERR_TOO_LARGE",
        message: "request body is larger than 65536 bytes",
      },
      "POST",
      "/v1/transfers",
      { sources, peer: "alpha", dest: "" },
    );
  });

  it("use the bodyLimit the app was built with", async () => {
    const t = testApp({ bodyLimit: 100 });
    await t.refused(
      { status: 413, code: "PFS_ERR_TOO_LARGE", message: "larger than 100 bytes" },
      "POST",
      "/v1/peers",
      { name: "bravo", host: "h".repeat(100), fingerprint: `sha256:${"0".repeat(64)}` },
    );
  });

  it("answer malformed JSON with 400 PFS_ERR_USAGE", async () => {
    await testApp().refused(
      { status: 400, code: "PFS_ERR_USAGE", message: "not valid JSON" },
      "POST",
      "/v1/transfers",
      '{"sources": [',
    );
  });

  it("answer a body that is not JSON with 400 PFS_ERR_USAGE", async () => {
    const t = testApp();
    const before = t.daemon.state();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/peers",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/xml" },
      payload: "<peer/>",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("PFS_ERR_USAGE");
    expect(t.daemon.state()).toBe(before);
  });

  it("answer a prototype-poisoning body with 400", async () => {
    await testApp().refused(
      { status: 400, code: "PFS_ERR_USAGE" },
      "POST",
      "/v1/peers",
      '{"name":"b","host":"h","fingerprint":"x","__proto__":{"admin":true}}',
    );
  });
});

describe("fieldPath", () => {
  it.each([
    ["body", "", undefined, "body"],
    ["body", "/sources/0", undefined, "body.sources[0]"],
    ["body", "", "peer", "body.peer"],
    ["querystring", "", "state", "query.state"],
    ["params", "", "id", "params.id"],
    ["body", "/a~1b/c-d", undefined, 'body["a/b"]["c-d"]'],
  ])("names %s %j + %s as %s", (context, path, child, want) => {
    expect(fieldPath(context, path, child)).toBe(want);
  });
});
