/** /v1/transfers: sending files to peers, and following or cancelling transfers. */

import type { FastifyInstance } from "fastify";

import type { Daemon } from "../../daemon/types.js";
import { PfsError } from "../../errors.js";
import { NoQuery, SendBody, TransferInfo, TransferList, TransferParams } from "../schemas.js";
import { type TransfersQuery, TransfersQuery as TransfersQuerySchema, errors } from "../schemas.js";

function notFound(id: string): PfsError {
  return new PfsError("PFS_ERR_NOT_FOUND", `no transfer ${id}`, "GET /v1/transfers lists them");
}

export function transferRoutes(app: FastifyInstance, daemon: Daemon): void {
  app.get<{ Querystring: TransfersQuery }>(
    "/v1/transfers",
    {
      schema: {
        operationId: "listTransfers",
        summary: "List the transfers, optionally of one peer or in one state",
        tags: ["transfers"],
        querystring: TransfersQuerySchema,
        response: { 200: TransferList, ...errors(401) },
      },
    },
    async (request) => {
      const { peer, state } = request.query;
      const transfers = daemon
        .transfers()
        .filter(
          (t) =>
            (peer === undefined || t.peer === peer) && (state === undefined || t.state === state),
        );
      return { transfers };
    },
  );

  app.post<{ Body: SendBody }>(
    "/v1/transfers",
    {
      schema: {
        operationId: "send",
        summary: "Send files or directories to a peer",
        description:
          "sources are absolute paths on this host (1 to 64); dest is relative to the peer's receive root. Answers 202 with the transfer, which runs on.",
        tags: ["transfers"],
        querystring: NoQuery,
        body: SendBody,
        response: { 202: TransferInfo, ...errors(401, 404, 413, 503) },
      },
    },
    async (request, reply) => {
      const t = await daemon.send(request.body);
      return reply.code(202).header("location", `/v1/transfers/${t.id}`).send(t);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/transfers/:id",
    {
      schema: {
        operationId: "getTransfer",
        summary: "One transfer",
        tags: ["transfers"],
        params: TransferParams,
        querystring: NoQuery,
        response: { 200: TransferInfo, ...errors(401, 404) },
      },
    },
    async (request) => {
      const t = daemon.transfer(request.params.id);
      if (t === undefined) throw notFound(request.params.id);
      return t;
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/transfers/:id/cancel",
    {
      schema: {
        operationId: "cancelTransfer",
        summary: "Cancel a transfer (a finished one is returned unchanged)",
        tags: ["transfers"],
        params: TransferParams,
        querystring: NoQuery,
        response: { 200: TransferInfo, ...errors(401, 404, 503) },
      },
    },
    async (request) => daemon.cancel(request.params.id),
  );
}
