/**
 * Prometheus metrics of the daemon, read from the data plane's counters page on
 * each scrape (collect callbacks; nothing runs between scrapes). Per-peer series
 * carry a {peer} label (session id -> peer through daemon.peerOfSession); the
 * sessions of one peer add up. While the data plane is down, the per-peer series
 * are absent, packetfs_dataplane_up is 0 and the data plane's unlabelled totals
 * read 0 (a stopped data plane holds no sessions; its counters restart at 0).
 *
 * Types: the data plane's counters only ever grow while it runs and start at 0
 * when it restarts (or a session is made anew), which is exactly a Prometheus
 * counter with resets, so they are prom-client Counters set on each scrape by
 * reset() + inc(absolute value); rate() and increase() then handle restarts.
 * A Gauge would make rate() wrong across a restart. Values the data plane marks
 * "gauge" (RTT, cwnd, ...) are Gauges. Units are base units: seconds, bytes.
 *
 * The packet I/O (the data plane's last BACKEND event, daemon.backend()) gives
 * an info gauge and, for AF_XDP, cumulative counts treated the same way: the
 * info and the series by reason are absent while there is no such report, the
 * unlabelled ones read 0.
 */

import { Counter, Gauge, Registry } from "prom-client";

import type { Daemon } from "./daemon/types.js";
import type { CounterName, CounterSnapshot, Counters } from "./dataplane/counters.js";
import type { BackendEvent } from "./dataplane/messages.js";

/** Sent/received pairs, exposed as one counter with a {direction} label. */
const DIRECTIONAL: readonly [string, string, CounterName, CounterName][] = [
  [
    "wire_bytes",
    "UDP payload bytes, headers and tags included",
    "wireBytesSent",
    "wireBytesReceived",
  ],
  ["payload_bytes", "File bytes the blocks stand for", "payloadBytesSent", "payloadBytesReceived"],
  [
    "pointer_bytes",
    "Payload bytes carried as pointers into the blob",
    "pointerBytesSent",
    "pointerBytesReceived",
  ],
  [
    "literal_bytes",
    "Payload bytes carried as literals",
    "literalBytesSent",
    "literalBytesReceived",
  ],
  ["packets", "Packets", "packetsSent", "packetsReceived"],
];

const COUNTERS: readonly [string, string, CounterName][] = [
  ["retransmitted_bytes", "Wire bytes sent again after a loss", "retransmitBytes"],
  ["retransmitted_packets", "Packets sent again after a loss", "retransmitPackets"],
  ["auth_failures", "Received packets that failed authentication", "authFailures"],
  ["replayed_packets", "Received packets dropped as replays", "replayed"],
  ["malformed_packets", "Received packets dropped as malformed", "malformed"],
  [
    "pointer_check_failures",
    "Blocks whose pointed-to bytes differed from the sender's",
    "pointerCheckFailures",
  ],
  ["blocks_applied", "Blocks written to the receive log", "blocksApplied"],
  ["block_repairs", "Blocks sent again as literals after a failed pointer check", "blockRepairs"],
  ["files_committed", "Files received, checked and renamed into place", "filesCommitted"],
  ["file_digest_failures", "Received files whose digest did not match", "fileDigestFailures"],
];

/** Counts of the AF_XDP backend, unlabelled: [name, help, field of the BACKEND event]. */
const XDP_COUNTS: readonly [
  string,
  string,
  "noNeighbour" | "handedOff" | "handoffDropped" | "wakeups",
][] = [
  [
    "xdp_no_neighbour_drops",
    "Frames the xdp backend dropped while the next hop's MAC address was being resolved",
    "noNeighbour",
  ],
  [
    "xdp_handoffs",
    "Datagrams an xdp worker passed to the worker owning their session",
    "handedOff",
  ],
  [
    "xdp_handoff_drops",
    "Datagrams dropped because the owning worker's hand-off ring was full",
    "handoffDropped",
  ],
  ["xdp_wakeups", "Kicks of the AF_XDP rings (sendto/recvfrom system calls)", "wakeups"],
];

/** Counts of the AF_XDP backend by reason: [name, help, field of the BACKEND event]. */
const XDP_REASONS: readonly [string, string, "reasons" | "refused"][] = [
  [
    "xdp_packets",
    "Packets the XDP program saw on the interface, by what it did: redirected to the data plane, or why it passed them to the kernel",
    "reasons",
  ],
  [
    "xdp_refused_frames",
    "Frames the xdp backend received and refused, by reason (ok is never counted)",
    "refused",
  ],
];

type Combine = "sum" | "max" | "min";

/** [name, help, counter, scale to base unit, how sessions of a peer combine, live sessions only] */
const GAUGES: readonly [string, string, CounterName, number, Combine, boolean][] = [
  ["srtt_seconds", "Smoothed round-trip time", "srttNs", 1e-9, "max", true],
  ["min_rtt_seconds", "Minimum round-trip time seen", "minRttNs", 1e-9, "min", true],
  ["cwnd_bytes", "Congestion window", "cwndBytes", 1, "sum", true],
  ["pacing_rate_bytes_per_second", "Pacing rate", "pacingRate", 1, "sum", true],
  ["bytes_in_flight", "Bytes sent and not yet acknowledged", "bytesInFlight", 1, "sum", true],
  ["blob_fill_bytes", "Bytes held in the peer's tx and rx logs", "blobFillBytes", 1, "max", false],
];

const LIVE = new Set(["starting", "up"]);
const SESSION_STATES = ["starting", "up", "down", "failed", "removed"] as const;
const TRANSFER_STATES = ["queued", "running", "done", "failed", "cancelled"] as const;
/** label of sessions whose peer the daemon does not know (cannot be a peer name) */
export const UNKNOWN_PEER = "(unknown)";

interface PeerSample {
  all: Counters[];
  live: Counters[];
}

/** What one scrape reads: the snapshot and its sessions grouped by peer, and the packet I/O. */
interface Sample {
  snapshot: CounterSnapshot | undefined;
  peers: Map<string, PeerSample>;
  backend: BackendEvent | undefined;
}

function takeSample(daemon: Daemon): Sample {
  const snapshot = daemon.counters();
  const backend = daemon.backend();
  const peers = new Map<string, PeerSample>();
  for (const s of snapshot?.sessions ?? []) {
    const peer = daemon.peerOfSession(s.sessionId) ?? UNKNOWN_PEER;
    let p = peers.get(peer);
    if (p === undefined) peers.set(peer, (p = { all: [], live: [] }));
    p.all.push(s.counters);
    if (LIVE.has(s.state)) p.live.push(s.counters);
  }
  return { snapshot, peers, backend };
}

function combine(values: number[], how: Combine): number {
  if (how === "sum") return values.reduce((a, b) => a + b, 0);
  return how === "max" ? Math.max(...values) : Math.min(...values);
}

const sum = (cs: Counters[], name: CounterName) => cs.reduce((a, c) => a + c[name], 0);

export interface Metrics {
  registry: Registry;
  /** Content-Type of scrape()'s text. */
  contentType: string;
  /** Reads the counters once and renders every metric in the text format. */
  scrape(): Promise<string>;
}

/** A registry (not prom-client's global one) whose metrics come from `daemon`. */
export function createMetrics(daemon: Daemon): Metrics {
  const registry = new Registry();
  // One sample serves all metrics of a scrape(); a collect outside scrape()
  // (registry.metrics() called directly) reads its own.
  let current: Sample | undefined;
  const sample = () => current ?? takeSample(daemon);
  const n = (name: string) => `packetfs_${name}`;

  new Gauge({
    name: n("dataplane_up"),
    help: "1 while the data plane runs and its counters can be read, else 0",
    registers: [registry],
    collect() {
      this.set(sample().snapshot === undefined ? 0 : 1);
    },
  });
  new Counter({
    name: n("dataplane_restarts_total"),
    help: "Times the daemon restarted the data plane",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(daemon.health().dataplane.restarts);
    },
  });
  const dataplaneGauge = (name: string, help: string, counter: CounterName) =>
    new Gauge({
      name: n(name),
      help,
      registers: [registry],
      collect() {
        this.reset();
        const snap = sample().snapshot;
        if (snap !== undefined) this.set(snap.total[counter]);
      },
    });
  dataplaneGauge("dataplane_sessions", "Sessions the data plane's workers hold", "sessions");
  dataplaneGauge("dataplane_transfers_active", "Transfers the workers run", "transfersActive");
  new Counter({
    name: n("dataplane_auth_failures_total"),
    help: "Packets that failed authentication, on all workers (also those of no session)",
    registers: [registry],
    collect() {
      this.reset();
      const snap = sample().snapshot;
      if (snap !== undefined) this.inc(snap.total.authFailures);
    },
  });

  new Gauge({
    name: n("dataplane_backend_info"),
    help: "1, labelled with the data plane's packet I/O: udp or xdp, and for xdp its interface, attach mode, zero-copy and hugepages",
    labelNames: ["kind", "ifname", "xdp_mode", "zero_copy", "hugepages"],
    registers: [registry],
    collect() {
      this.reset();
      const b = sample().backend;
      if (b === undefined) return;
      this.set(
        {
          kind: b.kind,
          ifname: b.ifname,
          xdp_mode: b.xdpMode ?? "",
          zero_copy: String(b.zeroCopy),
          hugepages: String(b.hugepages),
        },
        1,
      );
    },
  });
  new Gauge({
    name: n("dataplane_queues"),
    help: "AF_XDP sockets of the xdp backend (one per receive queue), or sockets of the udp backend",
    registers: [registry],
    collect() {
      this.reset();
      const b = sample().backend;
      if (b !== undefined) this.set(b.queues);
    },
  });
  const xdp = () => {
    const b = sample().backend;
    return b?.kind === "xdp" ? b : undefined;
  };
  for (const [name, help, field] of XDP_COUNTS) {
    new Counter({
      name: n(`${name}_total`),
      help,
      registers: [registry],
      collect() {
        this.reset();
        const b = xdp();
        if (b !== undefined) this.inc(b[field]);
      },
    });
  }
  for (const [name, help, field] of XDP_REASONS) {
    new Counter({
      name: n(`${name}_total`),
      help,
      labelNames: ["reason"],
      registers: [registry],
      collect() {
        this.reset();
        const b = xdp();
        for (const [reason, v] of Object.entries(b?.[field] ?? {})) this.inc({ reason }, v);
      },
    });
  }

  new Gauge({
    name: n("sessions"),
    help: "Sessions the daemon knows, by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const count = new Map<string, number>(SESSION_STATES.map((s) => [s, 0]));
      for (const s of daemon.sessions()) count.set(s.state, (count.get(s.state) ?? 0) + 1);
      this.reset();
      for (const [state, v] of count) this.set({ state }, v);
    },
  });
  new Gauge({
    name: n("transfers"),
    help: "Transfers the daemon knows, by state (queued and running are active)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const count = new Map<string, number>(TRANSFER_STATES.map((s) => [s, 0]));
      for (const t of daemon.transfers()) count.set(t.state, (count.get(t.state) ?? 0) + 1);
      this.reset();
      for (const [state, v] of count) this.set({ state }, v);
    },
  });

  for (const [name, help, sent, received] of DIRECTIONAL) {
    new Counter({
      name: n(`${name}_total`),
      help: `${help}, per peer and direction`,
      labelNames: ["peer", "direction"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [peer, p] of sample().peers) {
          this.inc({ peer, direction: "sent" }, sum(p.all, sent));
          this.inc({ peer, direction: "received" }, sum(p.all, received));
        }
      },
    });
  }
  for (const [name, help, counter] of COUNTERS) {
    new Counter({
      name: n(`${name}_total`),
      help: `${help}, per peer`,
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [peer, p] of sample().peers) this.inc({ peer }, sum(p.all, counter));
      },
    });
  }
  for (const [name, help, counter, scale, how, liveOnly] of GAUGES) {
    new Gauge({
      name: n(name),
      help: `${help}, per peer${liveOnly ? " (sessions starting or up)" : ""}`,
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [peer, p] of sample().peers) {
          const from = liveOnly ? p.live : p.all;
          if (from.length > 0)
            this.set(
              { peer },
              combine(
                from.map((c) => c[counter]),
                how,
              ) * scale,
            );
        }
      },
    });
  }
  new Gauge({
    name: n("dedup_ratio"),
    help: "Pointer bytes / payload bytes sent, per peer, over its sessions' lifetime (absent before any payload)",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [peer, p] of sample().peers) {
        const payload = sum(p.all, "payloadBytesSent");
        if (payload > 0) this.set({ peer }, sum(p.all, "pointerBytesSent") / payload);
      }
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    async scrape() {
      const mine = takeSample(daemon);
      current = mine;
      try {
        return await registry.metrics();
      } finally {
        if (current === mine) current = undefined;
      }
    },
  };
}
