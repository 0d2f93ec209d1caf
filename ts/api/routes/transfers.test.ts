import { describe, expect, it } from "vitest";

import { type TestApp, testApp } from "../../testing/api-app.js";

const usage = (message: string) => ({ status: 400, code: "PFS_ERR_USAGE", message });
const send = (over: Record<string, unknown> = {}) => ({
  sources: ["/data/a.bin"],
  peer: "alpha",
  dest: "incoming",
  ...over,
});

async function withTransfers(): Promise<TestApp> {
  const t = testApp({ peers: ["alpha", "bravo"] });
  await t.daemon.send(send());
  await t.daemon.send(send({ peer: "bravo", sources: ["/data/tree"] }));
  const first = t.daemon.transferMap.get("1002");
  if (first !== undefined) first.state = "running";
  return t;
}

describe("GET /v1/transfers", () => {
  it("lists all transfers", async () => {
    const t = await withTransfers();
    const res = await t.call("GET", "/v1/transfers");
    expect(res.statusCode).toBe(200);
    expect(res.json().transfers.map((x: { id: string }) => x.id)).toEqual(["1002", "1003"]);
  });

  it("filters by peer and by state", async () => {
    const t = await withTransfers();
    const byPeer = await t.call("GET", "/v1/transfers?peer=bravo");
    expect(byPeer.json().transfers.map((x: { id: string }) => x.id)).toEqual(["1003"]);
    const byState = await t.call("GET", "/v1/transfers?state=running");
    expect(byState.json().transfers.map((x: { id: string }) => x.id)).toEqual(["1002"]);
  });

  it.each([
    ["an unknown state", "/v1/transfers?state=paused", 'query.state must be one of "queued"'],
    [
      "an unknown parameter",
      "/v1/transfers?limit=5",
      "query.limit is not allowed (query takes peer, state)",
    ],
    ["a bad peer name", "/v1/transfers?peer=%2Fetc", "query.peer must be a peer name"],
  ])("refuses %s", async (_what, url, message) => {
    await (await withTransfers()).refused(usage(message), "GET", url);
  });
});

describe("POST /v1/transfers", () => {
  it("starts a transfer and answers 202 with it and its location", async () => {
    const t = testApp();
    const res = await t.call(
      "POST",
      "/v1/transfers",
      send({ sources: ["/data/a.bin", "/data/tree"] }),
    );
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/transfers/${body.id}`);
    expect(body).toMatchObject({
      id: "1001",
      peer: "alpha",
      direction: "send",
      sources: ["/data/a.bin", "/data/tree"],
      dest: "incoming",
      state: "queued",
      filesTotal: 2,
    });
    expect(t.daemon.transferMap.get("1001")?.sources).toEqual(["/data/a.bin", "/data/tree"]);
  });

  it.each([
    ["the receive root", ""],
    ["a nested directory", "a/b/c"],
    ["names that only start with dots", "..a/b..c/.x"],
    ["a dot directory", "./x"],
  ])('accepts dest %s ("%s")', async (_what, dest) => {
    const t = testApp();
    const res = await t.call("POST", "/v1/transfers", send({ dest }));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().dest).toBe(dest);
  });

  const DEST = "body.dest must be a path relative to the peer's receive root";
  const SOURCE = "must be an absolute path on this host";
  it.each([
    ["a missing sources", { sources: undefined }, "body.sources is required"],
    ["a missing peer", { peer: undefined }, "body.peer is required"],
    ["a missing dest", { dest: undefined }, "body.dest is required"],
    ["no sources", { sources: [] }, "body.sources must have at least 1 item"],
    [
      "65 sources",
      { sources: Array(65).fill("/data/a.bin") },
      "body.sources must have at most 64 items",
    ],
    ["sources as a string", { sources: "/data/a.bin" }, "body.sources must be an array"],
    [
      "a source that is a number",
      { sources: [7] },
      "body.sources[0] must be a string, not number 7",
    ],
    ["a relative source", { sources: ["/data/a.bin", "data/b"] }, `body.sources[1] ${SOURCE}`],
    ["an empty source", { sources: [""] }, "body.sources[0] must not be empty"],
    ["a source with NUL", { sources: ["/data/a\u0000b"] }, `body.sources[0] ${SOURCE}`],
    ["a source over 4095 chars", { sources: [`/${"a".repeat(4095)}`] }, "at most 4095 characters"],
    ["dest ..", { dest: ".." }, DEST],
    ["dest ../x", { dest: "../x" }, DEST],
    ["dest a/../../x", { dest: "a/../../x" }, DEST],
    ["dest a/..", { dest: "a/.." }, DEST],
    ["an absolute dest", { dest: "/etc" }, DEST],
    ["dest with NUL", { dest: "a\u0000" }, DEST],
    ["dest over 4095 chars", { dest: "a".repeat(4096) }, "body.dest must be at most 4095"],
    ["dest as a number", { dest: 1 }, "body.dest must be a string"],
    ["a bad peer name", { peer: "" }, "body.peer must not be empty"],
    [
      "an extra field",
      { recursive: true },
      "body.recursive is not allowed (body takes sources, peer, dest)",
    ],
  ])("refuses %s", async (_what, over, message) => {
    const body = JSON.parse(JSON.stringify(send(over))) as object;
    await testApp().refused(usage(message), "POST", "/v1/transfers", body);
  });

  it("answers 404 PFS_ERR_NOT_FOUND from the daemon for an unknown peer", async () => {
    await testApp().refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no peer zulu" },
      "POST",
      "/v1/transfers",
      send({ peer: "zulu" }),
    );
  });

  it("answers 404 PFS_ERR_FILE_NOT_FOUND from the daemon for a missing source", async () => {
    await testApp().refused(
      { status: 404, code: "PFS_ERR_FILE_NOT_FOUND", message: "/data/missing does not exist" },
      "POST",
      "/v1/transfers",
      send({ sources: ["/data/missing"] }),
    );
  });
});

describe("GET /v1/transfers/:id", () => {
  it("answers with the transfer", async () => {
    const t = await withTransfers();
    const res = await t.call("GET", "/v1/transfers/1003");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(t.daemon.transferMap.get("1003"));
  });

  it("answers 404 PFS_ERR_NOT_FOUND for an unknown transfer", async () => {
    await (
      await withTransfers()
    ).refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no transfer 99" },
      "GET",
      "/v1/transfers/99",
    );
  });

  it.each([
    ["letters", "abc"],
    ["a negative id", "-1"],
    ["a fractional id", "1.5"],
    ["a hex id", "0x10"],
    ["21 digits", "1".repeat(21)],
  ])("refuses an id of %s", async (_what, id) => {
    await (await withTransfers()).refused(usage("params.id"), "GET", `/v1/transfers/${id}`);
  });
});

describe("POST /v1/transfers/:id/cancel", () => {
  it("cancels a running transfer", async () => {
    const t = await withTransfers();
    const res = await t.call("POST", "/v1/transfers/1002/cancel");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: "1002", state: "cancelled" });
    expect(t.daemon.transferMap.get("1002")?.state).toBe("cancelled");
  });

  it("answers 404 PFS_ERR_NOT_FOUND for an unknown transfer", async () => {
    await (
      await withTransfers()
    ).refused({ status: 404, code: "PFS_ERR_NOT_FOUND" }, "POST", "/v1/transfers/4242/cancel");
  });

  it("refuses a bad id", async () => {
    await (
      await withTransfers()
    ).refused(
      usage("params.id must be a transfer id: decimal digits only"),
      "POST",
      "/v1/transfers/12e3/cancel",
    );
  });

  it("refuses a body", async () => {
    await (
      await withTransfers()
    ).refused(usage("takes no body"), "POST", "/v1/transfers/1002/cancel", {
      force: true,
    });
  });
});
