import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { loadConfig } from "../config/load.js";
import { configPaths } from "../config/paths.js";
import { settingsFromConfig } from "./settings.js";
import { type SupervisorOptions, dataPlaneArgs } from "./supervisor.js";

const base: SupervisorOptions = {
  region: "/dev/shm/pfs-dp-x",
  receiveRoot: "/srv/in",
  listen: "0.0.0.0:7444",
  onEvent: () => undefined,
  onStart: () => undefined,
  onExit: () => undefined,
  log: () => undefined,
};

describe("pfs-dataplane's arguments", () => {
  it("leave the backend to the data plane's default (udp) when it is udp", () => {
    expect(dataPlaneArgs({ ...base, cores: "2-3", mtu: 9000 })).toEqual([
      "--region",
      "/dev/shm/pfs-dp-x",
      "--receive-root",
      "/srv/in",
      "--listen",
      "0.0.0.0:7444",
      "--cores",
      "2-3",
      "--mtu",
      "9000",
    ]);
  });

  it("name the xdp backend, its interface, mode and copy mode", () => {
    const args = dataPlaneArgs({ ...base, xdp: { iface: "eth0", mode: "native", copy: "copy" } });
    expect(args.slice(6)).toEqual([
      "--backend",
      "xdp",
      "--iface",
      "eth0",
      "--xdp-mode",
      "native",
      "--xdp-copy",
      "copy",
    ]);
  });

  it("come from the configuration: xdp settings with their defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "pfs-supervisor-"));
    try {
      const paths = configPaths(dir);
      const settings = (over: Parameters<typeof loadConfig>[1]) =>
        settingsFromConfig(loadConfig(paths, over, { hostname: "h" }), paths).dataplane;
      expect(settings({})).not.toHaveProperty("xdp");
      expect(settings({ dataplane: { backend: "xdp", iface: "veth1" } }).xdp).toEqual({
        iface: "veth1",
        mode: "auto",
        copy: "auto",
      });
      const xdp = settings({
        dataplane: { backend: "xdp", iface: "veth1", xdpMode: "generic", xdpCopy: "zerocopy" },
      }).xdp;
      expect(xdp).toEqual({ iface: "veth1", mode: "generic", copy: "zerocopy" });
      // the interface and modes of a config that uses udp do not reach the data plane
      expect(
        settings({ dataplane: { backend: "udp", iface: "veth1", xdpMode: "native" } }),
      ).not.toHaveProperty("xdp");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
