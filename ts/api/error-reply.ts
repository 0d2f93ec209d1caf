/**
 * How the API answers when something goes wrong: always
 *   {"error": {"code": "PFS_ERR_…", "message": "…", "hint": "…"}}
 * with the status the registry (ts/errors.ts) gives the code. Validation
 * failures name the field ("body.sources[0] must be an absolute path …");
 * errors that are not PfsErrors are bugs: logged in full, answered with a
 * request id and nothing else (no message, no stack).
 */

import type { ErrorObject } from "ajv";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

import { PfsError } from "../errors.js";

/**
 * The code of an answer to a failure that is not a PfsError. ts/errors.ts has
 * no entry for it yet; it answers with status 500.
 */
export const INTERNAL_CODE = "PFS_ERR_INTERNAL";

const CONTEXT: Record<string, string> = {
  body: "body",
  params: "params",
  querystring: "query",
  headers: "headers",
};

/** "/sources/0" under "body" -> "body.sources[0]" */
export function fieldPath(context: string, instancePath: string, child?: string): string {
  const parts = instancePath.split("/").slice(1);
  if (child !== undefined) parts.push(child);
  let out = CONTEXT[context] ?? context;
  for (const raw of parts) {
    const p = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(p)
      ? `[${p}]`
      : /^[A-Za-z_$][\w$]*$/.test(p)
        ? `.${p}`
        : `[${JSON.stringify(p)}]`;
  }
  return out;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    const shown =
      value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value);
    return `the string ${shown}`;
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/** One ajv error as a sentence that names the field and says what it must be. */
export function validationMessage(context: string, e: ErrorObject): string {
  const at = fieldPath(context, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as { description?: string; properties?: object };
  switch (e.keyword) {
    case "required":
      return `${fieldPath(context, e.instancePath, String(p.missingProperty))} is required`;
    case "additionalProperties": {
      const allowed = Object.keys(parent.properties ?? {});
      const field = fieldPath(context, e.instancePath, String(p.additionalProperty));
      return allowed.length === 0
        ? `${field} is not allowed: ${at} takes no fields`
        : `${field} is not allowed (${at} takes ${allowed.join(", ")})`;
    }
    case "type":
      return `${at} must be ${article(String(p.type))}, not ${describe(e.data)}`;
    case "pattern":
    case "format":
      return `${at} must be ${parent.description ?? `in the form ${String(p.pattern ?? p.format)}`}, not ${describe(e.data)}`;
    case "minLength":
      return p.limit === 1
        ? `${at} must not be empty`
        : `${at} must be at least ${String(p.limit)} characters long`;
    case "maxLength":
      return `${at} must be at most ${String(p.limit)} characters long`;
    case "minItems":
      return `${at} must have at least ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`;
    case "maxItems":
      return `${at} must have at most ${String(p.limit)} items`;
    case "minimum":
    case "maximum":
      return `${at} must be ${String(p.comparison)} ${String(p.limit)}, not ${String(e.data)}`;
    case "minProperties":
      return `${at} must set at least one of ${Object.keys(parent.properties ?? {}).join(", ")}`;
    case "enum":
      return `${at} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, not ${describe(e.data)}`;
    default:
      return `${at} ${e.message ?? "is invalid"}`;
  }
}

/** fastify's schemaErrorFormatter: a validation failure becomes a PFS_ERR_USAGE. */
export function formatValidation(errors: ErrorObject[], context: string): Error {
  const first = errors[0];
  const message =
    first === undefined
      ? `${CONTEXT[context] ?? context} is invalid`
      : validationMessage(context, first);
  return new PfsError("PFS_ERR_USAGE", message, "see GET /openapi.json or docs/api.md");
}

function send(reply: FastifyReply, err: PfsError): FastifyReply {
  return reply.code(err.status).type("application/json").send({ error: err.toJSON() });
}

/**
 * The app's error handler: PfsErrors keep their code and status; fastify's
 * own client errors become PFS_ERR_USAGE or PFS_ERR_TOO_LARGE; anything else
 * is a 500 whose details stay in the log.
 */
export function replyError(
  err: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (err instanceof PfsError) {
    if (err.status >= 500) request.log.warn({ code: err.code, msg: err.message }, "request failed");
    return send(reply, err);
  }
  const fe = err as Partial<FastifyError>;
  if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit;
    const why = `request body is larger than ${limit} bytes`;
    return send(reply, new PfsError("PFS_ERR_TOO_LARGE", why, "send fewer or shorter values"));
  }
  const status = fe.statusCode ?? 500;
  if (typeof fe.code === "string" && fe.code.startsWith("FST_") && status >= 400 && status < 500) {
    return send(reply, new PfsError("PFS_ERR_USAGE", err.message, "send a JSON body"));
  }
  request.log.error({ err }, "internal error");
  return reply
    .code(500)
    .type("application/json")
    .send({
      error: {
        code: INTERNAL_CODE,
        message: `internal error (request ${request.id})`,
        hint: "the daemon's log has the details under this request id",
      },
    });
}

/** Unknown routes (and known paths with another method) answer 404 PFS_ERR_NOT_FOUND. */
export function replyNotFound(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split("?")[0] ?? "";
  return send(
    reply,
    new PfsError(
      "PFS_ERR_NOT_FOUND",
      `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`,
      "GET /openapi.json lists the routes",
    ),
  );
}
