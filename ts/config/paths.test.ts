import { describe, expect, it } from "vitest";

import { configPaths, resolveConfigDir } from "./paths.js";

describe("config directory resolution", () => {
  const env = { PFS_CONFIG_DIR: "/env/dir" };

  it("the --config-dir flag wins over the environment and root", () => {
    expect(resolveConfigDir({ flag: "/flag/dir", env, uid: 0, home: "/home/u" })).toBe("/flag/dir");
  });

  it("PFS_CONFIG_DIR is used when no flag is given, also as root", () => {
    expect(resolveConfigDir({ env, uid: 0, home: "/home/u" })).toBe("/env/dir");
  });

  it("root without flag or environment uses /etc/packetfs", () => {
    expect(resolveConfigDir({ env: {}, uid: 0, home: "/root" })).toBe("/etc/packetfs");
  });

  it("another user uses ~/.config/packetfs", () => {
    expect(resolveConfigDir({ env: {}, uid: 1000, home: "/home/u" })).toBe(
      "/home/u/.config/packetfs",
    );
  });

  it("empty flag and empty variable count as unset", () => {
    expect(resolveConfigDir({ flag: "", env: { PFS_CONFIG_DIR: "" }, uid: 1000, home: "/h" })).toBe(
      "/h/.config/packetfs",
    );
  });

  it("a relative flag becomes absolute", () => {
    expect(resolveConfigDir({ flag: "rel/dir", env: {} })).toBe(`${process.cwd()}/rel/dir`);
  });
});

describe("config paths", () => {
  it("lays out the directory's files at fixed names", () => {
    const p = configPaths("/x/pfs/");
    expect(p).toEqual({
      dir: "/x/pfs",
      configFile: "/x/pfs/config.yaml",
      identityDir: "/x/pfs/identity",
      keyFile: "/x/pfs/identity/key.pem",
      certFile: "/x/pfs/identity/cert.pem",
      peersFile: "/x/pfs/peers.yaml",
      tokenFile: "/x/pfs/token",
      stateDir: "/x/pfs/state",
      logDir: "/x/pfs/state/logs",
      receiveDir: "/x/pfs/received",
    });
    expect(Object.isFrozen(p)).toBe(true);
  });
});
