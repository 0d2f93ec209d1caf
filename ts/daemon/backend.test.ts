import { describe, expect, it } from "vitest";

import type { BackendEvent } from "../dataplane/messages.js";
import { BackendReport, backendStatus, describeBackend } from "./backend.js";
import type { BackendStatus } from "./types.js";

const xdp: BackendEvent = {
  type: "BACKEND",
  kind: "xdp",
  xdpMode: "native",
  zeroCopy: false,
  hugepages: false,
  queues: 1,
  ifname: "eth0",
  wakeups: 10,
  noNeighbour: 0,
  handedOff: 0,
  handoffDropped: 0,
  reasons: { redirected: 5 },
  refused: {},
};

const udp: BackendEvent = {
  ...xdp,
  kind: "udp",
  xdpMode: null,
  queues: 2,
  ifname: "",
  wakeups: 0,
  reasons: {},
};

describe("backend status", () => {
  it("is the event's packet I/O and the configured cores, without the counts", () => {
    expect(backendStatus({ ...xdp, zeroCopy: true, hugepages: true, queues: 4 }, "2-5")).toEqual({
      kind: "xdp",
      ifname: "eth0",
      xdpMode: "native",
      zeroCopy: true,
      queues: 4,
      hugepages: true,
      cores: "2-5",
    });
  });

  it("has no interface or XDP mode for udp", () => {
    expect(backendStatus(udp, "")).toEqual({
      kind: "udp",
      zeroCopy: false,
      queues: 2,
      hugepages: false,
      cores: "",
    });
  });

  it("reads as one line", () => {
    expect(describeBackend(backendStatus(xdp, ""))).toBe(
      "xdp on eth0, native mode, copy mode (not zero-copy), 1 queue, UMEM in normal pages",
    );
    expect(
      describeBackend(
        backendStatus(
          { ...xdp, xdpMode: "generic", zeroCopy: true, hugepages: true, queues: 8 },
          "",
        ),
      ),
    ).toBe("xdp on eth0, generic mode, zero-copy, 8 queues, UMEM in hugepages");
    expect(describeBackend(backendStatus(udp, ""))).toBe("udp (kernel sockets), 2 sockets");
  });
});

describe("BackendReport", () => {
  function report() {
    const lines: [BackendStatus, string][] = [];
    const r = new BackendReport("3", (status, line) => lines.push([status, line]));
    return { r, lines };
  }

  it("keeps the latest event and logs the first of each data-plane process", () => {
    const { r, lines } = report();
    expect(r.latest).toBeUndefined();
    expect(r.status()).toBeUndefined();
    r.update(xdp);
    r.update({ ...xdp, wakeups: 99 });
    expect(r.latest?.wakeups).toBe(99);
    expect(r.status()).toMatchObject({ kind: "xdp", ifname: "eth0", cores: "3" });
    expect(lines).toEqual([
      [
        backendStatus(xdp, "3"),
        "data plane: xdp on eth0, native mode, copy mode (not zero-copy), 1 queue, UMEM in normal pages",
      ],
    ]);
    // the data plane restarts and gets generic mode this time
    r.clear();
    expect(r.latest).toBeUndefined();
    r.update({ ...xdp, xdpMode: "generic" });
    expect(lines).toHaveLength(2);
    expect(lines[1]?.[1]).toMatch(/^data plane: xdp on eth0, generic mode/);
  });
});
