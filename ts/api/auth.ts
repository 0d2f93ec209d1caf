/**
 * Bearer-token authentication: every route needs `Authorization: Bearer <token>`
 * unless its config says `public: true` (GET /v1/health, and GET /metrics when
 * the app is built with metricsPublic). The check runs in onRequest, before the
 * body is read, so a stranger cannot make the daemon parse anything.
 */

import { createHash, timingSafeEqual } from "node:crypto";

import type { FastifyReply, FastifyRequest } from "fastify";

import { PfsError } from "../errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** served without a token */
    public?: boolean;
  }
}

// Both sides are hashed before the comparison so that timingSafeEqual always
// sees two 32-byte buffers: neither the token's length nor how much of a guess
// matches shows in the time the check takes.
const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** An onRequest hook that lets a request through only with the right bearer token. */
export function bearerAuth(token: string) {
  if (token.length === 0) {
    throw new PfsError("PFS_ERR_USAGE", "the API token is empty", "set a token in the config");
  }
  const expected = digest(token);
  return async function checkToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    const m = header === undefined ? null : /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
    if (m !== null && timingSafeEqual(digest(m[1] as string), expected)) return;
    reply.header("www-authenticate", 'Bearer realm="packetfs"');
    throw new PfsError(
      "PFS_ERR_UNAUTHORIZED",
      header === undefined
        ? "this route needs an Authorization: Bearer <token> header"
        : "the bearer token is wrong or the Authorization header is malformed",
      "the token is in <config-dir>/token, e.g. /etc/packetfs/token (docs/api.md)",
    );
  };
}
