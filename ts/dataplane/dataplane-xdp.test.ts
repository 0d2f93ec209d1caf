/**
 * The real pfs-dataplane with --backend xdp, in a network namespace of its
 * own, driven through its control region as the daemon drives it:
 *
 *   namespace pfsx<tag>a                           namespace pfsx<tag>b
 *   pfsx<tag>a0  198.18.77.1/24  ------veth------  pfsx<tag>b0  198.18.77.2/24
 *   pfs-dataplane --backend xdp --iface pfsx<tag>a0 --listen 198.18.77.1:4433
 *
 * It must report READY, then a BACKEND event naming AF_XDP on that
 * interface, and leave no XDP program behind once it has shut down.
 * Addresses come only from the benchmarking range 198.18.0.0/15. Runs only as
 * root, with ip, and once the built data plane has --backend; whatever
 * happens, the namespaces (with their veth ends and any program left on them)
 * and the data plane's lock files for them are removed.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type TestDataPlane, dataPlaneHasOption, startDataPlane } from "../testing/dataplane.js";
import type { BackendEvent } from "./messages.js";

function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function hasIp(): boolean {
  return spawnSync("ip", ["-V"], { encoding: "utf8" }).status === 0;
}

const root = process.getuid?.() === 0;
const why = !root
  ? "needs root (namespaces, veth, XDP)"
  : !hasIp()
    ? "needs ip (iproute2)"
    : !dataPlaneHasOption("--backend")
      ? "build/pfs-dataplane has no --backend yet (cmake --build build)"
      : undefined;

// names unique to this run: interface names are at most 15 bytes
const tag = `${(process.pid % 46656).toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const P = `pfsx${tag}`;
const NS_A = `${P}a`;
const NS_B = `${P}b`;
const IF_A = `${P}a0`;
const IF_B = `${P}b0`;
const IP_A = "198.18.77.1";
const IP_B = "198.18.77.2";
const PORT = 4433;
const LOCK_DIR = "/run/packetfs"; // the data plane's per-interface lock files (io_xdp.c)

/** The ids of XDP programs attached to a device, as `ip -d link show` lists them. */
function xdpProgIds(ns: string, dev: string): string[] {
  const r = spawnSync("ip", ["-n", ns, "-d", "link", "show", "dev", dev], { encoding: "utf8" });
  return [...(r.stdout ?? "").matchAll(/prog\/xdp id (\d+)/g)].map((m) => m[1] as string);
}

/** Removes what this test made, whatever state it is in; never throws. */
function cleanup(made: string[]): void {
  for (const ns of made) {
    for (const dev of [IF_A, IF_B]) {
      for (const id of xdpProgIds(ns, dev)) {
        // a data plane that died without detaching: take its program off
        spawnSync("ip", ["-n", ns, "link", "set", "dev", dev, "xdpgeneric", "off"]);
        spawnSync("ip", ["-n", ns, "link", "set", "dev", dev, "xdpdrv", "off"]);
        spawnSync("sh", ["-c", `rm -rf /sys/fs/bpf/xdp/dispatch-*-${id}`]);
      }
    }
    try {
      const ino = statSync(`/run/netns/${ns}`).ino;
      spawnSync("sh", ["-c", `rm -f ${LOCK_DIR}/xdp-${ino}-*.lock`]);
    } catch {
      /* no such namespace */
    }
    spawnSync("ip", ["netns", "del", ns]);
  }
}

describe.skipIf(why !== undefined)(
  `pfs-dataplane --backend xdp in a network namespace${why ? ` (skipped: ${why})` : ""}`,
  { timeout: 60000 },
  () => {
    const made: string[] = [];
    let dp: TestDataPlane | undefined;
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "pfs-dp-xdp-"));
      for (const ns of [NS_A, NS_B]) {
        ip("netns", "add", ns);
        made.push(ns);
        ip("-n", ns, "link", "set", "lo", "up");
      }
      ip("-n", NS_A, "link", "add", IF_A, "type", "veth", "peer", "name", IF_B, "netns", NS_B);
      ip("-n", NS_A, "addr", "add", `${IP_A}/24`, "dev", IF_A);
      ip("-n", NS_B, "addr", "add", `${IP_B}/24`, "dev", IF_B);
      ip("-n", NS_A, "link", "set", IF_A, "up");
      ip("-n", NS_B, "link", "set", IF_B, "up");
    });

    afterAll(async () => {
      try {
        if (dp && dp.proc.exitCode === null && dp.proc.signalCode === null) await dp.kill();
      } finally {
        cleanup(made);
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("reports AF_XDP on the interface after READY, and detaches its program on SHUTDOWN", async () => {
      dp = await startDataPlane({
        dir,
        netns: NS_A,
        listen: `${IP_A}:${PORT}`,
        args: ["--backend", "xdp", "--iface", IF_A, "--xdp-mode", "auto", "--xdp-copy", "auto"],
      });
      await dp.waitFor((e) => e.type === "READY", 10000);
      const backend = (await dp.waitFor((e) => e.type === "BACKEND", 10000)) as BackendEvent;
      expect(backend).toMatchObject({ type: "BACKEND", kind: "xdp", ifname: IF_A });
      expect(["native", "generic"]).toContain(backend.xdpMode);
      expect(backend.queues).toBeGreaterThanOrEqual(1);
      // every reason the XDP program counts by, named
      expect(Object.keys(backend.reasons)).toContain("redirected");
      expect(Object.keys(backend.refused)).toContain("wrong_dest");
      // BACKEND comes after READY, and again with fresh counts every second
      const types = dp.events.map((e) => e.type);
      expect(types.indexOf("READY")).toBeLessThan(types.indexOf("BACKEND"));
      const next = backend;
      await dp.waitFor((e) => e.type === "BACKEND" && e !== next, 5000);
      expect(xdpProgIds(NS_A, IF_A).length, "the program is attached while it runs").toBe(1);

      const code = await dp.stop();
      expect(code).toBe(0);
      const link = ip("-n", NS_A, "-d", "link", "show", "dev", IF_A);
      expect(link).not.toMatch(/xdp/);
    });
  },
);
