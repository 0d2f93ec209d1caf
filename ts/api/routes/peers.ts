/** /v1/peers: the peers this daemon trusts, pinned by key fingerprint. */

import type { FastifyInstance } from "fastify";

import type { Daemon } from "../../daemon/types.js";
import { type AddPeerBody, AddPeerBody as AddPeerSchema, DEFAULT_PEER_PORT } from "../schemas.js";
import { NoQuery, PeerInfo, PeerList, PeerParams, errors } from "../schemas.js";

export function peerRoutes(app: FastifyInstance, daemon: Daemon): void {
  app.get(
    "/v1/peers",
    {
      schema: {
        operationId: "listPeers",
        summary: "List the peers",
        tags: ["peers"],
        querystring: NoQuery,
        response: { 200: PeerList, ...errors(401) },
      },
    },
    async () => ({ peers: daemon.peers() }),
  );

  app.post<{ Body: AddPeerBody }>(
    "/v1/peers",
    {
      schema: {
        operationId: "addPeer",
        summary: "Add a peer, pinned to its key fingerprint",
        description: `port defaults to ${DEFAULT_PEER_PORT}.`,
        tags: ["peers"],
        querystring: NoQuery,
        body: AddPeerSchema,
        response: { 201: PeerInfo, ...errors(401, 409, 413) },
      },
    },
    async (request, reply) => {
      const { name, host, port = DEFAULT_PEER_PORT, fingerprint } = request.body;
      const peer = daemon.addPeer({ name, host, port, fingerprint });
      return reply
        .code(201)
        .header("location", `/v1/peers/${encodeURIComponent(peer.name)}`)
        .send(peer);
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/peers/:name",
    {
      schema: {
        operationId: "removePeer",
        summary: "Remove a peer (and its session)",
        tags: ["peers"],
        params: PeerParams,
        querystring: NoQuery,
        response: { 204: { type: "null", description: "Removed." }, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      daemon.removePeer(request.params.name);
      return reply.code(204).send();
    },
  );
}
