/** Private keys as ssh2 encodes them, for the tests of src/tunnel/keypem.ts. */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error ssh2's files have no types of their own.
import keyParser from "ssh2/lib/protocol/keyParser.js";

/** ssh2's own parseKey, without fwd's fix. */
export const rawParse = (keyParser as { parseKey(d: Buffer, passphrase?: string): unknown })
  .parseKey;

export function pemOf(key: object): string {
  const sym = Object.getOwnPropertySymbols(key).find((s) => s.description === "Private key PEM");
  const pem = sym ? (key as Record<symbol, unknown>)[sym] : undefined;
  if (typeof pem !== "string") throw new Error("no private key PEM on the parsed key");
  return pem;
}
export const derOf = (pem: string) =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
/** Length of the private key octets in a SEC1 DER (short-form outer length up to P-384, long for P-521). */
export const scalarLength = (der: Buffer) => {
  const body = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  return der[body + 4]!;
};

/**
 * An ssh-keygen ECDSA key that ssh2's PEM does not carry at the curve's size:
 * 0x00 ‖ scalar when the scalar's top bit is set (P-256, P-384: half of all
 * keys), one byte short when its top byte is 0 (P-521: half of all keys).
 */
export function offSizeKey(dir: string, bits: number, size: number): string {
  for (let i = 0; i < 40; i++) {
    const path = join(dir, `ec${bits}-${i}`);
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-b", String(bits), "-N", "", "-f", path]);
    const raw = rawParse(readFileSync(path)) as object;
    if (scalarLength(derOf(pemOf(raw))) !== size) return path;
  }
  throw new Error("no such key in 40 tries");
}

/** A fresh RSA key at `path` in legacy encrypted PEM (`ssh-keygen -m PEM`), "Proc-Type: 4,ENCRYPTED". */
export function pemEncryptedRsaKey(path: string, passphrase: string): Buffer {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  const args = ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", passphrase, "-f", path];
  execFileSync("ssh-keygen", args);
  const file = readFileSync(path);
  if (!file.toString().includes("Proc-Type: 4,ENCRYPTED"))
    throw new Error(`${path}: not encrypted PEM`);
  return file;
}
