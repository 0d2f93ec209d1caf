/** /v1/sessions: the data-plane sessions with peers, and their transport policy. */

import type { FastifyInstance } from "fastify";

import type { Daemon } from "../../daemon/types.js";
import {
  NoQuery,
  PolicyBody,
  SessionInfo,
  SessionList,
  SessionParams,
  errors,
} from "../schemas.js";

export function sessionRoutes(app: FastifyInstance, daemon: Daemon): void {
  app.get(
    "/v1/sessions",
    {
      schema: {
        operationId: "listSessions",
        summary: "List the sessions",
        tags: ["sessions"],
        querystring: NoQuery,
        response: { 200: SessionList, ...errors(401) },
      },
    },
    async () => ({ sessions: daemon.sessions() }),
  );

  app.put<{ Params: { peer: string }; Body: PolicyBody }>(
    "/v1/sessions/:peer/policy",
    {
      schema: {
        operationId: "setPolicy",
        summary: "Change the transport policy of the session with a peer",
        description:
          'Only the fields given change. windowBlocks can grow only up to the value the session started with; cc "fixed" needs fixedRate > 0.',
        tags: ["sessions"],
        params: SessionParams,
        querystring: NoQuery,
        body: PolicyBody,
        response: { 200: SessionInfo, ...errors(401, 404, 413, 503) },
      },
    },
    async (request) => daemon.setPolicy(request.params.peer, request.body),
  );

  app.post<{ Params: { peer: string } }>(
    "/v1/sessions/:peer/rekey",
    {
      schema: {
        operationId: "rekeySession",
        summary: "Rotate the data-plane keys of the session with a peer now",
        description:
          "Both ends switch to keys of the next generation, derived from the control channel; transfers go on without a pause and no packet is lost. Answers once both data planes use the new keys. Keys also rotate on a schedule (keyRotation.intervalSeconds).",
        tags: ["sessions"],
        params: SessionParams,
        querystring: NoQuery,
        response: { 200: SessionInfo, ...errors(401, 404, 409, 503) },
      },
    },
    async (request) => daemon.rekey(request.params.peer),
  );
}
