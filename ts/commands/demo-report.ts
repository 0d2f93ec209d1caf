/**
 * What `pfs-dp demo` prints at the end: a table of the two sends (file bytes,
 * wire bytes, time, TCP's time) and one sentence on what it shows, written
 * from the figures rather than hoped for.
 */

export interface Row {
  label: string;
  fileBytes: number;
  wireBytes: number;
  secs: number;
  tcpSecs: number;
  /** PacketFS's receiver checked the digest and the demo compared both copies */
  verified: boolean;
}

/** Decimal megabytes, as the table shows them: "104.2 MB", "0.31 MB". */
export function mb(bytes: number): string {
  const v = bytes / 1e6;
  return `${v.toFixed(v < 10 ? 2 : 1)} MB`;
}

export function formatTable(rows: readonly Row[]): string {
  const head = ["send", "file bytes", "wire bytes", "time", "TCP time"];
  const body = rows.map((r) => [
    r.label,
    mb(r.fileBytes),
    mb(r.wireBytes),
    `${r.secs.toFixed(2)} s`,
    `${r.tcpSecs.toFixed(2)} s`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(width[i] as number) : c.padStart(width[i] as number)))
      .join("   ")
      .trimEnd();
  return [line(head), ...body.map(line)].join("\n") + "\n";
}

/** One honest sentence on what the table shows (`local`: loopback, no emulated link). */
export function verdict(v1: Row, v2: Row, local = false): string {
  const fewer = v2.wireBytes > 0 ? v2.fileBytes / v2.wireBytes : Infinity;
  const times = `${fewer >= 10 ? Math.round(fewer) : fewer.toFixed(1)}×`;
  if (local) {
    return (
      `On loopback nothing slows TCP down, so the times say little; the wire bytes are the point: ` +
      `v2 put ${times} fewer bytes on the wire than the file. Run as root to see the emulated WAN link.`
    );
  }
  const r1 = v1.secs / v1.tcpSecs;
  const first =
    r1 <= 1.1
      ? `v1 is new data: PacketFS costs about what TCP costs (${r1.toFixed(2)}× TCP's time)`
      : `v1 is new data: PacketFS costs more than TCP here (${r1.toFixed(1)}× TCP's time)`;
  return (
    `${first}; v2 is where the pointers pay off: ${times} fewer bytes on the wire than the file, ` +
    `in ${((100 * v2.secs) / v2.tcpSecs).toFixed(0)} % of TCP's time.`
  );
}
