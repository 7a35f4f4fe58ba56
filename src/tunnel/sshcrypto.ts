/**
 * AES-GCM for ssh2's packet path through the system's OpenSSL libcrypto
 * (issue 12).
 *
 * Without its native add-on (which Bun cannot load) ssh2 creates a cipher
 * object per packet and allocates fresh buffers for each piece of it (length,
 * ciphertext, tag) going out, and for every partial decrypt coming in. Its
 * add-on path instead encrypts and decrypts each packet in place, in the
 * buffer it already has, with one long-lived EVP context per direction, as
 * OpenSSH does (EVP_CTRL_GCM_SET_IV_FIXED once, EVP_CTRL_GCM_IV_GEN per
 * packet). `accelerate(client)` gives ssh2 that path: whenever ssh2 installs
 * its JavaScript AES-GCM cipher or decipher after a key exchange, it is
 * swapped, before its first packet, for the add-on path's logic (as in ssh2's
 * lib/protocol/crypto.js, AESGCM*Binding) over bun:ffi and libcrypto.
 *
 * Nothing changes (ssh2 keeps its own path) when: this is not Bun,
 * FWD_SSH_CRYPTO=js, no libcrypto is found, or the self-test below disagrees
 * with node:crypto. macOS's /usr/lib/libcrypto is never opened (the system
 * aborts processes that load it); Homebrew's is used when present.
 */
import { createCipheriv, randomFillSync } from "node:crypto";
import { addressOf } from "./bunsocket.ts";

type Ptr = number;
/** A buffer, or an address inside one (bun:ffi takes either for a pointer argument). */
type Mem = Uint8Array | Ptr;
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
const TAG_LEN = 16;

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

// ssh2's side: its AES-GCM packet classes, add-on flavour (lib/protocol/crypto.js,
// AESGCMCipherBinding / AESGCMDecipherBinding), over the contexts above.

const MAX_PACKET_SIZE = 35000; // ssh2's own limit
type OnWrite = (packet: Buffer) => void;
type OnPayload = (payload: Buffer) => unknown;

/** What ssh2's JavaScript AES-GCM cipher carries when it is installed (nothing encrypted yet). */
interface JsCipher {
  outSeqno: number;
  _onWrite: OnWrite;
  _encSSLName: string;
  _encKey: Buffer;
  _encIV: Buffer;
}
interface JsDecipher {
  inSeqno: number;
  _onPayload: OnPayload;
  _decipherSSLName: string;
  _decipherKey: Buffer;
  _decipherIV: Buffer;
}

const GCM = /^aes-(128|256)-gcm$/;

/**
 * Counts the payloads GcmPacketDecipher has handed to ssh2 (all connections).
 * A payload is either a view into the socket chunk it arrived in or, when the
 * packet spans chunks, its own unshared buffer; so two payloads whose serials
 * follow each other and that share a buffer lie in the same chunk with only
 * their packets' framing between them (forwards.ts joins channel data there).
 */
export let payloadSerial = 0;

/**
 * Padding bytes from a pool filled by the CSPRNG 4 KiB at a time, each byte
 * used once: one randomFillSync per ~300 packets instead of one per packet
 * (RFC 4253 §6 asks for random padding; it is encrypted here in any case).
 */
let pad = Buffer.alloc(0);
let padAt = 0;
function randomPadding(dst: Buffer, at: number, n: number): void {
  if (padAt + n > pad.length) {
    pad = randomFillSync(Buffer.allocUnsafeSlow(4096));
    padAt = 0;
  }
  for (let i = 0; i < n; i++) dst[at + i] = pad[padAt + i]!;
  padAt += n;
}

export class GcmPacketCipher {
  outSeqno: number;
  _onWrite: OnWrite;
  private readonly gcm: AESGCMCipher;
  private dead = false;
  constructor(js: JsCipher) {
    this.outSeqno = js.outSeqno;
    this._onWrite = js._onWrite;
    this.gcm = new AESGCMCipher(js._encSSLName, js._encKey, js._encIV);
  }
  free(): void {
    this.dead = true;
    // After ssh2's last call: the NEWKEYS being handled may still be on the stack.
    setImmediate(() => this.gcm.free());
  }
  allocPacket(payloadLen: number): Buffer {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = 16 - ((pktLen - 4) & 15);
    if (padLen < 4) padLen += 16;
    pktLen += padLen;
    const packet = Buffer.allocUnsafe(pktLen + TAG_LEN);
    packet.writeUInt32BE(pktLen - 4, 0);
    packet[4] = padLen;
    randomPadding(packet, 5 + payloadLen, padLen);
    return packet;
  }
  encrypt(packet: Buffer): void {
    if (this.dead) return;
    this.gcm.encrypt(packet);
    this._onWrite(packet);
    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}

export class GcmPacketDecipher {
  inSeqno: number;
  _onPayload: OnPayload;
  private readonly gcm: AESGCMDecipher;
  private len = 0;
  private lenBytes = 0;
  /** Where the packet being read lies: the chunk it arrived in, or its own buffer when it spans chunks. */
  private src: Uint8Array | null = null;
  private srcAt = 0;
  private pktLen = 0;
  private readonly tag = Buffer.allocUnsafe(TAG_LEN);
  private tagPos = 0;
  private dead = false;
  constructor(js: JsDecipher) {
    this.inSeqno = js.inSeqno;
    this._onPayload = js._onPayload;
    this.gcm = new AESGCMDecipher(js._decipherSSLName, js._decipherKey, js._decipherIV);
  }
  free(): void {
    this.dead = true;
    setImmediate(() => this.gcm.free());
  }
  /** ssh2's contract: consume data[p..dataLen); a number returned stops early at that offset. */
  decrypt(data: Buffer, p: number, dataLen: number): number | undefined {
    if (this.dead) throw new Error("decipher used after free");
    const base = addressOf(data);
    while (p < dataLen) {
      if (this.lenBytes < 4) {
        let nb = Math.min(4 - this.lenBytes, dataLen - p);
        this.lenBytes += nb;
        while (nb--) this.len = (this.len << 8) + data[p++]!;
        if (this.lenBytes < 4) return;
        if (this.len + 20 > MAX_PACKET_SIZE || this.len < 16 || (this.len & 15) !== 0) {
          throw new Error(`Bad packet length: ${this.len}`);
        }
      }
      if (this.pktLen < this.len) {
        if (p >= dataLen) return;
        const nb = Math.min(this.len - this.pktLen, dataLen - p);
        if (nb === this.len) {
          // The whole packet is in this chunk: decrypt it where it lies.
          this.src = data;
          this.srcAt = p;
        } else {
          this.src ??= Buffer.allocUnsafeSlow(this.len); // never a shared pool slice
          this.src.set(data.subarray(p, p + nb), this.pktLen);
        }
        p += nb;
        this.pktLen += nb;
        if (this.pktLen < this.len || p >= dataLen) return;
      }
      let tag: Mem = this.tag;
      if (this.tagPos === 0 && dataLen - p >= TAG_LEN) {
        tag = base + p; // all of it in this chunk
        p += TAG_LEN;
      } else {
        const nb = Math.min(TAG_LEN - this.tagPos, dataLen - p);
        this.tag.set(data.subarray(p, p + nb), this.tagPos);
        p += nb;
        this.tagPos += nb;
        if (this.tagPos < TAG_LEN) return;
      }
      const src = this.src!;
      const at = this.srcAt;
      const len = this.len;
      this.gcm.decrypt((src === data ? base : addressOf(src)) + at, len, tag);
      const padLen = src[at]!;
      if (padLen + 1 > len) throw new Error("Bad padding length");
      const payload = Buffer.from(src.buffer, src.byteOffset + at + 1, len - padLen - 1);
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this.len = 0;
      this.lenBytes = 0;
      this.src = null;
      this.srcAt = 0;
      this.pktLen = 0;
      this.tagPos = 0;
      payloadSerial++;
      const ret = this._onPayload(payload);
      if (ret !== undefined) return ret === false ? p : (ret as number);
    }
  }
}

function isJsCipher(v: unknown): v is JsCipher {
  const c = v as Partial<JsCipher> | undefined;
  return typeof c?._encSSLName === "string" && GCM.test(c._encSSLName) && !!c._encKey && !!c._encIV;
}
function isJsDecipher(v: unknown): v is JsDecipher {
  const d = v as Partial<JsDecipher> | undefined;
  return (
    typeof d?._decipherSSLName === "string" &&
    GCM.test(d._decipherSSLName) &&
    !!d._decipherKey &&
    !!d._decipherIV
  );
}

/**
 * Call right after `client.connect()` (ssh2 creates its protocol object
 * there, before any key exchange). Returns false when the accelerated path is
 * unavailable (see `unavailable`).
 */
export function accelerate(client: object): boolean {
  const proto = (client as { _protocol?: Record<string, unknown> })._protocol;
  if (!proto || unavailable()) return false;
  let cipher = proto._cipher;
  let decipher = proto._decipher;
  Object.defineProperty(proto, "_cipher", {
    configurable: true,
    enumerable: true,
    get: () => cipher,
    set: (v: unknown) => {
      cipher = isJsCipher(v) ? new GcmPacketCipher(v) : v;
    },
  });
  Object.defineProperty(proto, "_decipher", {
    configurable: true,
    enumerable: true,
    get: () => decipher,
    set: (v: unknown) => {
      decipher = isJsDecipher(v) ? new GcmPacketDecipher(v) : v;
    },
  });
  return true;
}
