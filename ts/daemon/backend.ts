/**
 * The data plane's packet I/O as the operator sees it: the status the API
 * reports and the line the daemon logs, both from a BACKEND event (the
 * counts in it go to the metrics, ts/metrics.ts).
 */

import type { BackendEvent } from "../dataplane/messages.js";
import type { BackendStatus } from "./types.js";

/** The status of a BACKEND event, with the configured cores. */
export function backendStatus(e: BackendEvent, cores: string): BackendStatus {
  return {
    kind: e.kind,
    ...(e.kind === "xdp" ? { ifname: e.ifname } : {}),
    ...(e.xdpMode !== null ? { xdpMode: e.xdpMode } : {}),
    zeroCopy: e.zeroCopy,
    queues: e.queues,
    hugepages: e.hugepages,
    cores,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * One line on what the data plane got, e.g. "xdp on eth0, native mode, copy
 * mode (not zero-copy), 1 queue, UMEM in normal pages".
 */
export function describeBackend(b: Omit<BackendStatus, "cores">): string {
  if (b.kind === "udp") return `udp (kernel sockets), ${plural(b.queues, "socket")}`;
  return [
    `xdp on ${b.ifname ?? "?"}`,
    `${b.xdpMode ?? "unknown"} mode`,
    b.zeroCopy ? "zero-copy" : "copy mode (not zero-copy)",
    plural(b.queues, "queue"),
    `UMEM in ${b.hugepages ? "hugepages" : "normal pages"}`,
  ].join(", ");
}

/**
 * The running data plane's packet I/O as it last reported it. Each process
 * reports it after READY and then every second; the first report of each
 * process is logged (a restarted one may get another mode, e.g. generic
 * where native failed), the later ones only refresh the counts.
 */
export class BackendReport {
  private event: BackendEvent | undefined;
  private logged = false;

  constructor(
    private readonly cores: string,
    private readonly log: (status: BackendStatus, line: string) => void,
  ) {}

  update(e: BackendEvent): void {
    this.event = e;
    if (this.logged) return;
    this.logged = true;
    const status = backendStatus(e, this.cores);
    this.log(status, `data plane: ${describeBackend(status)}`);
  }

  /** The data plane went away or a new one started: what it reported no longer holds. */
  clear(): void {
    this.event = undefined;
    this.logged = false;
  }

  get latest(): BackendEvent | undefined {
    return this.event;
  }

  status(): BackendStatus | undefined {
    return this.event === undefined ? undefined : backendStatus(this.event, this.cores);
  }
}
