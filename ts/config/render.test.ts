import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";

import { loadConfig } from "./load.js";
import { type ConfigPaths, configPaths } from "./paths.js";
import { renderConfigFile } from "./render.js";
import { ConfigSchema, defaultConfig, propertiesOf } from "./schema.js";

let dir: string;
let paths: ConfigPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-render-"));
  paths = configPaths(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the commented default config.yaml", () => {
  it("sets only the node name and loads as the defaults", () => {
    const text = renderConfigFile(paths, "alpha", "somehost");
    expect(parse(text)).toEqual({ nodeName: "alpha" });
    writeFileSync(paths.configFile, text);
    expect(loadConfig(paths, {}, { hostname: "somehost" })).toEqual({
      ...defaultConfig(paths, "somehost"),
      nodeName: "alpha",
    });
  });

  it("uncommenting every setting gives exactly the defaults", () => {
    const text = renderConfigFile(paths, "alpha", "somehost");
    const uncommented = text
      .split("\n")
      .map((l) => (/^#((?: {2})*)[A-Za-z]\w*:/.test(l) ? l.slice(1) : l))
      .join("\n");
    expect(parse(uncommented)).toEqual({ ...defaultConfig(paths, "somehost"), nodeName: "alpha" });
  });

  it("describes every field", () => {
    const text = renderConfigFile(paths, "alpha").replace(/\n#?\s*#\s*/g, " ");
    const walk = (s: unknown): void => {
      for (const [, sub] of propertiesOf(s as never)) {
        const d = (sub as { description: string }).description;
        expect(text).toContain(d.split(/\s+/).slice(0, 6).join(" "));
        walk(sub);
      }
    };
    walk(ConfigSchema);
    expect(text).toContain("Range: 576..65507.");
  });
});
