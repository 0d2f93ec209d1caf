/**
 * The commented config.yaml that `pfs-dp init` writes: every field with its
 * description and allowed range as comments and its default as a commented-out
 * setting, so the file documents itself and stays valid when nothing is changed.
 *
 * Layout (a test uncomments the settings and expects the defaults back):
 *   "# text"          description of a top-level field
 *   "#key: value"     a top-level default (no space after "#")
 *   "#  # text"       description of a nested field
 *   "#  key: value"   a nested default (two spaces per level after "#")
 * Only nodeName is set for real: the certificate carries it, so it must not
 * follow a later change of the host name.
 */

import type { TSchema } from "@sinclair/typebox";

import type { ConfigPaths } from "./paths.js";
import { type Config, ConfigSchema, defaultConfig, propertiesOf } from "./schema.js";

const WIDTH = 88;

function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && prefix.length + line.length + 1 + word.length > WIDTH) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(prefix + line);
  return lines;
}

function scalar(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

interface Leaf {
  description?: string;
  type?: string;
  minimum?: number;
  maximum?: number;
}

function describe(schema: TSchema, indent: string): string[] {
  const s = schema as Leaf;
  const text =
    (s.description ?? "") +
    (s.type === "integer" && s.minimum !== undefined ? ` Range: ${s.minimum}..${s.maximum}.` : "");
  return text.trim() === "" ? [] : wrap(text.trim(), indent === "" ? "# " : `#${indent}# `);
}

function renderFields(schema: TSchema, values: Record<string, unknown>, indent: string): string[] {
  const out: string[] = [];
  for (const [key, sub] of propertiesOf(schema)) {
    const v = values[key];
    out.push(...describe(sub, indent));
    if ((sub as { type?: string }).type === "object") {
      out.push(`#${indent}${key}:`);
      out.push(...renderFields(sub, v as Record<string, unknown>, indent + "  "));
    } else if (v === undefined) {
      // No default: show an example as a comment, so that uncommenting the defaults leaves it out.
      const example = (sub as { examples?: unknown[] }).examples?.[0] ?? "...";
      out.push(`#${indent}# ${key}: ${scalar(example)}`);
    } else {
      out.push(`#${indent}${key}: ${scalar(v)}`);
    }
    if (indent === "") out.push("");
  }
  return out;
}

/** The text of a commented default config.yaml for the directory of `paths`. */
export function renderConfigFile(paths: ConfigPaths, nodeName: string, host?: string): string {
  const defaults: Config = defaultConfig(paths, ...(host === undefined ? [] : [host]));
  const lines = [
    "# PacketFS daemon configuration (pfs-dp), written by `pfs-dp init`.",
    "#",
    "# Every field is optional: one left out takes the default shown in its commented-out",
    '# line ("#key: value"). To change a field, remove the "#" in front of it (and of the',
    "# section it is in) and edit the value. pfs-dp checks this file when it starts and",
    "# names any bad field with the values it allows.",
    "",
  ];
  const body = renderFields(ConfigSchema, { ...defaults }, "");
  // nodeName is set for real (see the header of this module).
  const i = body.findIndex((l) => l.startsWith("#nodeName:"));
  if (i >= 0) body[i] = `nodeName: ${scalar(nodeName)}`;
  return [...lines, ...body].join("\n").trimEnd() + "\n";
}
