/** The daemon's settings from a validated configuration (ts/config) and its paths. */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { parseHostPort } from "../config/address.js";
import { parseBlobSize } from "../config/formats.js";
import { policyOf } from "../config/load.js";
import type { ConfigPaths } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import type { DaemonSettings } from "./daemon.js";

/** The control region of this configuration's data plane: one per config dir. */
export function regionFor(paths: ConfigPaths): string {
  const tag = createHash("sha256").update(paths.dir).digest("hex").slice(0, 12);
  return join(existsSync("/dev/shm") ? "/dev/shm" : paths.stateDir, `pfs-dp-${tag}`);
}

export function settingsFromConfig(config: Config, paths: ConfigPaths): DaemonSettings {
  const control = parseHostPort(config.control.listen, 7443);
  const dp = parseHostPort(config.dataplane.listen, 7444);
  return {
    nodeName: config.nodeName,
    control: { host: control.host, port: control.port },
    dataplane: {
      host: dp.host,
      port: dp.port,
      cores: config.dataplane.cores,
      mtu: config.dataplane.mtu,
      receiveRoot: config.dataplane.receiveRoot,
      logDir: config.dataplane.logDir,
      blobSize: parseBlobSize(config.dataplane.blobSize),
      region: regionFor(paths),
      // the schema's cross-field check makes iface present with xdp
      ...(config.dataplane.backend === "xdp" && config.dataplane.iface !== undefined
        ? {
            xdp: {
              iface: config.dataplane.iface,
              mode: config.dataplane.xdpMode,
              copy: config.dataplane.xdpCopy,
            },
          }
        : {}),
    },
    policy: policyOf(config),
    keyRotationSeconds: config.keyRotation.intervalSeconds,
  };
}
