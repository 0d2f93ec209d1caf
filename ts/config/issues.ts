/**
 * ajv's errors turned into lines a person can act on: the field path
 * ("dataplane.mtu"), the value found, and what is allowed, with a guess at the
 * field a typo meant.
 */

import type { ErrorObject } from "ajv";

import { FORMATS } from "./formats.js";

export interface ConfigIssue {
  /** dotted field path, e.g. "dataplane.mtu" ("" for the whole document) */
  path: string;
  /** completes "<path>: …" */
  message: string;
}

export function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

interface SchemaLike {
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, unknown>;
}

/** What a value of `schema` must be, completing "must be …". */
function expected(schema: SchemaLike): string {
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  if (schema.format !== undefined) return FORMATS[schema.format]?.expected ?? schema.format;
  switch (schema.type) {
    case "integer":
      return `a whole number in ${schema.minimum}..${schema.maximum}`;
    case "object":
      return `a mapping of fields (${Object.keys(schema.properties ?? {}).join(", ")})`;
    case "string":
      return "a string";
    default:
      return String(schema.type);
  }
}

function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

const join = (a: string, b: string) => (a === "" ? b : `${a}.${b}`);

/** Levenshtein distance, to suggest the field a typo meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub =
        (prev[j - 1] as number) + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** One ajv error as a ConfigIssue (ajv must run with verbose: true for the value and schema). */
export function issueOf(e: ErrorObject): ConfigIssue {
  const path = dotted(e.instancePath);
  const parent = (e.parentSchema ?? {}) as SchemaLike;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const near = allowed.find((a) => distance(a, key) <= 2);
      const where = path === "" ? "the top level" : path;
      return {
        path: join(path, key),
        message:
          `unknown field${near === undefined ? "" : ` (did you mean ${join(path, near)}?)`}; ` +
          `${where} takes: ${allowed.join(", ")}`,
      };
    }
    case "required": {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { path: join(path, key), message: "is required" };
    }
    case "type":
    case "enum":
    case "minimum":
    case "maximum":
    case "format": {
      let got = show(e.data);
      if (e.keyword === "format" && typeof e.data === "string") {
        const why = FORMATS[parent.format ?? ""]?.problem(e.data);
        if (why) got += `: ${why}`;
      }
      return { path, message: `must be ${expected(parent)} (got ${got})` };
    }
    default:
      return { path, message: `${e.message ?? "is not valid"} (got ${show(e.data)})` };
  }
}
