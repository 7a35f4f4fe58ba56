import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { derTrimmed, sec1AtCurveSize } from "../../src/tunnel/keypem.ts";
import { parseKey } from "../../src/tunnel/ssh2.ts";
import {
  derOf,
  offSizeKey,
  pemEncryptedRsaKey,
  pemOf,
  rawParse,
  scalarLength,
} from "../helpers/keypem.ts";

const CURVES = [
  { bits: 256, size: 32, name: "P-256", hash: "sha256" },
  { bits: 384, size: 48, name: "P-384", hash: "sha384" },
  { bits: 521, size: 66, name: "P-521", hash: "sha512" },
] as const;

describe("sec1AtCurveSize", () => {
  test("a scalar with a leading zero byte, written short as an mpint, is padded back to the curve's size", () => {
    // d = 0x00 ‖ 31 random bytes: the canonical SEC1 form carries all 32.
    const d = Buffer.concat([Buffer.from([0]), randomBytes(31)]);
    d[1]! |= 0x80;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(d);
    const pub = ecdh.getPublicKey();
    const b64 = (b: Buffer) => b.toString("base64url");
    const key = createPrivateKey({
      key: {
        kty: "EC",
        crv: "P-256",
        d: b64(d),
        x: b64(pub.subarray(1, 33)),
        y: b64(pub.subarray(33)),
      },
      format: "jwk",
    });
    const canonical = key.export({ type: "sec1", format: "der" });
    expect(scalarLength(canonical)).toBe(32);
    // The mpint form: 31 bytes, every enclosing length one less (all short form for P-256).
    const at = 2 + 3 + 2;
    const short = Buffer.concat([
      Buffer.from([0x30, canonical[1]! - 1, 0x02, 0x01, 0x01, 0x04, 31]),
      canonical.subarray(at + 1, at + 32),
      canonical.subarray(at + 32),
    ]);
    expect(sec1AtCurveSize(short, 32)).toEqual(canonical);
  });

  test("leaves a scalar that is already at the curve's size, and what is not SEC1, alone", () => {
    const der = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "sec1",
      format: "der",
    });
    expect(sec1AtCurveSize(der, 32)).toBeUndefined();
    expect(sec1AtCurveSize(Buffer.from([0x04, 0x01, 0x00]), 32)).toBeUndefined();
  });
});

describe("parseKey (ssh2.ts): ECDSA keys that ssh2 encodes off the curve's size", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwd-ecdsa-"));
  for (const c of CURVES) {
    test(`${c.name}: the PEM carries the scalar at ${c.size} bytes, as OpenSSL writes it, and signs`, () => {
      const path = offSizeKey(dir, c.bits, c.size);
      const raw = rawParse(readFileSync(path)) as object;
      const key = parseKey(readFileSync(path)) as unknown as {
        sign(d: Buffer): Buffer | Error;
        getPublicPEM(): string;
      };
      const der = derOf(pemOf(key));
      expect(scalarLength(der)).toBe(c.size);
      // Byte for byte what OpenSSL makes of ssh2's own (off-size) encoding.
      const openssl = createPrivateKey(pemOf(raw)).export({ type: "sec1", format: "der" });
      expect(der.equals(openssl)).toBe(true);
      const sig = key.sign(Buffer.from("data"));
      expect(sig).toBeInstanceOf(Buffer);
      expect(
        verify(c.hash, Buffer.from("data"), createPublicKey(key.getPublicPEM()), sig as Buffer),
      ).toBe(true);
    });
  }

  test("other keys are left exactly as ssh2 parsed them", () => {
    const path = join(dir, "ed");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path]);
    expect(pemOf(parseKey(readFileSync(path)) as object)).toBe(
      pemOf(rawParse(readFileSync(path)) as object),
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("derTrimmed", () => {
  test("cuts what follows the outer element (short and long form lengths), leaves an exact DER alone", () => {
    const short = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]);
    expect(derTrimmed(Buffer.concat([short, Buffer.from([8, 8, 8, 8, 8, 8, 8, 8])]))).toEqual(
      short,
    );
    expect(derTrimmed(short)).toBeUndefined();
    const long = Buffer.concat([Buffer.from([0x30, 0x81, 0x80]), Buffer.alloc(0x80, 1)]);
    expect(derTrimmed(Buffer.concat([long, Buffer.from([4, 4, 4, 4])]))).toEqual(long);
    expect(derTrimmed(Buffer.from([0x04, 0x01, 0x00, 0x00]))).toBeUndefined();
  });
});

describe("parseKey (ssh2.ts): a PEM-encrypted RSA key (ssh-keygen -m PEM)", () => {
  test("the decrypted PEM ends where its DER ends, as OpenSSL decrypts it, and signs", () => {
    const dir = mkdtempSync(join(tmpdir(), "fwd-pem-"));
    try {
      const file = pemEncryptedRsaKey(join(dir, "rsa"), "pem-pass");
      // ssh2 alone keeps the CBC padding after the DER.
      const raw = derOf(pemOf(rawParse(file, "pem-pass") as object));
      const openssl = createPrivateKey({ key: file, passphrase: "pem-pass" }).export({
        type: "pkcs1",
        format: "der",
      });
      expect(raw.length).toBeGreaterThan(openssl.length);
      const key = parseKey(file, "pem-pass") as unknown as {
        sign(d: Buffer): Buffer | Error;
        getPublicPEM(): string;
      };
      expect(derOf(pemOf(key)).equals(openssl)).toBe(true);
      const sig = key.sign(Buffer.from("data"));
      expect(sig).toBeInstanceOf(Buffer);
      expect(
        verify("sha1", Buffer.from("data"), createPublicKey(key.getPublicPEM()), sig as Buffer),
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
