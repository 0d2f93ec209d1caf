import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { loadConfig } from "../config/load.js";
import { configPaths } from "../config/paths.js";
import { loadToken } from "../config/token.js";
import { loadIdentity } from "../identity.js";
import { main } from "../program.js";
import { memoryIo } from "../util/io.js";

let tmp: string;
let dir: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "pfs-init-"));
  dir = join(tmp, "alpha");
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...args: string[]) {
  const io = memoryIo();
  const code = await main(["node", "pfs-dp", ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

const mode = (file: string) => statSync(file).mode & 0o777;

/** Every file under `root` with its content, to show that nothing changed. */
function snapshot(root: string): Record<string, string> {
  if (!existsSync(root)) return {};
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    out[p] = e.isFile() ? readFileSync(p, "utf8") : "<dir>";
  }
  return out;
}

describe("pfs-dp init", () => {
  it("creates the directory, identity, token and config, and prints the fingerprint", async () => {
    const r = await run("init", "--config-dir", dir, "--name", "alpha");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const paths = configPaths(dir);
    const id = loadIdentity(paths);
    expect(r.stdout).toContain(`Initialised PacketFS node "alpha" in ${dir}`);
    expect(r.stdout).toContain(`fingerprint  ${id.fingerprint}`);
    expect(r.stdout).toContain(`$ pfs-dp peers add alpha HOST --key ${id.fingerprint}`);
    expect(r.stdout).toContain(
      `$ pfs-dp peers add NAME HOST[:PORT] --key FINGERPRINT --config-dir ${dir}`,
    );

    expect(mode(dir)).toBe(0o700);
    expect(mode(paths.keyFile)).toBe(0o600);
    expect(mode(paths.certFile)).toBe(0o644);
    expect(mode(paths.tokenFile)).toBe(0o600);
    expect(loadToken(paths)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const d of [paths.receiveDir, paths.stateDir, paths.logDir]) {
      expect(statSync(d).isDirectory()).toBe(true);
    }
    expect(readFileSync(paths.configFile, "utf8")).toContain("#  mtu: 1472");
    expect(loadConfig(paths).nodeName).toBe("alpha");
  });

  it("--json prints the result for scripts", async () => {
    const r = await run("init", "--config-dir", dir, "--name", "alpha", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ nodeName: "alpha", configDir: dir, configWritten: true });
    expect(out.fingerprint).toBe(loadIdentity(configPaths(dir)).fingerprint);
  });

  it("a second init is refused without --force and changes nothing", async () => {
    await run("init", "--config-dir", dir, "--name", "alpha");
    const before = snapshot(dir);
    const r = await run("init", "--config-dir", dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error: an identity exists already in");
    expect(r.stderr).toContain("hint: keep it, or pass --force");
    expect(snapshot(dir)).toEqual(before);
  });

  it("--force makes a new key and token but keeps config.yaml", async () => {
    await run("init", "--config-dir", dir, "--name", "alpha");
    const paths = configPaths(dir);
    const old = { fp: loadIdentity(paths).fingerprint, token: loadToken(paths) };
    writeFileSync(paths.configFile, "nodeName: alpha\nlogLevel: debug\n");
    const r = await run("init", "--config-dir", dir, "--force");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(kept as it was)");
    expect(loadIdentity(paths).fingerprint).not.toBe(old.fp);
    expect(loadToken(paths)).not.toBe(old.token);
    expect(readFileSync(paths.configFile, "utf8")).toBe("nodeName: alpha\nlogLevel: debug\n");
  });

  it("refuses a bad --name and creates nothing", async () => {
    const r = await run("init", "--config-dir", dir, "--name", "Alpha_1");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: bad node name "Alpha_1"');
    expect(r.stderr).toContain("hint: ");
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses an invalid existing config.yaml before writing anything", async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, "config.yaml"), "dataplane:\n  mtu: 1\n");
    const before = snapshot(dir);
    const r = await run("init", "--config-dir", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("dataplane.mtu: must be a whole number in 576..65507 (got 1)");
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses a --name that contradicts config.yaml", async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, "config.yaml"), "nodeName: beta\ncontrol:\n  listen: 0.0.0.0:8443\n");
    const r = await run("init", "--config-dir", dir, "--name", "alpha");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('names this node "beta", not "alpha"');
    const ok = await run("init", "--config-dir", dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('node "beta"');
    expect(ok.stdout).toContain("$ pfs-dp peers add beta HOST:8443 --key sha256:");
  });

  it("takes the directory from PFS_CONFIG_DIR", async () => {
    const saved = process.env.PFS_CONFIG_DIR;
    process.env.PFS_CONFIG_DIR = dir;
    try {
      const r = await run("init", "--name", "alpha");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`in ${dir}`);
      expect(r.stdout).not.toContain("--config-dir");
    } finally {
      if (saved === undefined) delete process.env.PFS_CONFIG_DIR;
      else process.env.PFS_CONFIG_DIR = saved;
    }
  });
});
