import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { PeerInfo } from "../daemon/types.js";
import { PfsError } from "../errors.js";
import { main } from "../program.js";
import { memoryIo } from "../util/io.js";
import { type PeerBackend, addPeersCommands } from "./peers.js";

const FP_B = "sha256:" + "b".repeat(64);
const FP_C = "sha256:" + "c".repeat(64);

let tmp: string;
let dir: string;
let peersFile: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "pfs-peers-cli-"));
  dir = join(tmp, "alpha");
  peersFile = join(dir, "peers.yaml");
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...args: string[]) {
  const io = memoryIo();
  const code = await main(["node", "pfs-dp", ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

const peers = (...args: string[]) => run("peers", ...args, "--config-dir", dir);
const fileText = () => (existsSync(peersFile) ? readFileSync(peersFile, "utf8") : undefined);

describe("pfs-dp peers", () => {
  it("add, list and remove round-trip", async () => {
    const a = await peers("add", "beta", "198.18.0.2", "--key", FP_B);
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(`pinned peer beta at 198.18.0.2:7443 with key ${FP_B}\n`);
    expect((await peers("add", "gamma", "[2001:db8::3]:8443", "--key", FP_C)).code).toBe(0);

    const l = await peers("list");
    expect(l.code).toBe(0);
    expect(l.stdout.split("\n")).toEqual([
      "NAME   ADDRESS             FINGERPRINT",
      `beta   198.18.0.2:7443     ${FP_B}`,
      `gamma  [2001:db8::3]:8443  ${FP_C}`,
      "",
    ]);

    const j = await peers("list", "--json");
    expect(JSON.parse(j.stdout)).toEqual([
      { name: "beta", host: "198.18.0.2", port: 7443, fingerprint: FP_B },
      { name: "gamma", host: "2001:db8::3", port: 8443, fingerprint: FP_C },
    ]);

    const r = await peers("remove", "beta");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("removed peer beta\n");
    expect(JSON.parse((await peers("list", "--json")).stdout).map((p: PeerInfo) => p.name)).toEqual(
      ["gamma"],
    );
  });

  it("an empty list says how to add a peer", async () => {
    const l = await peers("list");
    expect(l.code).toBe(0);
    expect(l.stdout).toContain("no peers pinned yet; add one with: pfs-dp peers add NAME");
    expect(JSON.parse((await peers("list", "--json")).stdout)).toEqual([]);
  });

  it.each([
    [
      ["add", "beta", "198.18.0.2", "--key", "sha256:xyz"],
      'error: bad key fingerprint "sha256:xyz"',
    ],
    [["add", "beta", "198.18.0.2"], "error: peers add needs --key FINGERPRINT"],
    [["add", "Beta", "198.18.0.2", "--key", FP_B], 'error: bad peer name "Beta"'],
    [["add", "beta", "198.18.0.2:99999", "--key", FP_B], "port 99999 is outside 1..65535"],
    [
      ["add", "beta", "2001:db8::3:7443x", "--key", FP_B],
      "is ambiguous: put an IPv6 address in brackets",
    ],
    [["remove", "delta"], 'error: no peer named "delta"'],
  ])("%j fails with a hint and changes nothing", async (args, message) => {
    const before = fileText();
    const r = await peers(...args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("  hint: ");
    expect(fileText()).toBe(before);
  });

  it("a duplicate is refused and the file stays as it was", async () => {
    await peers("add", "beta", "198.18.0.2", "--key", FP_B);
    const before = fileText();
    const r = await peers("add", "beta2", "198.18.0.5", "--key", FP_B);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: the key ${FP_B} is pinned already, for peer "beta"`);
    expect(fileText()).toBe(before);
  });

  it("a missing argument is reported by the parser with usage", async () => {
    const r = await peers("add", "beta");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("missing required argument");
  });

  it("goes through the PeerBackend it is given", async () => {
    const calls: string[] = [];
    const fake: PeerBackend = {
      list: async () => [{ name: "zeta", host: "h", port: 1, fingerprint: FP_B }],
      add: async (p) => {
        calls.push(`add ${p.name} ${p.host} ${p.port}`);
        return { name: p.name, host: p.host, port: p.port ?? 7443, fingerprint: p.fingerprint };
      },
      remove: async (name) => {
        calls.push(`remove ${name}`);
        if (name === "nope") throw new PfsError("PFS_ERR_NOT_FOUND", 'no peer named "nope"');
      },
    };
    const io = memoryIo();
    const program = new Command("pfs-dp").exitOverride();
    const dirs: string[] = [];
    addPeersCommands(program, io, (paths) => {
      dirs.push(paths.dir);
      return fake;
    });
    await program.parseAsync([
      "node",
      "pfs-dp",
      "peers",
      "add",
      "x",
      "[::1]:9",
      "--key",
      FP_C,
      "--config-dir",
      dir,
    ]);
    await program.parseAsync(["node", "pfs-dp", "peers", "remove", "x", "--config-dir", dir]);
    await program.parseAsync(["node", "pfs-dp", "peers", "list", "--config-dir", dir]);
    expect(calls).toEqual(["add x ::1 9", "remove x"]);
    expect(dirs).toEqual([dir, dir, dir]);
    expect(io.stdout()).toContain("zeta");
    expect(existsSync(dir)).toBe(false);
  });
});
