/**
 * Reading the configuration: YAML file → defaults filled in → one ajv pass over
 * the TypeBox schema → cross-field checks → overrides from the command line →
 * the same checks again. Every problem is reported at once, each line naming the
 * field path, the bad value and what is allowed (issues.ts), as one PFS_ERR_CONFIG.
 */

import { readFileSync } from "node:fs";

import { Ajv, type ValidateFunction } from "ajv";
import { parseDocument } from "yaml";

import type { Policy } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import { tryParseHostPort } from "./address.js";
import { FORMATS } from "./formats.js";
import { type ConfigIssue, issueOf, show } from "./issues.js";
import type { ConfigPaths } from "./paths.js";
import { type Config, ConfigSchema, deepFreeze, defaultConfig } from "./schema.js";

/** Any subset of the configuration; undefined leaves are ignored (unset flags). */
export type { ConfigIssue } from "./issues.js";

export type ConfigOverrides = {
  [K in keyof Config]?: Config[K] extends object
    ? { [L in keyof Config[K]]?: Config[K][L] | undefined }
    : Config[K] | undefined;
};

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    for (const [name, f] of Object.entries(FORMATS)) {
      ajv.addFormat(name, { type: "string", validate: (s: string) => f.problem(s) === undefined });
    }
    compiled = ajv.compile(ConfigSchema);
  }
  return compiled;
}

function wildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/** Rules between fields, checked once each field is valid on its own. */
function crossFieldIssues(c: Config): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (c.policy.cc === "fixed" && c.policy.fixedRate <= 0) {
    out.push({
      path: "policy.fixedRate",
      message: `must be more than 0 bytes/s when policy.cc is "fixed" (got ${c.policy.fixedRate})`,
    });
  }
  if (c.dataplane.backend === "xdp" && c.dataplane.iface === undefined) {
    out.push({
      path: "dataplane.iface",
      message:
        'is required when dataplane.backend is "xdp": name the interface AF_XDP is to take packets from (--iface eth0, or iface: eth0 under dataplane in the config file)',
    });
  }
  const ctl = tryParseHostPort(c.control.listen);
  const rest = c.rest.listen.startsWith("unix:") ? "unix" : tryParseHostPort(c.rest.listen);
  if (typeof ctl !== "string" && typeof rest !== "string" && ctl.port === rest.port) {
    if (ctl.host === rest.host || wildcard(ctl.host) || wildcard(rest.host)) {
      out.push({
        path: "rest.listen",
        message: `must not take control.listen's TCP port (both ${c.control.listen} and ${c.rest.listen})`,
      });
    }
  }
  return out;
}

/** Problems of single fields (type, range, format, unknown keys), one per field. */
function schemaIssues(value: unknown): ConfigIssue[] {
  const validate = validator();
  if (validate(value)) return [];
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const e of validate.errors ?? []) {
    const issue = issueOf(e);
    if (seen.has(issue.path)) continue; // one line per field: the first says enough
    seen.add(issue.path);
    out.push(issue);
  }
  return out;
}

/** Every problem of `value` as a configuration, [] when it is a valid Config. */
export function configIssues(value: unknown): ConfigIssue[] {
  const s = schemaIssues(value);
  return s.length > 0 ? s : crossFieldIssues(value as Config);
}

function configError(source: string, issues: ConfigIssue[]): PfsError {
  const lines = issues.map((i) => `  ${i.path === "" ? "(top level)" : i.path}: ${i.message}`);
  const count = issues.length === 1 ? "a bad value" : `${issues.length} bad values`;
  return new PfsError(
    "PFS_ERR_CONFIG",
    `${source} has ${count}:\n${lines.join("\n")}`,
    "fix the fields named above; a field left out takes its default " +
      "(every field and its default is described in the config.yaml that pfs-dp init writes)",
  );
}

/** `value` as a deep-frozen Config, or PFS_ERR_CONFIG listing every problem and its `source`. */
export function validateConfig(value: unknown, source: string): Config {
  const issues = configIssues(value);
  if (issues.length > 0) throw configError(source, issues);
  return deepFreeze(structuredClone(value) as Config);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * `over` laid onto `base`: objects merge field by field, anything else replaces.
 * undefined is skipped, and so is null over a section: a YAML section header
 * whose fields are all commented out ("policy:" alone) means "the defaults".
 */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (over === undefined || (over === null && isPlainObject(base))) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = mergeConfig(base[k], v);
  }
  return out;
}

/** The file's settings (undefined when it does not exist), or PFS_ERR_CONFIG for bad YAML. */
export function readConfigFile(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") return undefined;
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `cannot read config file ${file}: ${e.message}`,
      "check that it is a readable file",
    );
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad !== undefined) {
    const pos = bad.linePos?.[0];
    const where = pos === undefined ? "" : ` at line ${pos.line}, column ${pos.col}`;
    const what = (bad.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `config file ${file}: YAML syntax error${where}: ${what}`,
      "fix the YAML (indent with spaces, `key: value`, quote values containing ': ' or '#')",
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `config file ${file}: the top level must be a mapping of fields (key: value), not ${Array.isArray(value) ? "a list" : show(value)}`,
      "start from the commented config.yaml that pfs-dp init writes",
    );
  }
  return value;
}

export interface LoadOptions {
  /** host name the default nodeName derives from (default os.hostname()) */
  hostname?: string;
  /** how errors in `overrides` name their source (default "command-line options") */
  overridesSource?: string;
}

/**
 * The configuration of `paths`: defaults, then config.yaml (if it exists), then
 * `overrides`. Each layer's fields are validated before the next is laid on, so
 * an error names its source; rules between fields are checked on the result.
 * Throws PFS_ERR_CONFIG.
 */
export function loadConfig(
  paths: ConfigPaths,
  overrides: ConfigOverrides = {},
  opts: LoadOptions = {},
): Config {
  const fileSource = `config file ${paths.configFile}`;
  const defaults = defaultConfig(paths, ...(opts.hostname === undefined ? [] : [opts.hostname]));
  const fromFile = readConfigFile(paths.configFile);
  const base = fromFile === undefined ? defaults : mergeConfig(defaults, fromFile);
  const fileIssues = schemaIssues(base);
  if (fileIssues.length > 0) throw configError(fileSource, fileIssues);
  const merged = mergeConfig(base, overrides);
  const flagIssues = schemaIssues(merged);
  if (flagIssues.length > 0) {
    throw configError(opts.overridesSource ?? "command-line options", flagIssues);
  }
  // A rule between fields may be met by an override (xdp in the file, --iface on the command line).
  const changed = JSON.stringify(merged) !== JSON.stringify(base);
  const both = changed
    ? `${fileSource} with ${opts.overridesSource ?? "command-line options"}`
    : fileSource;
  return validateConfig(merged, both);
}

/** The session policy of `config`; also checks at compile time that the schema matches Policy. */
export function policyOf(config: Config): Policy {
  return { ...config.policy };
}
