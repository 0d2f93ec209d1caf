import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import type { SessionCounters } from "./dataplane/counters.js";
import { type BackendEvent, decodeEvent } from "./dataplane/messages.js";
import { createMetrics } from "./metrics.js";
import { TOKEN, testApp } from "./testing/api-app.js";
import { FakeDaemon, counters } from "./testing/fake-daemon.js";
import { backendEvent } from "./testing/backend.js";

interface Family {
  help: string;
  type: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP,
 * a TYPE or a sample of the family announced last; throws on anything else.
 */
function parseExposition(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  let current: { name: string; family: Family } | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m !== null) {
      const family = { help: m[2] as string, type: "", samples: [] };
      current = { name: m[1] as string, family };
      if (out.has(current.name)) throw new Error(`family ${current.name} twice`);
      out.set(current.name, family);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m !== null) {
      if (current === undefined || current.name !== m[1])
        throw new Error(`TYPE without HELP: ${line}`);
      current.family.type = m[2] as string;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || current === undefined || m[1] !== current.name) {
      throw new Error(`not a sample of ${current?.name}: ${line}`);
    }
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`bad value: ${line}`);
    current.family.samples.push({ labels, value });
  }
  return out;
}

function value(
  fams: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return fams
    .get(name)
    ?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function session(
  id: bigint,
  state: string,
  values: Parameters<typeof counters>[0],
): SessionCounters {
  return { sessionId: id, state, worker: 0, counters: counters(values) };
}

/** alpha has two sessions (a removed one and a live one), bravo one, and one is nobody's. */
function running(): FakeDaemon {
  const d = new FakeDaemon({ peers: ["alpha", "bravo"] });
  d.sessionPeers.set(7n, "alpha");
  d.restarts = 2;
  d.snapshot = {
    workers: [],
    total: counters({ sessions: 3, transfersActive: 1, authFailures: 9 }),
    sessions: [
      session(7n, "removed", {
        wireBytesSent: 100,
        payloadBytesSent: 400,
        pointerBytesSent: 300,
        srttNs: 9e9,
      }),
      session(1000n, "up", {
        wireBytesSent: 1000,
        wireBytesReceived: 50,
        payloadBytesSent: 4000,
        pointerBytesSent: 3000,
        literalBytesSent: 1000,
        packetsSent: 10,
        retransmitBytes: 64,
        authFailures: 2,
        srttNs: 1_500_000,
        minRttNs: 1_000_000,
        cwndBytes: 65536,
        blobFillBytes: 1 << 20,
      }),
      session(1001n, "up", { wireBytesSent: 5, srttNs: 2_000_000 }),
      session(99n, "up", { wireBytesSent: 1 }),
    ],
  };
  return d;
}

describe("metrics", () => {
  it("render in a format Prometheus parses, counters as counters named …_total", async () => {
    const fams = parseExposition(await createMetrics(running()).scrape());
    expect(fams.size).toBeGreaterThan(20);
    for (const [name, f] of fams) {
      expect(f.type, name).toMatch(/^(counter|gauge)$/);
      expect(name.startsWith("packetfs_"), name).toBe(true);
      expect(name.endsWith("_total"), name).toBe(f.type === "counter");
      expect(f.help.length, name).toBeGreaterThan(5);
    }
  });

  it("label per-peer series with the peer, adding up its sessions", async () => {
    const fams = parseExposition(await createMetrics(running()).scrape());
    const wire = (peer: string, direction: string) =>
      value(fams, "packetfs_wire_bytes_total", { peer, direction });
    expect(wire("alpha", "sent")).toBe(1100);
    expect(wire("alpha", "received")).toBe(50);
    expect(wire("bravo", "sent")).toBe(5);
    expect(wire("(unknown)", "sent")).toBe(1);
    expect(value(fams, "packetfs_pointer_bytes_total", { peer: "alpha", direction: "sent" })).toBe(
      3300,
    );
    expect(value(fams, "packetfs_literal_bytes_total", { peer: "alpha", direction: "sent" })).toBe(
      1000,
    );
    expect(value(fams, "packetfs_packets_total", { peer: "alpha", direction: "sent" })).toBe(10);
    expect(value(fams, "packetfs_retransmitted_bytes_total", { peer: "alpha" })).toBe(64);
    expect(value(fams, "packetfs_auth_failures_total", { peer: "alpha" })).toBe(2);
    expect(value(fams, "packetfs_blob_fill_bytes", { peer: "alpha" })).toBe(1 << 20);
    expect(value(fams, "packetfs_dedup_ratio", { peer: "alpha" })).toBeCloseTo(3300 / 4400);
    expect(value(fams, "packetfs_dedup_ratio", { peer: "bravo" })).toBeUndefined();
  });

  it("take RTT and cwnd from live sessions only, in seconds and bytes", async () => {
    const fams = parseExposition(await createMetrics(running()).scrape());
    expect(value(fams, "packetfs_srtt_seconds", { peer: "alpha" })).toBeCloseTo(0.0015, 9);
    expect(value(fams, "packetfs_min_rtt_seconds", { peer: "alpha" })).toBeCloseTo(0.001, 9);
    expect(value(fams, "packetfs_srtt_seconds", { peer: "bravo" })).toBeCloseTo(0.002, 9);
    expect(value(fams, "packetfs_cwnd_bytes", { peer: "alpha" })).toBe(65536);
  });

  it("report the data plane up, its restarts, sessions and transfers by state", async () => {
    const d = running();
    await d.send({ sources: ["/data/a.bin"], peer: "alpha", dest: "" });
    const fams = parseExposition(await createMetrics(d).scrape());
    expect(value(fams, "packetfs_dataplane_up")).toBe(1);
    expect(value(fams, "packetfs_dataplane_restarts_total")).toBe(2);
    expect(value(fams, "packetfs_dataplane_sessions")).toBe(3);
    expect(value(fams, "packetfs_dataplane_transfers_active")).toBe(1);
    expect(value(fams, "packetfs_dataplane_auth_failures_total")).toBe(9);
    expect(value(fams, "packetfs_sessions", { state: "up" })).toBe(2);
    expect(value(fams, "packetfs_sessions", { state: "failed" })).toBe(0);
    expect(value(fams, "packetfs_transfers", { state: "queued" })).toBe(1);
    expect(value(fams, "packetfs_transfers", { state: "running" })).toBe(0);
  });

  it("drop the per-peer series and report dataplane_up 0 while counters() is undefined", async () => {
    const d = running();
    const metrics = createMetrics(d);
    parseExposition(await metrics.scrape());
    d.snapshot = undefined;
    const fams = parseExposition(await metrics.scrape());
    expect(value(fams, "packetfs_dataplane_up")).toBe(0);
    for (const name of [
      "packetfs_wire_bytes_total",
      "packetfs_srtt_seconds",
      "packetfs_dedup_ratio",
    ]) {
      expect(fams.get(name)?.samples, name).toEqual([]);
    }
    // a stopped data plane holds no sessions and runs no transfers
    expect(value(fams, "packetfs_dataplane_sessions")).toBe(0);
    expect(value(fams, "packetfs_dataplane_transfers_active")).toBe(0);
    expect(value(fams, "packetfs_sessions", { state: "up" })).toBe(2);
  });

  it("follow the counters from one scrape to the next, resets included", async () => {
    const d = running();
    const metrics = createMetrics(d);
    const sent = async () =>
      value(parseExposition(await metrics.scrape()), "packetfs_wire_bytes_total", {
        peer: "bravo",
        direction: "sent",
      });
    expect(await sent()).toBe(5);
    const bravo = d.snapshot?.sessions[2];
    if (bravo === undefined) throw new Error("no session");
    bravo.counters.wireBytesSent = 500;
    expect(await sent()).toBe(500);
    bravo.counters.wireBytesSent = 3; // the data plane restarted
    expect(await sent()).toBe(3);
  });

  it("read the counters once per scrape", async () => {
    const d = running();
    let reads = 0;
    const read = d.counters.bind(d);
    d.counters = () => {
      reads++;
      return read();
    };
    await createMetrics(d).scrape();
    expect(reads).toBe(1);
  });

  it("use their own registry, so two daemons' metrics do not mix", async () => {
    const a = createMetrics(running());
    const b = createMetrics(new FakeDaemon());
    expect(a.registry).not.toBe(b.registry);
    expect(value(parseExposition(await b.scrape()), "packetfs_dataplane_up")).toBe(0);
    expect(value(parseExposition(await a.scrape()), "packetfs_dataplane_up")).toBe(1);
  });

  it("are served by the app at /metrics", async () => {
    const t = testApp();
    t.daemon.snapshot = running().snapshot;
    const res = await t.app.inject({
      url: "/metrics",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const fams = parseExposition(res.body);
    expect(value(fams, "packetfs_wire_bytes_total", { peer: "alpha", direction: "sent" })).toBe(
      1000,
    );
  });
});

/** The BACKEND event the C encoder wrote (xdp on eth0, generic, zero-copy, hugepages, 2 queues). */
function cBackend(): BackendEvent {
  const e = decodeEvent(
    new Uint8Array(
      readFileSync(new URL("../test/fuzz/corpus/ring_msg/valid_backend", import.meta.url)),
    ),
  );
  if (e.type !== "BACKEND") throw new Error("not a BACKEND event");
  return e;
}

const udp: BackendEvent = backendEvent();

const XDP_BY_REASON = ["packetfs_xdp_packets_total", "packetfs_xdp_refused_frames_total"];
const XDP_TOTALS = [
  "packetfs_xdp_no_neighbour_drops_total",
  "packetfs_xdp_handoffs_total",
  "packetfs_xdp_handoff_drops_total",
  "packetfs_xdp_wakeups_total",
];
const XDP_FAMILIES = [...XDP_BY_REASON, ...XDP_TOTALS];

describe("metrics of the packet I/O (BACKEND events)", () => {
  it("describe the xdp backend and export its counts, by reason name", async () => {
    const d = running();
    d.backendEvent = cBackend();
    const fams = parseExposition(await createMetrics(d).scrape());
    expect(fams.get("packetfs_dataplane_backend_info")?.samples).toEqual([
      {
        labels: {
          kind: "xdp",
          ifname: "eth0",
          xdp_mode: "generic",
          zero_copy: "true",
          hugepages: "true",
        },
        value: 1,
      },
    ]);
    expect(fams.get("packetfs_dataplane_backend_info")?.type).toBe("gauge");
    expect(value(fams, "packetfs_dataplane_queues")).toBe(2);
    const packets = (reason: string) => value(fams, "packetfs_xdp_packets_total", { reason });
    expect(packets("redirected")).toBe(1);
    expect(packets("pass_no_xsk")).toBe(1001);
    expect(packets("vlan_stack")).toBe(9001);
    expect(fams.get("packetfs_xdp_packets_total")?.samples).toHaveLength(10);
    const refused = (reason: string) =>
      value(fams, "packetfs_xdp_refused_frames_total", { reason });
    expect(refused("ok")).toBe(5);
    expect(refused("wrong_dest")).toBe(7 * 2 ** 33 + 5);
    expect(fams.get("packetfs_xdp_refused_frames_total")?.samples).toHaveLength(8);
    expect(value(fams, "packetfs_xdp_no_neighbour_drops_total")).toBe(7);
    expect(value(fams, "packetfs_xdp_handoffs_total")).toBe(123456789012);
    expect(value(fams, "packetfs_xdp_handoff_drops_total")).toBe(3);
    expect(value(fams, "packetfs_xdp_wakeups_total")).toBe(1000001);
    for (const name of XDP_FAMILIES) expect(fams.get(name)?.type, name).toBe("counter");
  });

  it("export a code this build does not name under code_N", async () => {
    const d = running();
    d.backendEvent = { ...cBackend(), reasons: { redirected: 3, code_12: 4 } };
    const fams = parseExposition(await createMetrics(d).scrape());
    expect(value(fams, "packetfs_xdp_packets_total", { reason: "code_12" })).toBe(4);
  });

  it("describe the udp backend, with no xdp counts", async () => {
    const d = running();
    d.backendEvent = udp;
    const fams = parseExposition(await createMetrics(d).scrape());
    expect(fams.get("packetfs_dataplane_backend_info")?.samples).toEqual([
      {
        labels: { kind: "udp", ifname: "", xdp_mode: "", zero_copy: "false", hugepages: "false" },
        value: 1,
      },
    ]);
    expect(value(fams, "packetfs_dataplane_queues")).toBe(4);
    // as the data plane's other unlabelled totals, the xdp ones read 0 when there are none
    for (const name of XDP_BY_REASON) expect(fams.get(name)?.samples, name).toEqual([]);
    for (const name of XDP_TOTALS) expect(value(fams, name), name).toBe(0);
  });

  it("follow the cumulative counts, a restarted data plane's included, and drop them while it is down", async () => {
    const d = running();
    const metrics = createMetrics(d);
    const wakeups = async () =>
      value(parseExposition(await metrics.scrape()), "packetfs_xdp_wakeups_total");
    d.backendEvent = { ...cBackend(), wakeups: 10 };
    expect(await wakeups()).toBe(10);
    d.backendEvent = { ...cBackend(), wakeups: 250 };
    expect(await wakeups()).toBe(250);
    d.backendEvent = { ...cBackend(), wakeups: 2 }; // a new process counts from 0
    expect(await wakeups()).toBe(2);
    d.snapshot = undefined; // the data plane is down: no backend to describe
    const fams = parseExposition(await metrics.scrape());
    for (const name of ["packetfs_dataplane_backend_info", ...XDP_BY_REASON]) {
      expect(fams.get(name)?.samples, name).toEqual([]);
    }
    for (const name of ["packetfs_dataplane_queues", ...XDP_TOTALS]) {
      expect(value(fams, name), name).toBe(0);
    }
  });

  it("read the packet I/O once per scrape", async () => {
    const d = running();
    d.backendEvent = cBackend();
    let reads = 0;
    const read = d.backend.bind(d);
    d.backend = () => {
      reads++;
      return read();
    };
    await createMetrics(d).scrape();
    expect(reads).toBe(1);
  });
});

describe("deploy/grafana-dashboard.json", () => {
  it("queries only metrics the daemon exposes", async () => {
    const dashboard = readFileSync(
      new URL("../deploy/grafana-dashboard.json", import.meta.url),
      "utf8",
    );
    const used = new Set(dashboard.match(/packetfs_[a-z_]+/g));
    const exposed = parseExposition(await createMetrics(running()).scrape());
    expect(used.size).toBeGreaterThan(20);
    for (const name of used) expect(exposed.has(name), name).toBe(true);
  });
});
