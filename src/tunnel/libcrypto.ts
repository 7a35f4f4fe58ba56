/**
 * AES-GCM through the system's OpenSSL libcrypto over bun:ffi (issue 12),
 * the way OpenSSH and ssh2's native add-on use it: one long-lived EVP context
 * per direction, keyed once (EVP_CTRL_GCM_SET_IV_FIXED), the IV counter run by
 * OpenSSL (EVP_CTRL_GCM_IV_GEN per packet), each packet encrypted or decrypted
 * in place. sshcrypto.ts puts this under ssh2's packet path.
 *
 * Unavailable (see `unavailable`) when: this is not Bun, FWD_SSH_CRYPTO=js,
 * no libcrypto is found, or the self-test below disagrees with node:crypto.
 * macOS's /usr/lib/libcrypto is never opened (the system aborts processes
 * that load it); Homebrew's is used when present.
 */
import { createCipheriv } from "node:crypto";
import { addressOf } from "./bunsocket.ts";

type Ptr = number;
/** A buffer, or an address inside one (bun:ffi takes either for a pointer argument). */
export type Mem = Uint8Array | Ptr;
interface Libcrypto {
  EVP_aes_128_gcm(): Ptr;
  EVP_aes_256_gcm(): Ptr;
  EVP_CIPHER_CTX_new(): Ptr;
  EVP_CIPHER_CTX_free(ctx: Ptr): void;
  EVP_CipherInit_ex(
    ctx: Ptr,
    cipher: Ptr | null,
    engine: null,
    key: Uint8Array | null,
    iv: Uint8Array | null,
    enc: number,
  ): number;
  EVP_CIPHER_CTX_ctrl(ctx: Ptr, type: number, arg: number, p: Mem | null): number;
  EVP_CipherUpdate(ctx: Ptr, out: Mem | null, outl: Int32Array, input: Mem, inl: number): number;
  EVP_CipherFinal_ex(ctx: Ptr, out: Uint8Array | null, outl: Int32Array): number;
}

// openssl/evp.h
const CTRL_AEAD_SET_IVLEN = 0x9;
const CTRL_AEAD_GET_TAG = 0x10;
const CTRL_AEAD_SET_TAG = 0x11;
const CTRL_GCM_SET_IV_FIXED = 0x12;
const CTRL_GCM_IV_GEN = 0x13;
export const TAG_LEN = 16;

const CANDIDATES: Record<string, string[]> = {
  linux: ["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"],
  darwin: [
    "/opt/homebrew/opt/openssl@3/lib/libcrypto.3.dylib",
    "/usr/local/opt/openssl@3/lib/libcrypto.3.dylib",
  ],
};

function openLibcrypto(): Libcrypto {
  if (!("Bun" in globalThis)) throw new Error("not Bun");
  if (process.env.FWD_SSH_CRYPTO === "js") throw new Error("FWD_SSH_CRYPTO=js");
  const { dlopen, FFIType: T } = require("bun:ffi") as typeof import("bun:ffi");
  const symbols = {
    EVP_aes_128_gcm: { args: [], returns: T.ptr },
    EVP_aes_256_gcm: { args: [], returns: T.ptr },
    EVP_CIPHER_CTX_new: { args: [], returns: T.ptr },
    EVP_CIPHER_CTX_free: { args: [T.ptr], returns: T.void },
    EVP_CipherInit_ex: { args: [T.ptr, T.ptr, T.ptr, T.ptr, T.ptr, T.i32], returns: T.i32 },
    EVP_CIPHER_CTX_ctrl: { args: [T.ptr, T.i32, T.i32, T.ptr], returns: T.i32 },
    EVP_CipherUpdate: { args: [T.ptr, T.ptr, T.ptr, T.ptr, T.i32], returns: T.i32 },
    EVP_CipherFinal_ex: { args: [T.ptr, T.ptr, T.ptr], returns: T.i32 },
  } as const;
  let last: unknown;
  for (const name of CANDIDATES[process.platform] ?? []) {
    try {
      return dlopen(name, symbols).symbols as unknown as Libcrypto;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no libcrypto (${String(last)})`);
}

let lib!: Libcrypto;
const outl = new Int32Array(1);
const ivGenOut = new Uint8Array(1);
const contexts = new FinalizationRegistry<Ptr>((ctx) => lib.EVP_CIPHER_CTX_free(ctx));

function cipherOf(sslName: string): Ptr {
  if (sslName === "aes-128-gcm") return lib.EVP_aes_128_gcm();
  if (sslName === "aes-256-gcm") return lib.EVP_aes_256_gcm();
  throw new Error("Invalid AES GCM cipher name");
}

/**
 * One EVP context keyed for one direction, its IV counter run by OpenSSL.
 * Packets are passed as addresses (a buffer's address + an offset: see
 * addressOf) rather than as a fresh subarray for each piece of each packet.
 */
class GcmContext {
  protected ctx: Ptr;
  constructor(sslName: string, key: Uint8Array, iv: Uint8Array, enc: 0 | 1) {
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (!ctx) throw new Error("EVP_CIPHER_CTX_new failed");
    this.ctx = ctx;
    contexts.register(this, ctx, this);
    const ok =
      lib.EVP_CipherInit_ex(ctx, cipherOf(sslName), null, null, null, enc) === 1 &&
      lib.EVP_CIPHER_CTX_ctrl(ctx, CTRL_AEAD_SET_IVLEN, iv.length, null) === 1 &&
      lib.EVP_CipherInit_ex(ctx, null, null, key, iv, enc) === 1 &&
      lib.EVP_CIPHER_CTX_ctrl(ctx, CTRL_GCM_SET_IV_FIXED, -1, iv) === 1;
    if (!ok) {
      this.free();
      throw new Error("AES-GCM init failed");
    }
  }
  /** Next IV, then the 4 length bytes as AAD. */
  protected begin(aad: Mem): void {
    if (
      lib.EVP_CIPHER_CTX_ctrl(this.ctx, CTRL_GCM_IV_GEN, 1, ivGenOut) !== 1 ||
      lib.EVP_CipherUpdate(this.ctx, null, outl, aad, 4) !== 1
    ) {
      throw new Error("Error setting AAD");
    }
  }
  /** `len` bytes at `at`, in place. */
  protected crypt(at: Ptr, len: number): void {
    if (lib.EVP_CipherUpdate(this.ctx, at, outl, at, len) !== 1 || outl[0] !== len) {
      throw new Error("Failed to completely process packet");
    }
  }
  free(): void {
    if (this.ctx) {
      contexts.unregister(this);
      lib.EVP_CIPHER_CTX_free(this.ctx);
      this.ctx = 0;
    }
  }
}

/** `packet`: length(4) | padlen, payload, padding | room for the tag(16); encrypted in place. */
export class AESGCMCipher extends GcmContext {
  constructor(sslName: string, key: Uint8Array, iv: Uint8Array) {
    super(sslName, key, iv, 1);
  }
  encrypt(packet: Uint8Array): void {
    const end = packet.length - TAG_LEN;
    const at = addressOf(packet);
    this.begin(at);
    this.crypt(at + 4, end - 4);
    if (
      lib.EVP_CipherFinal_ex(this.ctx, null, outl) !== 1 ||
      lib.EVP_CIPHER_CTX_ctrl(this.ctx, CTRL_AEAD_GET_TAG, TAG_LEN, at + end) !== 1
    ) {
      throw new Error("Error generating authentication tag");
    }
  }
}

/** `length` bytes at `at` (padlen, payload, padding): decrypted in place, then the tag at `tag` checked. */
export class AESGCMDecipher extends GcmContext {
  private readonly lenBytes = new Uint8Array(4);
  private readonly lenView = new DataView(this.lenBytes.buffer);
  constructor(sslName: string, key: Uint8Array, iv: Uint8Array) {
    super(sslName, key, iv, 0);
  }
  decrypt(at: Ptr, length: number, tag: Mem): void {
    this.lenView.setUint32(0, length);
    this.begin(this.lenBytes);
    this.crypt(at, length);
    if (
      lib.EVP_CIPHER_CTX_ctrl(this.ctx, CTRL_AEAD_SET_TAG, TAG_LEN, tag) !== 1 ||
      lib.EVP_CipherFinal_ex(this.ctx, null, outl) !== 1
    ) {
      throw new Error("Bad packet authentication tag");
    }
  }
}

/** Two packets through both classes must match node:crypto bit for bit, or ssh2 keeps its own path. */
function selfTest(): void {
  const key = new Uint8Array(16).map((_, i) => i + 1);
  const iv = new Uint8Array(12).map((_, i) => 0xf0 + i);
  const enc = new AESGCMCipher("aes-128-gcm", key, iv.slice());
  const dec = new AESGCMDecipher("aes-128-gcm", key, iv.slice());
  const nodeIv = Buffer.from(iv);
  for (let n = 0; n < 2; n++) {
    const plain = Buffer.alloc(4 + 32 + TAG_LEN, 0x41 + n);
    plain.writeUInt32BE(32, 0);
    const packet = Buffer.from(plain);
    enc.encrypt(packet);
    const ref = createCipheriv("aes-128-gcm", Buffer.from(key), nodeIv);
    ref.setAAD(plain.subarray(0, 4));
    const body = Buffer.concat([ref.update(plain.subarray(4, 36)), ref.final()]);
    if (!body.equals(packet.subarray(4, 36)) || !ref.getAuthTag().equals(packet.subarray(36))) {
      throw new Error("libcrypto AES-GCM disagrees with node:crypto");
    }
    dec.decrypt(addressOf(packet) + 4, 32, addressOf(packet) + 36);
    if (!packet.subarray(4, 36).equals(plain.subarray(4, 36))) throw new Error("decrypt mismatch");
    nodeIv.writeUInt32BE((nodeIv.readUInt32BE(8) + 1) >>> 0, 8);
  }
  enc.free();
  dec.free();
}
let why: string | undefined;
/**
 * Why the accelerated path is off ("" when it is on). The first call loads
 * libcrypto and runs the self-test (~6 ms: bun:ffi's stubs, OpenSSL's
 * provider), which is why accelerate() does it while the server prepares its
 * banner rather than at import.
 */
export function unavailable(): string {
  if (why === undefined) {
    try {
      lib = openLibcrypto();
      selfTest();
      why = "";
    } catch (e) {
      why = (e as Error).message;
    }
  }
  return why;
}
