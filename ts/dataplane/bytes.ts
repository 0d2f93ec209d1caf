/**
 * Little-endian fields for control messages: a writer that grows, a reader
 * that checks every length against the bytes present before it reads, and IP
 * addresses as the 16 bytes of the message's address field. Errors carry the
 * codes the C decoder returns for the same input (dataplane/ring_msg.h).
 */

import { isIPv4, isIPv6 } from "node:net";

import { PfsError } from "../errors.js";
import { FAMILY, MSG_LIMITS } from "./protocol.js";

const UTF8 = new TextEncoder();
const UTF8_DECODE = new TextDecoder("utf-8");

export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length += n;
    return at;
  }

  // room() may replace buf and view: call it before reading either.
  u8(v: number): void {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
  }
  u64(v: bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, v, true);
  }
  bytes(v: Uint8Array): void {
    const at = this.room(v.length);
    this.buf.set(v, at);
  }
  /** u16 length and the bytes (already checked against the field's limit). */
  str(v: Uint8Array): void {
    this.u16(v.length);
    this.bytes(v);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function truncated(what: string): PfsError {
  return new PfsError("PFS_ERR_TRUNCATED", `control message ends inside ${what}`);
}

export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, what: string): number {
    if (n > this.remaining) throw truncated(what);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }
  u64(what: string): bigint {
    return this.view.getBigUint64(this.take(8, what), true);
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.buf.slice(at, at + n);
  }
  /** A u16-length string as raw bytes (the caller checks limit and NULs). */
  str(what: string): Uint8Array {
    return this.bytes(this.u16(`the length of ${what}`), what);
  }
}

export function utf8(s: string): Uint8Array {
  return UTF8.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return UTF8_DECODE.decode(b);
}

/** u64 fields that hold quantities: JavaScript numbers, exact below 2^53. */
export function toU64(v: number, what: string): bigint {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new PfsError("PFS_ERR_INVALID_ARG", `${what} must be a whole number >= 0, got ${v}`);
  }
  return BigInt(v);
}

/** An address as the message carries it: family and 16 bytes (IPv4 in the first 4). */
export function encodeAddress(address: string): { family: number; bytes: Uint8Array } {
  const bytes = new Uint8Array(MSG_LIMITS.ADDR_BYTES);
  if (isIPv4(address)) {
    address.split(".").forEach((part, i) => (bytes[i] = Number(part)));
    return { family: FAMILY.IPV4, bytes };
  }
  if (!isIPv6(address)) {
    throw new PfsError(
      "PFS_ERR_INVALID_ARG",
      `"${address}" is not an IPv4 or IPv6 address (examples: 198.18.0.2, 2001:db8::2)`,
    );
  }
  let text = address.replace(/%.*$/, ""); // a zone id does not travel
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = (v4[1] as string).split(".").map(Number);
    const hi = (((p[0] as number) << 8) | (p[1] as number)).toString(16);
    const lo = (((p[2] as number) << 8) | (p[3] as number)).toString(16);
    text = `${text.slice(0, v4.index)}${hi}:${lo}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  return { family: FAMILY.IPV6, bytes };
}
