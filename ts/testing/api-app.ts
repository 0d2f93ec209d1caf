/**
 * The REST app over a FakeDaemon, with injected requests, for the tests in
 * ts/api/: call() sends the right token unless told otherwise, refused()
 * checks an error answer and that the daemon's state did not change.
 */

import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";

import { type AppOptions, buildApp } from "../api/app.js";
import { FakeDaemon } from "./fake-daemon.js";

export const TOKEN = "test-token-0123456789abcdef";

export interface TestApp {
  app: FastifyInstance;
  daemon: FakeDaemon;
  call(
    method: string,
    url: string,
    payload?: unknown,
    token?: string | null,
  ): Promise<LightMyRequestResponse>;
  /** The answer is an error with this status and code, and the daemon's state is as before. */
  refused(
    want: { status: number; code: string; message?: string | RegExp },
    method: string,
    url: string,
    payload?: unknown,
  ): Promise<LightMyRequestResponse>;
}

type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

export function testApp(opts: Partial<AppOptions> & { peers?: string[] } = {}): TestApp {
  const daemon = new FakeDaemon(opts.peers === undefined ? {} : { peers: opts.peers });
  const app = buildApp({ daemon, token: TOKEN, ...opts });
  const call: TestApp["call"] = (method, url, payload, token = TOKEN) =>
    app.inject({
      method: method as Method,
      url,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined
        ? {}
        : typeof payload === "string"
          ? {
              payload,
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            }
          : { payload: payload as object }),
    });
  return {
    app,
    daemon,
    call,
    async refused(want, method, url, payload) {
      const before = daemon.state();
      const res = await call(method, url, payload);
      expect(res.statusCode, res.body).toBe(want.status);
      const body = res.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe(want.code);
      if (typeof want.message === "string") expect(body.error.message).toContain(want.message);
      else if (want.message !== undefined) expect(body.error.message).toMatch(want.message);
      expect(daemon.state()).toBe(before);
      return res;
    },
  };
}
