/**
 * Private keys as ssh2 hands them to the runtime's crypto: as a PEM it writes
 * itself. Two of its habits are fine with OpenSSL (Bun, Node) and refused by
 * Deno's decoder, so under Deno those keys could not sign. parseKey (ssh2.ts)
 * mends both; nothing else in the key changes.
 *
 * - ECDSA: ssh2 copies the private scalar into the SEC1 PEM ("EC PRIVATE
 *   KEY") as it was in the key file, an SSH mpint: 0x00 in front when its top
 *   bit is set, a byte short when its top byte is 0. SEC1 wants exactly the
 *   curve's size; Deno says "invalid SEC1 private key", for about half of all
 *   ECDSA keys. The scalar is re-encoded at the curve's size.
 * - Legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED", `ssh-keygen -m PEM` with
 *   a passphrase): ssh2 decrypts it with padding off and keeps the CBC
 *   padding after the DER; Deno says "unsupported". The DER is cut at its
 *   end.
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

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END ${label}-----`;
}

/** The DER `der` without what follows its outer element, or undefined when nothing does. */
export function derTrimmed(der: Uint8Array): Buffer | undefined {
  if (der[0] !== 0x30 || der.length < 2) return undefined;
  const [len, at] = readLength(der, 1);
  return at + len < der.length ? Buffer.from(der.subarray(0, at + len)) : undefined;
}

/** Mends `key`'s private PEM (ssh2 keeps it under a symbol) as above; other keys are left as they are. */
export function mendPrivatePem(key: ParsedKey): void {
  const sym = Object.getOwnPropertySymbols(key).find((s) => s.description === "Private key PEM");
  const holder = key as unknown as Record<symbol, unknown>;
  const pem = sym ? holder[sym] : undefined;
  if (typeof pem !== "string") return;
  const label = /^-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1];
  if (!label) return;
  const der = pemBody(pem);
  const trimmed = derTrimmed(der) ?? der;
  const size = CURVE_BYTES[key.type];
  const mended = (size === undefined ? undefined : sec1AtCurveSize(trimmed, size)) ?? trimmed;
  if (mended !== der) holder[sym!] = toPem(label, mended);
}
