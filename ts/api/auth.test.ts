import { describe, expect, it } from "vitest";

import { TOKEN, testApp } from "../testing/api-app.js";
import { FakeDaemon } from "../testing/fake-daemon.js";
import { buildApp } from "./app.js";

const UNAUTHORIZED = { status: 401, code: "PFS_ERR_UNAUTHORIZED" };

describe("bearer token authentication", () => {
  it("lets a request with the right token through", async () => {
    const res = await testApp().call("GET", "/v1/peers");
    expect(res.statusCode).toBe(200);
  });

  it("accepts the scheme in any case", async () => {
    const t = testApp();
    const res = await t.app.inject({
      url: "/v1/peers",
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it("answers 401 with WWW-Authenticate when the header is missing", async () => {
    const t = testApp();
    const res = await t.call("GET", "/v1/peers", undefined, null);
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="packetfs"');
    expect(res.json().error).toMatchObject({
      code: "PFS_ERR_UNAUTHORIZED",
      message: "this route needs an Authorization: Bearer <token> header",
    });
  });

  it.each([
    ["a wrong token", "Bearer wrong"],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["the token with more after it", `Bearer ${TOKEN}x`],
    ["another scheme", `Basic ${TOKEN}`],
    ["no token after the scheme", "Bearer "],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
  ])("answers 401 for %s", async (_what, authorization) => {
    const t = testApp();
    const res = await t.app.inject({ url: "/v1/peers", headers: { authorization } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe(UNAUTHORIZED.code);
    expect(res.json().error.message).toMatch(/wrong|malformed/);
  });

  it("checks the token before reading the body, so nothing changes", async () => {
    const t = testApp();
    const before = t.daemon.state();
    const res = await t.app.inject({
      method: "DELETE",
      url: "/v1/peers/alpha",
      headers: { authorization: "Bearer wrong" },
    });
    expect(res.statusCode).toBe(401);
    expect(t.daemon.state()).toBe(before);
    const big = await t.app.inject({
      method: "POST",
      url: "/v1/transfers",
      headers: { "content-type": "application/json" },
      payload: "x".repeat(1 << 20),
    });
    expect(big.statusCode).toBe(401);
  });

  it("guards every route but /v1/health, unknown ones too", async () => {
    const t = testApp();
    for (const [method, url] of [
      ["GET", "/v1/peers"],
      ["POST", "/v1/peers"],
      ["DELETE", "/v1/peers/alpha"],
      ["GET", "/v1/sessions"],
      ["PUT", "/v1/sessions/alpha/policy"],
      ["POST", "/v1/sessions/alpha/rekey"],
      ["GET", "/v1/transfers"],
      ["POST", "/v1/transfers"],
      ["GET", "/v1/transfers/1"],
      ["POST", "/v1/transfers/1/cancel"],
      ["GET", "/v1/blob/stats"],
      ["POST", "/v1/blob/verify"],
      ["GET", "/metrics"],
      ["GET", "/openapi.json"],
      ["GET", "/v1/secret-route"],
    ] as const) {
      const res = await t.call(method, url, undefined, null);
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
    expect((await t.call("GET", "/v1/health", undefined, null)).statusCode).toBe(200);
  });

  it("refuses to build an app with an empty token", () => {
    expect(() => buildApp({ daemon: new FakeDaemon(), token: "" })).toThrow(/token is empty/);
  });
});
