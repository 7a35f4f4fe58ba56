/**
 * SSH public key blobs: the type inside them, their fingerprint, and the
 * names ssh prints. A blob is what the server sends in key exchange and what
 * a known_hosts line carries in base64.
 */
import { createHash } from "node:crypto";

/** The first SSH string of a key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", …), or undefined if malformed. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  const type = blob.toString("latin1", 4, 4 + len);
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

const CERT_SUFFIX = "-cert-v01@openssh.com";

/**
 * Key type a host key algorithm stands for (sshkey.c keytypes): the rsa-sha2
 * signature algorithms are ssh-rsa keys; certificates count as their plain key.
 */
export function plainKeyType(alg: string): string {
  const base = alg.endsWith(CERT_SUFFIX) ? alg.slice(0, -CERT_SUFFIX.length) : alg;
  return base === "rsa-sha2-256" || base === "rsa-sha2-512" ? "ssh-rsa" : base;
}

/** Key type names a known_hosts line may carry (sshkey.c keytypes, plain and certificate). */
const KNOWN_TYPES = new Set([
  "ssh-rsa",
  "ssh-dss",
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "sk-ssh-ed25519@openssh.com",
  "ssh-xmss@openssh.com",
  "rsa-sha2-256",
  "rsa-sha2-512",
]);

export function isKnownKeyName(name: string): boolean {
  const base = name.endsWith(CERT_SUFFIX) ? name.slice(0, -CERT_SUFFIX.length) : name;
  return KNOWN_TYPES.has(base);
}

/** "ED25519", "ECDSA", "RSA": the short names ssh uses in its messages (sshkey_type). */
export function displayType(type: string): string {
  const plain = plainKeyType(type);
  if (plain === "ssh-ed25519") return "ED25519";
  if (plain.startsWith("ecdsa-sha2-")) return "ECDSA";
  if (plain === "ssh-rsa") return "RSA";
  if (plain === "ssh-dss") return "DSA";
  if (plain === "sk-ssh-ed25519@openssh.com") return "ED25519-SK";
  if (plain === "sk-ecdsa-sha2-nistp256@openssh.com") return "ECDSA-SK";
  return plain;
}

/** The "-t" argument of ssh-keyscan for a key type. */
export function keyscanType(type: string): string {
  const plain = plainKeyType(type);
  if (plain === "ssh-ed25519") return "ed25519";
  if (plain.startsWith("ecdsa-sha2-")) return "ecdsa";
  if (plain === "ssh-rsa") return "rsa";
  return plain;
}
