import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { PfsError } from "../errors.js";
import { configIssues, loadConfig, policyOf } from "./load.js";
import { type ConfigPaths, configPaths } from "./paths.js";
import { ConfigSchema, DEFAULTS, defaultConfig, propertiesOf, sanitizeNodeName } from "./schema.js";

let dir: string;
let paths: ConfigPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-config-"));
  paths = configPaths(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(yaml: string | undefined, overrides = {}) {
  if (yaml !== undefined) writeFileSync(paths.configFile, yaml);
  return loadConfig(paths, overrides, { hostname: "Test_Host.example.net" });
}

/** The PfsError `fn` throws. */
function thrown(fn: () => unknown): PfsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("defaults", () => {
  it("are a valid configuration", () => {
    expect(configIssues(defaultConfig(paths, "h"))).toEqual([]);
  });

  it("apply when there is no config file, with paths inside the config directory", () => {
    const c = load(undefined);
    expect(c).toEqual({
      nodeName: "test-host",
      control: { listen: "0.0.0.0:7443" },
      dataplane: {
        backend: "udp",
        xdpMode: "auto",
        xdpCopy: "auto",
        listen: "0.0.0.0:7444",
        cores: "",
        blobSize: "1GiB",
        mtu: 1472,
        receiveRoot: join(dir, "received"),
        logDir: join(dir, "state", "logs"),
      },
      rest: { listen: "127.0.0.1:7445" },
      keyRotation: { intervalSeconds: 3600 },
      policy: DEFAULTS.policy,
      logLevel: "info",
    });
  });

  it("an empty file means all defaults", () => {
    expect(load("# nothing set\n")).toEqual(load(undefined));
  });

  it("a section whose fields are all commented out means its defaults", () => {
    expect(load("policy:\n  # cc: cubic\ndataplane:\n")).toEqual(load(undefined));
    expect(() => load("dataplane:\n  mtu:\n")).toThrow(
      "dataplane.mtu: must be a whole number in 576..65507 (got null)",
    );
  });

  it("are frozen, and so is a loaded config", () => {
    expect(Object.isFrozen(DEFAULTS.policy)).toBe(true);
    const c = load("dataplane:\n  mtu: 1400\n");
    expect(Object.isFrozen(c.dataplane)).toBe(true);
    expect(() => {
      (c.dataplane as { mtu: number }).mtu = 9000;
    }).toThrow();
  });

  it("the node name derives from the host name, made to fit", () => {
    expect(sanitizeNodeName("My_Box.lan")).toBe("my-box");
    expect(sanitizeNodeName("---")).toBe("node");
    expect(sanitizeNodeName("x".repeat(80))).toHaveLength(63);
  });

  it("every field of the schema is documented", () => {
    const walk = (s: unknown, path: string): void => {
      for (const [k, sub] of propertiesOf(s as never)) {
        const d = (sub as { description?: string }).description;
        expect(d, `${path}${k}`).toMatch(/^[A-Z'"].{10,}[.)]$/);
        walk(sub, `${path}${k}.`);
      }
    };
    walk(ConfigSchema, "");
  });

  it("the policy has the daemon's Policy shape", () => {
    expect(policyOf(load(undefined))).toEqual({
      windowBlocks: 256,
      cc: "bbr",
      rateCap: 0,
      fixedRate: 0,
      maxPtoBackoff: 6,
      maxRetries: 10,
    });
  });

  it("reads set fields and keeps the defaults of the rest", () => {
    const c = load(
      'nodeName: alpha\ndataplane:\n  backend: xdp\n  iface: eth0\n  cores: "0-3,6"\n  blobSize: 256MiB\npolicy:\n  cc: fixed\n  fixedRate: 125000000\n',
    );
    expect(c.nodeName).toBe("alpha");
    expect(c.dataplane).toMatchObject({ backend: "xdp", iface: "eth0", cores: "0-3,6", mtu: 1472 });
    expect(c.dataplane).toMatchObject({ xdpMode: "auto", xdpCopy: "auto" });
    const modes = load(
      "dataplane:\n  backend: xdp\n  iface: eth0\n  xdpMode: native\n  xdpCopy: copy\n",
    );
    expect(modes.dataplane).toMatchObject({ xdpMode: "native", xdpCopy: "copy" });
    expect(c.policy).toMatchObject({ cc: "fixed", fixedRate: 125000000, windowBlocks: 256 });
  });
});

describe("bad fields are PFS_ERR_CONFIG naming path, value and what is allowed", () => {
  it.each([
    [
      "wrong type",
      "dataplane:\n  mtu: big\n",
      'dataplane.mtu: must be a whole number in 576..65507 (got "big")',
    ],
    [
      "fraction",
      "policy:\n  windowBlocks: 1.5\n",
      "policy.windowBlocks: must be a whole number in 1..4096 (got 1.5)",
    ],
    [
      "above range",
      "dataplane:\n  mtu: 70000\n",
      "dataplane.mtu: must be a whole number in 576..65507 (got 70000)",
    ],
    [
      "below range",
      "keyRotation:\n  intervalSeconds: 5\n",
      "keyRotation.intervalSeconds: must be a whole number in 60..604800 (got 5)",
    ],
    [
      "bad enum",
      "dataplane:\n  backend: tcp\n",
      'dataplane.backend: must be one of "udp", "xdp" (got "tcp")',
    ],
    [
      "bad enum (xdpMode)",
      "dataplane:\n  xdpMode: skb\n",
      'dataplane.xdpMode: must be one of "auto", "native", "generic" (got "skb")',
    ],
    [
      "bad enum (xdpCopy)",
      "dataplane:\n  xdpCopy: true\n",
      'dataplane.xdpCopy: must be one of "auto", "zerocopy", "copy" (got true)',
    ],
    [
      "bad enum (cc)",
      "policy:\n  cc: reno\n",
      'policy.cc: must be one of "bbr", "cubic", "fixed" (got "reno")',
    ],
    [
      "bad log level",
      "logLevel: verbose\n",
      'logLevel: must be one of "debug", "info", "warn", "error"',
    ],
    [
      "unknown nested key",
      "dataplane:\n  mtuu: 1500\n",
      "dataplane.mtuu: unknown field (did you mean dataplane.mtu?); dataplane takes: backend, iface, xdpMode, xdpCopy, listen, cores, blobSize, mtu, receiveRoot, logDir",
    ],
    [
      "unknown top-level key",
      "colour: red\n",
      "colour: unknown field; the top level takes: nodeName, control,",
    ],
    [
      "size not a power of two",
      "dataplane:\n  blobSize: 100MiB\n",
      'dataplane.blobSize: must be a power of two from 64KiB to 1TiB, e.g. 256MiB or 1GiB (got "100MiB": 104857600 bytes is not a power of two)',
    ],
    [
      "size too small",
      "dataplane:\n  blobSize: 32K\n",
      "dataplane.blobSize: must be a power of two from 64KiB to 1TiB",
    ],
    ["size with decimal unit", "dataplane:\n  blobSize: 1GB\n", 'has an unknown unit "GB"'],
    [
      "size as a number",
      "dataplane:\n  blobSize: 1073741824\n",
      "dataplane.blobSize: must be a power of two from 64KiB to 1TiB, e.g. 256MiB or 1GiB (got 1073741824)",
    ],
    [
      "listen without port",
      "control:\n  listen: 0.0.0.0\n",
      'control.listen: must be ADDR:PORT with port 1..65535, e.g. 0.0.0.0:7443 or [::]:7443 (got "0.0.0.0": "0.0.0.0" has no port',
    ],
    [
      "listen port out of range",
      "dataplane:\n  listen: 0.0.0.0:99999\n",
      "port 99999 is outside 1..65535",
    ],
    [
      "rest socket not absolute",
      "rest:\n  listen: unix:pfs.sock\n",
      'rest.listen: must be ADDR:PORT (e.g. 127.0.0.1:7445) or "unix:" and an absolute socket path (got "unix:pfs.sock": the socket path is not absolute)',
    ],
    [
      "bad cores",
      "dataplane:\n  cores: 3-1\n",
      'dataplane.cores: must be a CPU list such as "0", "0-3" or "0-3,6" (or "" for one unpinned worker) (got "3-1": range "3-1" runs backwards)',
    ],
    [
      "relative path",
      "dataplane:\n  receiveRoot: received\n",
      'dataplane.receiveRoot: must be an absolute path (starting with "/") (got "received")',
    ],
    [
      "bad node name",
      "nodeName: Alpha_1\n",
      'nodeName: must be a name of 1..63 lowercase letters, digits and "-", starting with a letter or digit (got "Alpha_1")',
    ],
    [
      "bad interface",
      "dataplane:\n  iface: eth 0\n",
      "dataplane.iface: must be a network interface name",
    ],
    [
      "section not a mapping",
      "policy: 5\n",
      "policy: must be a mapping of fields (windowBlocks, cc, rateCap, fixedRate, maxPtoBackoff, maxRetries) (got 5)",
    ],
    [
      "fixed rate missing",
      "policy:\n  cc: fixed\n",
      'policy.fixedRate: must be more than 0 bytes/s when policy.cc is "fixed" (got 0)',
    ],
    [
      "xdp without interface",
      "dataplane:\n  backend: xdp\n",
      'dataplane.iface: is required when dataplane.backend is "xdp": name the interface AF_XDP is to take packets from (--iface eth0, or iface: eth0 under dataplane in the config file)',
    ],
    [
      "REST on the control port",
      "rest:\n  listen: 127.0.0.1:7443\n",
      "rest.listen: must not take control.listen's TCP port",
    ],
  ])("%s", (_what, yaml, message) => {
    const err = thrown(() => load(yaml));
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toContain(`config file ${paths.configFile} has a bad value:`);
    expect(err.message).toContain(message);
    expect(err.hint).toContain("fix the fields named above");
  });

  it("reports every bad field at once, one line each", () => {
    const err = thrown(() =>
      load("dataplane:\n  mtu: 1\n  backend: tcp\npolicy:\n  cc: 7\nx: 1\n"),
    );
    expect(err.message).toContain("has 4 bad values:");
    const lines = err.message.split("\n").slice(1);
    expect(lines.map((l) => l.trim().split(":")[0]).sort()).toEqual([
      "dataplane.backend",
      "dataplane.mtu",
      "policy.cc",
      "x",
    ]);
    expect(lines).toHaveLength(4);
  });

  it("a YAML syntax error names the line", () => {
    const err = thrown(() => load('nodeName: alpha\ndataplane:\n  mtu: 1500\n  cores: "0" x\n'));
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toMatch(
      new RegExp(`config file ${paths.configFile}: YAML syntax error at line \\d+`),
    );
    expect(err.message).toContain("at line 4, column 14: Unexpected scalar");
    expect(err.hint).toContain("fix the YAML");
  });

  it("a key given twice is a YAML error naming its line", () => {
    const err = thrown(() => load("logLevel: info\nlogLevel: debug\n"));
    expect(err.message).toContain("YAML syntax error at line 2");
  });

  it("a document that is not a mapping is refused", () => {
    expect(thrown(() => load("- a\n- b\n")).message).toContain(
      "the top level must be a mapping of fields (key: value), not a list",
    );
  });
});

describe("overrides", () => {
  it("apply over the file and the defaults", () => {
    const c = load("dataplane:\n  mtu: 1400\n  cores: '0'\n", {
      dataplane: { mtu: 9000, backend: "udp", iface: undefined },
      logLevel: "debug",
    });
    expect(c.dataplane.mtu).toBe(9000);
    expect(c.dataplane.cores).toBe("0");
    expect(c.dataplane).not.toHaveProperty("iface");
    expect(c.logLevel).toBe("debug");
  });

  it("are validated, and the error names them as the source", () => {
    const err = thrown(() => load(undefined, { dataplane: { mtu: 100 } }));
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toContain("command-line options has a bad value:");
    expect(err.message).toContain("dataplane.mtu: must be a whole number in 576..65507 (got 100)");
  });

  it("the file is checked before the overrides and blamed for its own errors", () => {
    const err = thrown(() => load("dataplane:\n  mtu: 1\n", { dataplane: { mtu: 1500 } }));
    expect(err.message).toContain(`config file ${paths.configFile} has a bad value`);
  });

  it("can meet a rule between fields that the file alone breaks", () => {
    const c = load("dataplane:\n  backend: xdp\n", { dataplane: { iface: "veth0" } });
    expect(c.dataplane).toMatchObject({ backend: "xdp", iface: "veth0" });
  });

  it("a rule broken by file and overrides together names both", () => {
    const err = thrown(() => load("policy:\n  cc: fixed\n", { logLevel: "warn" }));
    expect(err.message).toContain(`config file ${paths.configFile} with command-line options`);
    expect(err.message).toContain("policy.fixedRate");
  });
});
