/** The fingerprint peers pin: "sha256:" + hex SHA-256 of the public key (SPKI DER). */

import { type X509Certificate, createHash } from "node:crypto";

export function spkiFingerprint(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  return "sha256:" + createHash("sha256").update(spki).digest("hex");
}
