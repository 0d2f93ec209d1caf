/**
 * A node's identity: an Ed25519 key pair and a self-signed X.509 certificate
 * carrying the node name (CN). Peers pin the key, not the certificate: the
 * fingerprint is SHA-256 over the SubjectPublicKeyInfo, like an SSH known_hosts
 * entry or a WireGuard public key, so re-issuing the certificate for the same key
 * (a new name, a later expiry) keeps every peer's pin valid.
 *
 * The key is made with node:crypto; the certificate with the openssl CLI, since
 * Node can read X.509 but not write it. The REST API's token is in config/token.ts.
 */

import { execFile } from "node:child_process";
import {
  KeyObject,
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { tempPathFor } from "./config/atomic-write.js";
import { FORMATS } from "./config/formats.js";
import type { ConfigPaths } from "./config/paths.js";
import { PfsError } from "./errors.js";

const execFileP = promisify(execFile);

/** Certificates are pinned by key, so their expiry only has to be out of the way: 100 years. */
export const CERT_VALIDITY_DAYS = 36500;

export const FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;

export interface Identity {
  /** PKCS#8 PEM of the Ed25519 private key */
  keyPem: string;
  certPem: string;
  /** "sha256:" + 64 lowercase hex digits over the public key's SPKI DER */
  fingerprint: string;
  /** the certificate's CN */
  nodeName: string;
}

export interface CreateOptions {
  /** replace an existing identity (peers must pin the new key) */
  force?: boolean;
}

// --- fingerprints ------------------------------------------------------------

/**
 * The fingerprint of a certificate or key: a PEM certificate, a PEM public or
 * private key, an X509Certificate or a KeyObject.
 */
export function fingerprint(source: string | Buffer | X509Certificate | KeyObject): string {
  let key: KeyObject;
  if (source instanceof X509Certificate) key = source.publicKey;
  else if (source instanceof KeyObject)
    key = source.type === "private" ? createPublicKey(source) : source;
  else {
    const text = source.toString("utf8");
    try {
      key = text.includes("-----BEGIN CERTIFICATE-----")
        ? new X509Certificate(text).publicKey
        : createPublicKey(text);
    } catch (err) {
      throw new PfsError(
        "PFS_ERR_USAGE",
        `cannot take a fingerprint: not a PEM certificate or key (${(err as Error).message})`,
      );
    }
  }
  const der = key.export({ type: "spki", format: "der" });
  return "sha256:" + createHash("sha256").update(der).digest("hex");
}

function fingerprintProblem(s: string): string | undefined {
  if (FINGERPRINT_RE.test(s)) return undefined;
  if (s.toLowerCase().startsWith("sha256:") && !s.startsWith("sha256:")) {
    return 'its prefix must be "sha256:" in lowercase';
  }
  if (!s.startsWith("sha256:")) {
    return /^[0-9a-f]{64}$/i.test(s)
      ? 'it lacks the "sha256:" prefix'
      : 'it does not start with "sha256:"';
  }
  const hex = s.slice("sha256:".length);
  const odd = /[^0-9a-fA-F]/.exec(hex);
  if (odd) return `"${odd[0]}" is not a hex digit`;
  if (hex.length !== 64) return `it has ${hex.length} hex digits after "sha256:", not 64`;
  return "its hex digits must be lowercase";
}

/** `s` if it is exactly "sha256:" + 64 lowercase hex digits; PFS_ERR_USAGE saying what is wrong otherwise. */
export function parseFingerprint(s: string): string {
  const why = fingerprintProblem(s);
  if (why === undefined) return s;
  const shown = s.length > 80 ? `${s.slice(0, 77)}...` : s;
  throw new PfsError(
    "PFS_ERR_USAGE",
    `bad key fingerprint "${shown}": ${why}`,
    'a fingerprint is "sha256:" and 64 lowercase hex digits, as printed by pfs-dp init on the peer',
  );
}

// --- creating ----------------------------------------------------------------

function checkNodeName(name: string): void {
  if (FORMATS["node-name"]?.problem(name) !== undefined) {
    throw new PfsError(
      "PFS_ERR_USAGE",
      `bad node name "${name}": it must be ${FORMATS["node-name"]?.expected}`,
      "for example --name alpha or --name rack1-node7",
    );
  }
}

// A minimal config, so the system's openssl.cnf (CA extensions on Debian) plays no part.
function opensslConfig(nodeName: string): string {
  return [
    "[req]",
    "distinguished_name = dn",
    "x509_extensions = ext",
    "prompt = no",
    "[dn]",
    `CN = ${nodeName}`,
    "[ext]",
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature",
    "extendedKeyUsage = serverAuth,clientAuth",
    `subjectAltName = DNS:${nodeName}`,
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n");
}

/** Write a self-signed certificate for the key in `keyFile` to `certFile` (mode 0644). */
async function makeCertificate(keyFile: string, certFile: string, nodeName: string): Promise<void> {
  const cnf = tempPathFor(join(certFile, "..", "openssl.cnf"));
  writeFileSync(cnf, opensslConfig(nodeName), { mode: 0o600, flag: "wx" });
  try {
    // execFile rejects on a non-zero exit; its error carries stderr.
    await execFileP("openssl", [
      "req",
      "-new",
      "-x509",
      "-config",
      cnf,
      "-key",
      keyFile,
      "-days",
      String(CERT_VALIDITY_DAYS),
      "-out",
      certFile,
    ]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why =
      e.code === "ENOENT" ? "the openssl command is not installed" : (e.stderr ?? e.message).trim();
    throw new PfsError(
      "PFS_ERR_NATIVE_FAILED",
      `openssl could not make the certificate: ${why}`,
      "install OpenSSL 3 (apt-get install openssl) and run the command again",
    );
  } finally {
    rmSync(cnf, { force: true });
  }
  chmodSync(certFile, 0o644);
}

/** True when key.pem or cert.pem exists. */
export function hasIdentity(paths: ConfigPaths): boolean {
  return existsSync(paths.keyFile) || existsSync(paths.certFile);
}

/**
 * Make a new key pair and certificate for `nodeName` in paths.identityDir
 * (directory 0700, key 0600, certificate 0644). Nothing changes if any step fails.
 * Throws PFS_ERR_CONFLICT if an identity exists and `force` is not set.
 */
export async function createIdentity(
  paths: ConfigPaths,
  nodeName: string,
  opts: CreateOptions = {},
): Promise<Identity> {
  checkNodeName(nodeName);
  if (!opts.force && hasIdentity(paths)) {
    let fp = "";
    try {
      fp = ` (fingerprint ${loadIdentity(paths).fingerprint})`;
    } catch {
      // a broken identity is still one that --force would destroy
    }
    throw new PfsError(
      "PFS_ERR_CONFLICT",
      `an identity exists already in ${paths.identityDir}${fp}`,
      "keep it, or pass --force to replace it: every peer that pinned the old key must then pin the new one",
    );
  }
  mkdirSync(paths.identityDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.identityDir, 0o700);

  const { privateKey } = generateKeyPairSync("ed25519");
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const keyTmp = tempPathFor(paths.keyFile);
  const certTmp = tempPathFor(paths.certFile);
  try {
    writeFileSync(keyTmp, keyPem, { mode: 0o600, flag: "wx" });
    chmodSync(keyTmp, 0o600);
    await makeCertificate(keyTmp, certTmp, nodeName);
    const certPem = readFileSync(certTmp, "utf8");
    if (fingerprint(certPem) !== fingerprint(privateKey)) {
      throw new PfsError("PFS_ERR_NATIVE_FAILED", "openssl made a certificate for another key");
    }
    renameSync(keyTmp, paths.keyFile);
    renameSync(certTmp, paths.certFile);
    return { keyPem, certPem, fingerprint: fingerprint(privateKey), nodeName };
  } finally {
    rmSync(keyTmp, { force: true });
    rmSync(certTmp, { force: true });
  }
}

/**
 * Replace cert.pem with a new self-signed certificate for the existing key
 * (e.g. after a change of node name). The fingerprint stays the same.
 */
export async function issueCertificate(paths: ConfigPaths, nodeName: string): Promise<Identity> {
  checkNodeName(nodeName);
  const old = loadIdentity(paths);
  const certTmp = tempPathFor(paths.certFile);
  try {
    await makeCertificate(paths.keyFile, certTmp, nodeName);
    renameSync(certTmp, paths.certFile);
  } finally {
    rmSync(certTmp, { force: true });
  }
  const now = loadIdentity(paths);
  if (now.fingerprint !== old.fingerprint) {
    throw new PfsError("PFS_ERR_NATIVE_FAILED", "the re-issued certificate is for another key");
  }
  return now;
}

// --- loading -----------------------------------------------------------------

function readIdentityFile(paths: ConfigPaths, file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") {
      throw new PfsError(
        "PFS_ERR_FILE_NOT_FOUND",
        `no identity in ${paths.dir}: the ${what} ${file} does not exist`,
        `create one with: pfs-dp init --config-dir ${paths.dir}`,
      );
    }
    throw new PfsError("PFS_ERR_CONFIG", `cannot read the ${what} ${file}: ${e.message}`);
  }
}

/** This node's identity; checks the key's permissions, type, and that it matches the certificate. */
export function loadIdentity(paths: ConfigPaths): Identity {
  const keyPem = readIdentityFile(paths, paths.keyFile, "private key");
  const certPem = readIdentityFile(paths, paths.certFile, "certificate");
  const mode = statSync(paths.keyFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `the private key ${paths.keyFile} is readable by others (mode 0${mode.toString(8)})`,
      `restrict it: chmod 600 ${paths.keyFile}`,
    );
  }
  let key: KeyObject;
  let cert: X509Certificate;
  try {
    key = createPrivateKey(keyPem);
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `the identity in ${paths.identityDir} is unreadable: ${(err as Error).message}`,
      "restore it from a backup, or make a new one with pfs-dp init --force (peers must re-pin)",
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `the private key ${paths.keyFile} is ${key.asymmetricKeyType}, not Ed25519`,
      "make a new identity with pfs-dp init --force (peers must re-pin)",
    );
  }
  const fp = fingerprint(key);
  if (fingerprint(cert) !== fp) {
    throw new PfsError(
      "PFS_ERR_CONFIG",
      `the certificate ${paths.certFile} is not for the private key ${paths.keyFile}`,
      "restore the matching pair, or make a new identity with pfs-dp init --force",
    );
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
  return { keyPem, certPem, fingerprint: fp, nodeName: cn };
}
