/** Health, blob statistics, Prometheus metrics and the OpenAPI document. */

import type { FastifyInstance } from "fastify";

import type { Daemon } from "../../daemon/types.js";
import type { Metrics } from "../../metrics.js";
import { BlobStatsList, BlobVerify, BlobVerifyBody, Health, NoQuery, errors } from "../schemas.js";

export interface SystemOptions {
  metrics: Metrics;
  /** serve /metrics without a token */
  metricsPublic: boolean;
}

export function systemRoutes(app: FastifyInstance, daemon: Daemon, opts: SystemOptions): void {
  app.get(
    "/v1/health",
    {
      config: { public: true },
      schema: {
        operationId: "health",
        summary: "Is the daemon up, and its data plane? (no token needed)",
        tags: ["system"],
        security: [],
        querystring: NoQuery,
        response: { 200: Health, ...errors() },
      },
    },
    async () => daemon.health(),
  );

  app.get(
    "/v1/blob/stats",
    {
      schema: {
        operationId: "blobStats",
        summary: "Fill and offsets of each peer's tx and rx logs",
        tags: ["system"],
        querystring: NoQuery,
        response: { 200: BlobStatsList, ...errors(401, 503) },
      },
    },
    async () => ({ blobs: daemon.blobStats() }),
  );

  app.post<{ Body: { peer: string } }>(
    "/v1/blob/verify",
    {
      schema: {
        operationId: "blobVerify",
        summary: "Compare the logs shared with a peer, segment by segment, with the peer's",
        tags: ["system"],
        querystring: NoQuery,
        body: BlobVerifyBody,
        response: { 200: BlobVerify, ...errors(400, 401, 404, 503) },
      },
    },
    async (req) => daemon.verifyBlob(req.body.peer),
  );

  app.get(
    "/metrics",
    {
      config: { public: opts.metricsPublic },
      schema: {
        operationId: "metrics",
        summary: "Prometheus metrics (text exposition format)",
        tags: ["system"],
        ...(opts.metricsPublic ? { security: [] } : {}),
        querystring: NoQuery,
        response: {
          200: {
            description: "Metrics in the Prometheus text format.",
            content: { "text/plain": { schema: { type: "string" } } },
          },
          ...errors(...(opts.metricsPublic ? [] : [401])),
        },
      },
    },
    async (_request, reply) =>
      reply.type(opts.metrics.contentType).send(await opts.metrics.scrape()),
  );

  app.get(
    "/openapi.json",
    {
      schema: {
        operationId: "openapi",
        summary: "This API's OpenAPI 3 document",
        tags: ["system"],
        querystring: NoQuery,
        response: {
          200: { description: "The OpenAPI document.", type: "object", additionalProperties: true },
          ...errors(401),
        },
      },
    },
    async () => app.swagger(),
  );
}
