/**
 * The REST API of the daemon, built by a function over the Daemon interface so
 * that tests drive it with injected requests and a stand-in daemon; only
 * server.ts listens. Routes live in routes/, schemas in schemas.ts, error
 * answers in error-reply.ts; docs/api.md describes the API for its users.
 *
 *   const app = buildApp({ daemon, token });
 *   const res = await app.inject({ url: "/v1/peers", headers: { authorization: `Bearer ${token}` } });
 */

import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";

import type { Daemon } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import { type Metrics, createMetrics } from "../metrics.js";
import { bearerAuth } from "./auth.js";
import { formatValidation, replyError, replyNotFound } from "./error-reply.js";
import { peerRoutes } from "./routes/peers.js";
import { sessionRoutes } from "./routes/sessions.js";
import { systemRoutes } from "./routes/system.js";
import { transferRoutes } from "./routes/transfers.js";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface AppOptions {
  daemon: Daemon;
  /** the bearer token every route but /v1/health needs */
  token: string;
  /** a pino logger (default: no logging) */
  logger?: FastifyBaseLogger;
  /** largest request body in bytes (default 64 KiB); larger ones get 413 */
  bodyLimit?: number;
  /** serve /metrics without a token (default false) */
  metricsPublic?: boolean;
  /** default: createMetrics(daemon) */
  metrics?: Metrics;
}

// JSON.stringify for answers without a response schema (all routes have one;
// this keeps a stray 64-bit id from turning into a 500).
const bigintSafe = (_key: string, value: unknown) =>
  typeof value === "bigint" ? value.toString() : value;

export function buildApp(opts: AppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) {
    throw new PfsError("PFS_ERR_USAGE", `bodyLimit ${bodyLimit} is not a positive integer`);
  }
  const app = Fastify({
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    bodyLimit,
    // Long path parameters reach the schema, which answers 400 with the limit,
    // instead of fastify's silent 404.
    routerOptions: { maxParamLength: 1000 },
    ajv: {
      customOptions: {
        // Reject what the schemas do not allow instead of fixing it up.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
        // parentSchema and data in errors, for messages that name the rule
        verbose: true,
      },
    },
    schemaErrorFormatter: formatValidation,
  });

  app.setErrorHandler(replyError);
  app.setNotFoundHandler(replyNotFound);
  app.setReplySerializer((payload) => JSON.stringify(payload, bigintSafe));
  app.addHook("onRequest", bearerAuth(opts.token));
  app.addHook("preValidation", async (request) => {
    if (request.is404 || request.routeOptions.schema?.body !== undefined) return;
    if (request.body !== undefined && request.body !== null) {
      throw new PfsError(
        "PFS_ERR_USAGE",
        `${request.method} ${request.routeOptions.url} takes no body`,
      );
    }
  });

  void app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "PacketFS daemon API",
        version: "1.0.0",
        description:
          "Peers, sessions, transfers and metrics of a pfs-dp daemon. Errors are " +
          '{"error": {"code", "message", "hint"}} with a stable PFS_ERR_… code (docs/api.md).',
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
      tags: ["peers", "sessions", "transfers", "system"].map((name) => ({ name })),
    },
  });
  const metrics = opts.metrics ?? createMetrics(opts.daemon);
  // Registered after swagger so that its onRoute hook sees every route.
  void app.register(async (api) => {
    peerRoutes(api, opts.daemon);
    sessionRoutes(api, opts.daemon);
    transferRoutes(api, opts.daemon);
    systemRoutes(api, opts.daemon, { metrics, metricsPublic: opts.metricsPublic === true });
  });
  return app;
}
