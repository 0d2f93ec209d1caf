import { describe, expect, it } from "vitest";

import { testApp } from "../../testing/api-app.js";
import { DEFAULT_POLICY } from "../../testing/fake-daemon.js";

const usage = (message: string) => ({ status: 400, code: "PFS_ERR_USAGE", message });

describe("GET /v1/sessions", () => {
  it("lists the sessions with their policy", async () => {
    const t = testApp({ peers: ["alpha", "bravo"] });
    const res = await t.call("GET", "/v1/sessions");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      sessions: [
        { id: "1000", peer: "alpha", state: "up", policy: DEFAULT_POLICY },
        { id: "1001", peer: "bravo", state: "up", policy: DEFAULT_POLICY },
      ],
    });
  });

  it("shows why a session failed", async () => {
    const t = testApp();
    const s = t.daemon.sessionMap.get("alpha");
    if (s === undefined) throw new Error("no session");
    s.state = "failed";
    s.error = { code: "PFS_ERR_PEER_SILENT", message: "peer stopped answering" };
    const res = await t.call("GET", "/v1/sessions");
    expect(res.json().sessions[0]).toMatchObject({ state: "failed", error: s.error });
  });

  it("refuses query parameters", async () => {
    await testApp().refused(usage("query.state is not allowed"), "GET", "/v1/sessions?state=up");
  });
});

describe("POST /v1/sessions/:peer/rekey", () => {
  it("rotates the keys and answers with the session and its key generation", async () => {
    const t = testApp();
    const res = await t.call("POST", "/v1/sessions/alpha/rekey");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: "1000",
      peer: "alpha",
      state: "up",
      policy: DEFAULT_POLICY,
      keyGeneration: 1,
      keysRotatedAt: "1970-01-01T00:00:02.000Z",
    });
    const again = await t.call("POST", "/v1/sessions/alpha/rekey");
    expect(again.json().keyGeneration).toBe(2);
    expect((await t.call("GET", "/v1/sessions")).json().sessions[0].keyGeneration).toBe(2);
  });

  it("answers 404 PFS_ERR_NOT_FOUND when there is no session with the peer", async () => {
    await testApp().refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no session with peer zulu" },
      "POST",
      "/v1/sessions/zulu/rekey",
    );
  });

  it("answers 409 PFS_ERR_CONFLICT while a rotation is under way", async () => {
    const t = testApp();
    t.daemon.rotating.add("alpha");
    await t.refused(
      { status: 409, code: "PFS_ERR_CONFLICT", message: "under way" },
      "POST",
      "/v1/sessions/alpha/rekey",
    );
  });

  it.each([
    ["a bad peer name", "/v1/sessions/-x/rekey", undefined, "params.peer must be a peer name"],
    [
      "an upper-case peer name",
      "/v1/sessions/Alpha/rekey",
      undefined,
      "params.peer must be a peer name",
    ],
    ["a body", "/v1/sessions/alpha/rekey", { generation: 3 }, "takes no body"],
    ["query parameters", "/v1/sessions/alpha/rekey?now=1", undefined, "query.now is not allowed"],
  ])("refuses %s", async (_what, url, body, message) => {
    await testApp().refused(usage(message), "POST", url, body);
  });

  it("needs the token", async () => {
    const t = testApp();
    const res = await t.call("POST", "/v1/sessions/alpha/rekey", undefined, null);
    expect(res.statusCode).toBe(401);
    expect(t.daemon.sessionMap.get("alpha")?.keyGeneration).toBeUndefined();
  });
});

describe("PUT /v1/sessions/:peer/policy", () => {
  it("changes only the fields given and answers with the session", async () => {
    const t = testApp();
    const res = await t.call("PUT", "/v1/sessions/alpha/policy", {
      windowBlocks: 256,
      cc: "cubic",
    });
    expect(res.statusCode).toBe(200);
    const want = { ...DEFAULT_POLICY, windowBlocks: 256, cc: "cubic" };
    expect(res.json()).toEqual({ id: "1000", peer: "alpha", state: "up", policy: want });
    expect(t.daemon.sessionMap.get("alpha")?.policy).toEqual(want);
  });

  it("accepts a fixed rate with cc fixed", async () => {
    const t = testApp();
    const res = await t.call("PUT", "/v1/sessions/alpha/policy", { cc: "fixed", fixedRate: 125e6 });
    expect(res.statusCode).toBe(200);
    expect(res.json().policy).toMatchObject({ cc: "fixed", fixedRate: 125e6 });
  });

  it.each([
    ["an empty body", {}, "body must set at least one of windowBlocks, cc, rateCap"],
    ["an unknown field", { window: 8 }, "body.window is not allowed"],
    ["windowBlocks 0", { windowBlocks: 0 }, "body.windowBlocks must be >= 1, not 0"],
    ["windowBlocks 4097", { windowBlocks: 4097 }, "body.windowBlocks must be <= 4096, not 4097"],
    ["a fractional windowBlocks", { windowBlocks: 1.5 }, "body.windowBlocks must be an integer"],
    ["windowBlocks as a string", { windowBlocks: "8" }, "body.windowBlocks must be an integer"],
    [
      "an unknown cc",
      { cc: "reno" },
      'body.cc must be one of "bbr", "cubic", "fixed", not the string "reno"',
    ],
    ["a negative rateCap", { rateCap: -1 }, "body.rateCap must be >= 0"],
    ["a rateCap above 1 TB/s", { rateCap: 2e12 }, "body.rateCap must be <= 1000000000000"],
    ["maxPtoBackoff 17", { maxPtoBackoff: 17 }, "body.maxPtoBackoff must be <= 16"],
    ["maxRetries 65536", { maxRetries: 65536 }, "body.maxRetries must be <= 65535"],
    ["a boolean", { maxRetries: true }, "body.maxRetries must be an integer, not boolean true"],
    ["an array body", [{ cc: "bbr" }], "body must be an object, not an array"],
  ])("refuses %s", async (_what, body, message) => {
    await testApp().refused(usage(message), "PUT", "/v1/sessions/alpha/policy", body);
  });

  it("refuses a bad peer name in the path", async () => {
    await testApp().refused(
      usage("params.peer must be a peer name"),
      "PUT",
      "/v1/sessions/-x/policy",
      { cc: "bbr" },
    );
  });

  it("answers 404 PFS_ERR_NOT_FOUND from the daemon when there is no session with the peer", async () => {
    await testApp().refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no session with peer zulu" },
      "PUT",
      "/v1/sessions/zulu/policy",
      { cc: "bbr" },
    );
  });

  it("passes the daemon's PFS_ERR_USAGE on (cc fixed without a rate)", async () => {
    await testApp().refused(
      usage('cc "fixed" needs fixedRate > 0'),
      "PUT",
      "/v1/sessions/alpha/policy",
      {
        cc: "fixed",
      },
    );
  });
});
