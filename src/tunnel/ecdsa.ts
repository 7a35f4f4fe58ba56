/**
 * ECDSA private keys as ssh2 hands them to the runtime's crypto.
 *
 * ssh2 turns an OpenSSH ECDSA key into a SEC1 PEM ("EC PRIVATE KEY") and
 * copies the private scalar into it as it was in the key file: an SSH mpint,
 * with a 0x00 in front when its top bit is set (and shorter when it has
 * leading zero bytes). SEC1 wants it at exactly the curve's size. OpenSSL
 * takes either; Deno's parser does not ("invalid SEC1 private key"), so about
 * half of all ECDSA keys could not sign there. parseKey (ssh2.ts) re-encodes
 * the scalar at the curve's size; nothing else in the key changes.
 */
import type { ParsedKey } from "ssh2";

const CURVE_BYTES: Record<string, number> = {
  "ecdsa-sha2-nistp256": 32,
  "ecdsa-sha2-nistp384": 48,
  "ecdsa-sha2-nistp521": 66,
};

/** A DER length at der[i]: [length, offset of the contents]. */
function readLength(der: Uint8Array, i: number): [number, number] {
  const first = der[i]!;
  if (first < 0x80) return [first, i + 1];
  const n = first & 0x7f;
  let len = 0;
  for (let k = 1; k <= n; k++) len = len * 256 + der[i + k]!;
  return [len, i + 1 + n];
}

function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * The SEC1 ECPrivateKey `der` with its private key octets at `size` bytes
 * (leading zeros dropped or added), or undefined when it already is, or when
 * `der` is not the shape ssh2 writes (SEQUENCE { INTEGER 1, OCTET STRING, ... }).
 */
export function sec1AtCurveSize(der: Uint8Array, size: number): Buffer | undefined {
  if (der[0] !== 0x30) return undefined;
  const [, body] = readLength(der, 1);
  if (der[body] !== 0x02 || der[body + 1] !== 0x01 || der[body + 2] !== 0x01) return undefined;
  if (der[body + 3] !== 0x04) return undefined;
  const [len, at] = readLength(der, body + 4);
  if (len === size) return undefined;
  let d = der.subarray(at, at + len);
  while (d.length > size && d[0] === 0) d = d.subarray(1);
  if (d.length > size) return undefined;
  const scalar = Buffer.concat([Buffer.alloc(size - d.length), d]);
  const inner = Buffer.concat([
    Buffer.from([0x02, 0x01, 0x01, 0x04]),
    encodeLength(size),
    scalar,
    der.subarray(at + len),
  ]);
  return Buffer.concat([Buffer.from([0x30]), encodeLength(inner.length), inner]);
}

const pemBody = (pem: string) =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");

function toPem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN EC PRIVATE KEY-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END EC PRIVATE KEY-----`;
}

/** Re-encodes `key`'s private PEM (ssh2 keeps it under a symbol) at the curve's size; other keys are left as they are. */
export function sizeEcdsaScalar(key: ParsedKey): void {
  const size = CURVE_BYTES[key.type];
  if (size === undefined) return;
  const sym = Object.getOwnPropertySymbols(key).find((s) => s.description === "Private key PEM");
  const holder = key as unknown as Record<symbol, unknown>;
  const pem = sym ? holder[sym] : undefined;
  if (typeof pem !== "string") return;
  const fixed = sec1AtCurveSize(pemBody(pem), size);
  if (fixed) holder[sym!] = toPem(fixed);
}
