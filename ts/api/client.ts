/**
 * A typed client of the REST API, one method per route, for the CLI and tests.
 * TCP addresses go through fetch, unix sockets through node:http. Error answers
 * come back as PfsError with the server's code, message and hint; a daemon that
 * is not there is PFS_ERR_DAEMON_NOT_RUNNING.
 *
 *   const api = new ApiClient({ address: "unix:/run/packetfs/api.sock", token });
 *   const t = await api.send({ sources: ["/srv/img.tar"], peer: "b", dest: "incoming" });
 */

import { request as httpRequest } from "node:http";

import type {
  BlobStats,
  BlobVerify,
  Health,
  PeerInfo,
  Policy,
  SendRequest,
  SessionInfo,
  TransferInfo,
  TransferState,
} from "../daemon/types.js";
import { PfsError, type PfsErrorCode, isPfsErrorCode } from "../errors.js";
import { type ListenAddress, formatListen, parseListen } from "./listen.js";

export interface ClientOptions {
  /** the daemon's listen address: "127.0.0.1:7445" or "unix:/path" */
  address: string;
  token?: string;
  /** per request (default 10 s) */
  timeoutMs?: number;
}

export interface NewPeer {
  name: string;
  host: string;
  port?: number;
  fingerprint: string;
}

export interface Answer {
  status: number;
  body: string;
}

/** Codes for answers whose code this client does not know (a newer server). */
const BY_STATUS: Record<number, PfsErrorCode> = {
  400: "PFS_ERR_USAGE",
  401: "PFS_ERR_UNAUTHORIZED",
  404: "PFS_ERR_NOT_FOUND",
  409: "PFS_ERR_CONFLICT",
  413: "PFS_ERR_TOO_LARGE",
};

/** The PfsError an error answer stands for. */
export function errorFromAnswer(status: number, body: string, where: string): PfsError {
  let parsed: { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const e = parsed?.error;
  const fallback = BY_STATUS[status] ?? "PFS_ERR_NATIVE_FAILED";
  if (e === undefined || typeof e.code !== "string" || typeof e.message !== "string") {
    return new PfsError(
      fallback,
      `HTTP ${status} from the daemon at ${where}: ${body.slice(0, 200)}`,
    );
  }
  const hint = typeof e.hint === "string" ? e.hint : undefined;
  return isPfsErrorCode(e.code)
    ? new PfsError(e.code, e.message, hint)
    : new PfsError(fallback, `${e.message} (${e.code})`, hint);
}

function unreachable(err: unknown, where: string, timeoutMs: number): unknown {
  const code =
    (err as { cause?: { code?: string }; code?: string }).cause?.code ??
    (err as { code?: string }).code;
  const name = (err as { name?: string }).name;
  if (code === "ECONNREFUSED" || code === "ENOENT") {
    return new PfsError(
      "PFS_ERR_DAEMON_NOT_RUNNING",
      `no daemon answers at ${where}`,
      "start it with `pfs-dp start`",
    );
  }
  if (name === "TimeoutError" || code === "ETIMEDOUT") {
    return new PfsError(
      "PFS_ERR_DAEMON_NOT_RUNNING",
      `the daemon at ${where} did not answer within ${timeoutMs} ms`,
      "check it with `pfs-dp status`, or restart it: pfs-dp stop && pfs-dp start",
    );
  }
  if (code === "EACCES") {
    return new PfsError(
      "PFS_ERR_USAGE",
      `no permission to connect to ${where}`,
      "the API socket is mode 0600: run as the user the daemon runs as",
    );
  }
  return err;
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
}

async function overFetch(a: Extract<ListenAddress, { kind: "tcp" }>, c: Call): Promise<Answer> {
  const res = await fetch(`http://${formatListen(a)}${c.path}`, {
    method: c.method,
    headers: c.headers,
    ...(c.body === undefined ? {} : { body: c.body }),
    signal: AbortSignal.timeout(c.timeoutMs),
  });
  return { status: res.status, body: await res.text() };
}

function overSocket(socketPath: string, c: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { method, path, headers, timeoutMs: timeout } = c;
    const req = httpRequest({ socketPath, path, method, headers, timeout }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

export class ApiClient {
  private readonly addr: ListenAddress;
  private readonly where: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.addr = parseListen(opts.address);
    this.where = formatListen(this.addr);
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** One request; the answer when its status is 2xx, else a PfsError. */
  async raw(method: string, path: string, json?: unknown): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const body = json === undefined ? undefined : JSON.stringify(json);
    if (body !== undefined) headers["content-type"] = "application/json";
    const call: Call = { method, path, headers, body, timeoutMs: this.timeoutMs };
    let answer: Answer;
    try {
      answer =
        this.addr.kind === "tcp"
          ? await overFetch(this.addr, call)
          : await overSocket(this.addr.path, call);
    } catch (err) {
      throw unreachable(err, this.where, this.timeoutMs);
    }
    if (answer.status >= 300) throw errorFromAnswer(answer.status, answer.body, this.where);
    return answer;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.raw(method, path, body);
    try {
      return JSON.parse(answer.body) as T;
    } catch {
      throw new PfsError(
        "PFS_ERR_NATIVE_FAILED",
        `the daemon at ${this.where} answered ${method} ${path} with something that is not JSON`,
      );
    }
  }

  health(): Promise<Health> {
    return this.json("GET", "/v1/health");
  }
  async peers(): Promise<PeerInfo[]> {
    return (await this.json<{ peers: PeerInfo[] }>("GET", "/v1/peers")).peers;
  }
  addPeer(peer: NewPeer): Promise<PeerInfo> {
    return this.json("POST", "/v1/peers", peer);
  }
  async removePeer(name: string): Promise<void> {
    await this.raw("DELETE", `/v1/peers/${encodeURIComponent(name)}`);
  }
  async sessions(): Promise<SessionInfo[]> {
    return (await this.json<{ sessions: SessionInfo[] }>("GET", "/v1/sessions")).sessions;
  }
  setPolicy(peer: string, policy: Partial<Policy>): Promise<SessionInfo> {
    return this.json("PUT", `/v1/sessions/${encodeURIComponent(peer)}/policy`, policy);
  }
  rekey(peer: string): Promise<SessionInfo> {
    return this.json("POST", `/v1/sessions/${encodeURIComponent(peer)}/rekey`);
  }
  async transfers(filter: { peer?: string; state?: TransferState } = {}): Promise<TransferInfo[]> {
    const q = new URLSearchParams();
    if (filter.peer !== undefined) q.set("peer", filter.peer);
    if (filter.state !== undefined) q.set("state", filter.state);
    const query = q.size > 0 ? `?${q.toString()}` : "";
    return (await this.json<{ transfers: TransferInfo[] }>("GET", `/v1/transfers${query}`))
      .transfers;
  }
  transfer(id: string): Promise<TransferInfo> {
    return this.json("GET", `/v1/transfers/${encodeURIComponent(id)}`);
  }
  send(req: SendRequest): Promise<TransferInfo> {
    return this.json("POST", "/v1/transfers", req);
  }
  cancel(id: string): Promise<TransferInfo> {
    return this.json("POST", `/v1/transfers/${encodeURIComponent(id)}/cancel`);
  }
  verifyBlob(peer: string): Promise<BlobVerify> {
    return this.json("POST", "/v1/blob/verify", { peer });
  }
  async blobStats(): Promise<BlobStats[]> {
    return (await this.json<{ blobs: BlobStats[] }>("GET", "/v1/blob/stats")).blobs;
  }
  /** Prometheus text */
  async metrics(): Promise<string> {
    return (await this.raw("GET", "/metrics")).body;
  }
  openapi(): Promise<Record<string, unknown>> {
    return this.json("GET", "/openapi.json");
  }
}
