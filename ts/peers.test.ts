import {
  existsSync,
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
import { parse } from "yaml";

import { PfsError } from "./errors.js";
import { DEFAULT_CONTROL_PORT, PeerStore, parseHostPort } from "./peers.js";

const FP_A = "sha256:" + "a".repeat(64);
const FP_B = "sha256:" + "b".repeat(64);
const FP_C = "sha256:" + "c".repeat(64);

let dir: string;
let file: string;
let store: PeerStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-peers-"));
  file = join(dir, "conf", "peers.yaml");
  store = new PeerStore(file);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): PfsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

/** Asserts `fn` fails with `code` and a message containing `text`, and leaves the file as it was. */
function refused(fn: () => unknown, code: string, text: string): PfsError {
  const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  const err = thrown(fn);
  expect(err.code).toBe(code);
  expect(err.message).toContain(text);
  expect(existsSync(file) ? readFileSync(file, "utf8") : undefined).toBe(before);
  return err;
}

describe("PeerStore", () => {
  it("is empty without a file", () => {
    expect(store.list()).toEqual([]);
    expect(store.find("beta")).toBeUndefined();
  });

  it("add, list, get and remove round-trip through the file", () => {
    const beta = store.add({ name: "beta", host: "198.18.0.2", fingerprint: FP_B });
    expect(beta).toEqual({
      name: "beta",
      host: "198.18.0.2",
      port: DEFAULT_CONTROL_PORT,
      fingerprint: FP_B,
    });
    store.add({ name: "gamma", host: "[2001:db8::3]", port: 8443, fingerprint: FP_C });

    const fresh = new PeerStore(file); // nothing cached: a second reader sees the same
    expect(fresh.list().map((p) => p.name)).toEqual(["beta", "gamma"]);
    expect(fresh.get("gamma")).toEqual({
      name: "gamma",
      host: "2001:db8::3",
      port: 8443,
      fingerprint: FP_C,
    });
    expect(fresh.findByFingerprint(FP_B)?.name).toBe("beta");

    expect(fresh.remove("beta")).toEqual(beta);
    expect(store.list().map((p) => p.name)).toEqual(["gamma"]);
  });

  it("writes a 0600 YAML file atomically, leaving no temporary files", () => {
    store.add({ name: "beta", host: "beta.example.net", fingerprint: FP_B });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "conf"))).toEqual(["peers.yaml"]);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^# Peers this node trusts/);
    expect(parse(text)).toEqual({
      peers: [{ name: "beta", host: "beta.example.net", port: 7443, fingerprint: FP_B }],
    });
  });

  it("refuses a second peer with the same name", () => {
    store.add({ name: "beta", host: "198.18.0.2", fingerprint: FP_B });
    const err = refused(
      () => store.add({ name: "beta", host: "198.18.0.9", fingerprint: FP_C }),
      "PFS_ERR_CONFLICT",
      'a peer named "beta" exists already (198.18.0.2:7443',
    );
    expect(err.hint).toContain("pfs-dp peers remove beta");
  });

  it("refuses a key pinned already under another name", () => {
    store.add({ name: "beta", host: "198.18.0.2", fingerprint: FP_B });
    refused(
      () => store.add({ name: "beta2", host: "198.18.0.2", fingerprint: FP_B }),
      "PFS_ERR_CONFLICT",
      `the key ${FP_B} is pinned already, for peer "beta"`,
    );
  });

  it("unknown names are PFS_ERR_NOT_FOUND listing the known ones", () => {
    store.add({ name: "beta", host: "198.18.0.2", fingerprint: FP_B });
    expect(
      refused(() => store.remove("delta"), "PFS_ERR_NOT_FOUND", 'no peer named "delta"').hint,
    ).toBe("known peers: beta");
    refused(() => store.get("delta"), "PFS_ERR_NOT_FOUND", 'no peer named "delta"');
  });

  it.each([
    [{ name: "Beta" }, 'bad peer name "Beta": it must be a name of 1..63 lowercase letters'],
    [{ name: "-beta" }, 'bad peer name "-beta"'],
    [{ name: "b".repeat(64) }, "bad peer name"],
    [{ name: "" }, 'bad peer name ""'],
    [{ host: "bad_host" }, 'bad host for peer "beta": "bad_host" is not a host name'],
    [{ host: "198.18.0.2:7443" }, 'bad host for peer "beta"'],
    [{ host: "" }, "the host is empty"],
    [{ port: 0 }, "0 is not a whole number in 1..65535"],
    [{ port: 70000 }, "70000 is not a whole number in 1..65535"],
    [{ fingerprint: "sha256:abc" }, 'bad key fingerprint "sha256:abc": it has 3 hex digits'],
    [{ fingerprint: "a".repeat(64) }, 'lacks the "sha256:" prefix'],
  ])("refuses %j with a clear message and writes nothing", (bad, text) => {
    refused(
      () => store.add({ name: "beta", host: "198.18.0.2", fingerprint: FP_A, ...bad }),
      "PFS_ERR_USAGE",
      text,
    );
    expect(existsSync(file)).toBe(false);
  });

  it("parses HOST[:PORT] for callers, with the control port as default", () => {
    expect(parseHostPort("beta", DEFAULT_CONTROL_PORT)).toEqual({ host: "beta", port: 7443 });
    expect(parseHostPort("[::1]:9", DEFAULT_CONTROL_PORT)).toEqual({ host: "::1", port: 9 });
  });
});

describe("a corrupt peers.yaml", () => {
  const entry = (over: Record<string, unknown> = {}) => ({
    name: "beta",
    host: "198.18.0.2",
    port: 7443,
    fingerprint: FP_B,
    ...over,
  });
  const write = (text: string) => {
    rmSync(join(dir, "conf"), { recursive: true, force: true });
    store.add(entry({ name: "seed", fingerprint: FP_A })); // makes the directory
    writeFileSync(file, text);
  };

  it.each([
    ["a YAML syntax error", "peers:\n  - name: beta\n   host: x\n", "has a YAML syntax error: "],
    ["a list at the top", "- beta\n", 'must hold one field, "peers", a list of peers'],
    ["peers not a list", "peers: beta\n", '"peers" must be a list'],
    ["an entry that is no mapping", "peers:\n  - beta\n", "entry 1 is not a mapping"],
    [
      "an unknown field",
      JSON.stringify({ peers: [entry({ colour: "red" })] }),
      'entry 1 ("beta") has unknown field colour',
    ],
    [
      "a bad fingerprint",
      JSON.stringify({ peers: [entry(), entry({ name: "gamma", fingerprint: "x" })] }),
      'entry 2 ("gamma"): bad key fingerprint "x"',
    ],
    [
      "a repeated name",
      JSON.stringify({ peers: [entry(), entry({ fingerprint: FP_C })] }),
      'entry 2 ("beta") repeats the name of peer "beta"',
    ],
    [
      "a repeated key",
      JSON.stringify({ peers: [entry(), entry({ name: "gamma" })] }),
      `entry 2 ("gamma") repeats the key ${FP_B} of peer "beta"`,
    ],
  ])("with %s is PFS_ERR_CONFIG naming the file and entry", (_what, text, message) => {
    write(text);
    const err = thrown(() => store.list());
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toContain(`peers file ${file} `);
    expect(err.message).toContain(message);
    // and nothing is written over it
    refused(
      () => store.add(entry({ name: "delta", fingerprint: FP_C })),
      "PFS_ERR_CONFIG",
      message,
    );
  });
});
