import { X509Certificate, createPublicKey, generateKeyPairSync } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type ConfigPaths, configPaths } from "./config/paths.js";
import { PfsError } from "./errors.js";
import {
  FINGERPRINT_RE,
  createIdentity,
  fingerprint,
  issueCertificate,
  loadIdentity,
  parseFingerprint,
} from "./identity.js";

let dir: string;
let paths: ConfigPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pfs-identity-"));
  paths = configPaths(join(dir, "node"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o777;

async function rejection(p: Promise<unknown>): Promise<PfsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("did not reject");
}

function thrown(fn: () => unknown): PfsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("createIdentity", () => {
  it("writes an Ed25519 key (0600) and a certificate (0644) in a 0700 directory", async () => {
    const id = await createIdentity(paths, "alpha");
    expect(mode(paths.identityDir)).toBe(0o700);
    expect(mode(paths.keyFile)).toBe(0o600);
    expect(mode(paths.certFile)).toBe(0o644);
    expect(id.fingerprint).toMatch(FINGERPRINT_RE);
    expect(id.nodeName).toBe("alpha");
    expect(createPublicKey(readFileSync(paths.keyFile)).asymmetricKeyType).toBe("ed25519");
    expect(readdirSync(paths.identityDir).sort()).toEqual(["cert.pem", "key.pem"]);
  });

  it("the certificate is a self-signed leaf for the node name, valid for decades", async () => {
    await createIdentity(paths, "alpha");
    const cert = new X509Certificate(readFileSync(paths.certFile));
    expect(cert.subject).toBe("CN=alpha");
    expect(cert.issuer).toBe("CN=alpha");
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe("DNS:alpha");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new Date(cert.validTo).getUTCFullYear()).toBeGreaterThan(2100);
  });

  it("the fingerprint is stable across reloads", async () => {
    const id = await createIdentity(paths, "alpha");
    expect(loadIdentity(paths)).toEqual(id);
    expect(loadIdentity(paths).fingerprint).toBe(id.fingerprint);
  });

  it("re-issuing the certificate for the same key keeps the fingerprint", async () => {
    const id = await createIdentity(paths, "alpha");
    const again = await issueCertificate(paths, "alpha-renamed");
    expect(again.certPem).not.toBe(id.certPem);
    expect(again.nodeName).toBe("alpha-renamed");
    expect(again.fingerprint).toBe(id.fingerprint);
    expect(mode(paths.certFile)).toBe(0o644);
  });

  it("refuses to overwrite an identity without force, changing nothing", async () => {
    const id = await createIdentity(paths, "alpha");
    const err = await rejection(createIdentity(paths, "alpha"));
    expect(err.code).toBe("PFS_ERR_CONFLICT");
    expect(err.message).toContain(`an identity exists already in ${paths.identityDir}`);
    expect(err.message).toContain(id.fingerprint);
    expect(err.hint).toContain("--force");
    expect(readFileSync(paths.keyFile, "utf8")).toBe(id.keyPem);
    expect(readFileSync(paths.certFile, "utf8")).toBe(id.certPem);
  });

  it("with force, replaces it with a new key", async () => {
    const id = await createIdentity(paths, "alpha");
    const id2 = await createIdentity(paths, "alpha", { force: true });
    expect(id2.fingerprint).not.toBe(id.fingerprint);
    expect(loadIdentity(paths).fingerprint).toBe(id2.fingerprint);
    expect(mode(paths.keyFile)).toBe(0o600);
  });

  it("refuses a bad node name before creating anything", async () => {
    const err = await rejection(createIdentity(paths, "Alpha One"));
    expect(err.code).toBe("PFS_ERR_USAGE");
    expect(err.message).toContain('bad node name "Alpha One"');
    expect(existsSync(paths.dir)).toBe(false);
  });
});

describe("loadIdentity", () => {
  it("without an identity says how to make one", () => {
    const err = thrown(() => loadIdentity(paths));
    expect(err.code).toBe("PFS_ERR_FILE_NOT_FOUND");
    expect(err.hint).toContain(`pfs-dp init --config-dir ${paths.dir}`);
  });

  it("refuses a private key others can read", async () => {
    await createIdentity(paths, "alpha");
    chmodSync(paths.keyFile, 0o644);
    const err = thrown(() => loadIdentity(paths));
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toContain("is readable by others (mode 0644)");
    expect(err.hint).toBe(`restrict it: chmod 600 ${paths.keyFile}`);
  });

  it("refuses a certificate made for another key", async () => {
    await createIdentity(paths, "alpha");
    const other = configPaths(join(dir, "other"));
    await createIdentity(other, "beta");
    writeFileSync(paths.certFile, readFileSync(other.certFile));
    const err = thrown(() => loadIdentity(paths));
    expect(err.code).toBe("PFS_ERR_CONFIG");
    expect(err.message).toContain("is not for the private key");
  });
});

describe("fingerprint", () => {
  it("is SHA-256 over the public key, the same from certificate, private key or public key", async () => {
    const id = await createIdentity(paths, "alpha");
    const pub = createPublicKey(id.keyPem);
    expect(fingerprint(id.certPem)).toBe(id.fingerprint);
    expect(fingerprint(id.keyPem)).toBe(id.fingerprint);
    expect(fingerprint(pub.export({ type: "spki", format: "pem" }) as string)).toBe(id.fingerprint);
    expect(fingerprint(pub)).toBe(id.fingerprint);
    expect(fingerprint(new X509Certificate(id.certPem))).toBe(id.fingerprint);
  });

  it("differs between keys", () => {
    const a = generateKeyPairSync("ed25519").publicKey;
    const b = generateKeyPairSync("ed25519").publicKey;
    expect(fingerprint(a)).not.toBe(fingerprint(b));
  });

  it("refuses text that is no PEM", () => {
    expect(thrown(() => fingerprint("hello")).message).toContain("not a PEM certificate or key");
  });
});

describe("parseFingerprint", () => {
  const good = "sha256:" + "0123456789abcdef".repeat(4);

  it("accepts exactly sha256: and 64 lowercase hex digits", () => {
    expect(parseFingerprint(good)).toBe(good);
  });

  it.each([
    ["0123456789abcdef".repeat(4), 'lacks the "sha256:" prefix'],
    ["SHA256:" + "0123456789abcdef".repeat(4), 'its prefix must be "sha256:" in lowercase'],
    ["md5:abc", 'does not start with "sha256:"'],
    [good.slice(0, -1), 'it has 63 hex digits after "sha256:", not 64'],
    [good + "0", "it has 65 hex digits"],
    [good.toUpperCase().replace("SHA256", "sha256"), "must be lowercase"],
    [good.slice(0, -1) + "g", '"g" is not a hex digit'],
    [` ${good}`, 'does not start with "sha256:"'],
    [`${good}\n`, '"\n" is not a hex digit'],
    ["", 'does not start with "sha256:"'],
  ])("refuses %j: %s", (text, why) => {
    const err = thrown(() => parseFingerprint(text));
    expect(err.code).toBe("PFS_ERR_USAGE");
    expect(err.message).toContain("bad key fingerprint");
    expect(err.message).toContain(why);
    expect(err.hint).toContain("as printed by pfs-dp init on the peer");
  });
});
