// SPDX-License-Identifier: Apache-2.0
/**
 * BACKEND events for tests: the UDP backend with nothing counted, or what the
 * caller changes of it (an xdp one: `backendEvent({ kind: "xdp", xdpMode:
 * "native", ifname: "eth0" })`).
 */
import type { BackendEvent } from "../dataplane/messages.js";

export function backendEvent(changes: Partial<Omit<BackendEvent, "type">> = {}): BackendEvent {
  return {
    type: "BACKEND",
    kind: "udp",
    xdpMode: null,
    zeroCopy: false,
    hugepages: false,
    queues: 4,
    ifname: "",
    wakeups: 0,
    noNeighbour: 0,
    handedOff: 0,
    handoffDropped: 0,
    reasons: {},
    refused: {},
    ...changes,
  };
}
