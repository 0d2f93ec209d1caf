import { describe, expect, it } from "vitest";

import { testApp } from "../../testing/api-app.js";
import { FINGERPRINT } from "../../testing/fake-daemon.js";
import { DEFAULT_PEER_PORT } from "../schemas.js";

const FP2 = `sha256:${"0f".repeat(32)}`;
const newPeer = (over: Record<string, unknown> = {}) => ({
  name: "bravo",
  host: "198.51.100.7",
  port: 7500,
  fingerprint: FP2,
  ...over,
});
const usage = (message?: string | RegExp) => ({
  status: 400,
  code: "PFS_ERR_USAGE",
  ...(message === undefined ? {} : { message }),
});

describe("GET /v1/peers", () => {
  it("lists the daemon's peers", async () => {
    const t = testApp({ peers: ["alpha", "charlie"] });
    const res = await t.call("GET", "/v1/peers");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      peers: [
        { name: "alpha", host: "192.0.2.1", port: 7443, fingerprint: FINGERPRINT },
        { name: "charlie", host: "192.0.2.1", port: 7443, fingerprint: FINGERPRINT },
      ],
    });
  });

  it("refuses query parameters it does not know", async () => {
    await testApp().refused(usage("query.verbose is not allowed"), "GET", "/v1/peers?verbose=1");
  });
});

describe("POST /v1/peers", () => {
  it("adds a peer and answers 201 with it and its location", async () => {
    const t = testApp();
    const res = await t.call("POST", "/v1/peers", newPeer());
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe("/v1/peers/bravo");
    expect(res.json()).toEqual(newPeer());
    expect(t.daemon.peerMap.get("bravo")).toEqual(newPeer());
  });

  it(`gives a peer without a port the default port ${DEFAULT_PEER_PORT}`, async () => {
    const t = testApp();
    const { port: _, ...withoutPort } = newPeer();
    const res = await t.call("POST", "/v1/peers", withoutPort);
    expect(res.statusCode).toBe(201);
    expect(t.daemon.peerMap.get("bravo")?.port).toBe(DEFAULT_PEER_PORT);
  });

  it.each([
    ["an IPv6 host", { host: "2001:db8::2" }],
    ["a bracketed IPv6 host", { host: "[2001:db8::2]" }],
    ["a host name", { host: "beta.example.net" }],
    ["a name with digits and dashes", { name: "rack1-node7" }],
    ["a 63-character name", { name: "n".repeat(63) }],
  ])("accepts %s", async (_what, over) => {
    const t = testApp();
    const res = await t.call("POST", "/v1/peers", newPeer(over));
    expect(res.statusCode, res.body).toBe(201);
  });

  it.each([
    ["a missing name", { name: undefined }, "body.name is required"],
    ["a missing host", { host: undefined }, "body.host is required"],
    ["a missing fingerprint", { fingerprint: undefined }, "body.fingerprint is required"],
    ["a name that is a number", { name: 7 }, "body.name must be a string, not number 7"],
    [
      "a port that is a string",
      { port: "7500" },
      'body.port must be an integer, not the string "7500"',
    ],
    ["a fractional port", { port: 75.5 }, "body.port must be an integer"],
    ["port 0", { port: 0 }, "body.port must be >= 1, not 0"],
    ["port 65536", { port: 65536 }, "body.port must be <= 65535, not 65536"],
    [
      "an extra field",
      { key: "x" },
      "body.key is not allowed (body takes name, host, port, fingerprint)",
    ],
    ["an empty name", { name: "" }, "body.name must not be empty"],
    [
      "a 64-character name",
      { name: "n".repeat(64) },
      "body.name must be at most 63 characters long",
    ],
    ["a name with a slash", { name: "a/b" }, "body.name must be a peer name"],
    ["a name starting with a dash", { name: "-x" }, "body.name must be a peer name"],
    ["an upper-case name", { name: "Bravo" }, "body.name must be a peer name"],
    ["a name with a dot", { name: "b.c" }, "body.name must be a peer name"],
    ["a host with a space", { host: "a b" }, "body.host must be a host name"],
    ["a 254-character host", { host: "h".repeat(254) }, "body.host must be at most 253 characters"],
    ["a fingerprint without sha256:", { fingerprint: "ab".repeat(32) }, "body.fingerprint"],
    ["an upper-case fingerprint", { fingerprint: FP2.toUpperCase() }, "body.fingerprint"],
    ["a short fingerprint", { fingerprint: "sha256:abcd" }, "body.fingerprint must be at least 71"],
    ["null fields", { host: null }, "body.host must be a string, not null"],
  ])("refuses %s", async (_what, over, message) => {
    const body = JSON.parse(JSON.stringify(newPeer(over))) as object;
    await testApp().refused(usage(message), "POST", "/v1/peers", body);
  });

  it.each([
    ["an array body", [newPeer()], "body must be an object, not an array"],
    ["a string body", '"bravo"', "body must be an object"],
    ["no body", undefined, "body must be an object"],
  ])("refuses %s", async (_what, body, message) => {
    await testApp().refused(usage(message), "POST", "/v1/peers", body);
  });

  it("answers 409 PFS_ERR_CONFLICT from the daemon for a peer that exists", async () => {
    await testApp().refused(
      { status: 409, code: "PFS_ERR_CONFLICT", message: "peer alpha exists already" },
      "POST",
      "/v1/peers",
      newPeer({ name: "alpha" }),
    );
  });
});

describe("DELETE /v1/peers/:name", () => {
  it("removes the peer and answers 204 with no body", async () => {
    const t = testApp({ peers: ["alpha", "charlie"] });
    const res = await t.call("DELETE", "/v1/peers/alpha");
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect([...t.daemon.peerMap.keys()]).toEqual(["charlie"]);
  });

  it("answers 404 PFS_ERR_NOT_FOUND from the daemon for an unknown peer", async () => {
    await testApp().refused(
      { status: 404, code: "PFS_ERR_NOT_FOUND", message: "no peer nobody" },
      "DELETE",
      "/v1/peers/nobody",
    );
  });

  it.each([
    ["a name with a bad character", "/v1/peers/a%20b", "params.name must be a peer name"],
    ["a name with an encoded slash", "/v1/peers/..%2Fetc", "params.name must be a peer name"],
    ["a 64-character name", `/v1/peers/${"n".repeat(64)}`, "params.name must be at most 63"],
    ["a query parameter", "/v1/peers/alpha?force=1", "query.force is not allowed"],
  ])("refuses %s", async (_what, url, message) => {
    await testApp().refused(usage(message), "DELETE", url);
  });

  it("refuses a body", async () => {
    await testApp().refused(usage("takes no body"), "DELETE", "/v1/peers/alpha", { force: true });
  });
});
