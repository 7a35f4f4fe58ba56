/**
 * ssh2's AES-GCM packet path on libcrypto (issue 12).
 *
 * Without its native add-on (which Bun cannot load) ssh2 creates a cipher
 * object per packet and allocates fresh buffers for each piece of it (length,
 * ciphertext, tag) going out, and for every partial decrypt coming in. Its
 * add-on path instead encrypts and decrypts each packet in place, in the
 * buffer it already has, with one long-lived EVP context per direction, as
 * OpenSSH does. `accelerate(client)` gives ssh2 that path: whenever ssh2
 * installs its JavaScript AES-GCM cipher or decipher after a key exchange, it
 * is swapped, before its first packet, for the add-on path's logic (as in
 * ssh2's lib/protocol/crypto.js, AESGCM*Binding) over libcrypto.ts.
 *
 * Nothing changes (ssh2 keeps its own path) when libcrypto.ts's AES-GCM is
 * unavailable.
 */
import { randomFillSync } from "node:crypto";
import { addressOf, spills } from "./bunsocket.ts";
import { AESGCMCipher, AESGCMDecipher, type Mem, TAG_LEN, unavailable } from "./libcrypto.ts";

export { unavailable };

// ssh2's AES-GCM packet classes, add-on flavour (lib/protocol/crypto.js,
// AESGCMCipherBinding / AESGCMDecipherBinding), over libcrypto.ts's contexts.

const MAX_PACKET_SIZE = 35000; // ssh2's own limit
const CHANNEL_DATA = 94;
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
 * their packets' framing between them (splice.ts joins channel data there).
 */
export let payloadSerial = 0;
/**
 * What became of the socket chunk being read, for splice.ts's release(),
 * which frees a chunk as soon as nothing can point into it. `whole` holds
 * while every packet that lay in the chunk went through this decipher as
 * channel data (ssh2 keeps views of other messages, e.g. the server's KEXINIT
 * for the exchange hash) and the decipher keeps nothing of it (a packet whose
 * tag is yet to come keeps its chunk); `views` counts those payloads and
 * `queued` those splice.ts took; `spills` is bunsocket's count when it came.
 */
export const chunkUse = {
  bytes: null as ArrayBufferLike | null,
  chunk: null as Uint8Array | null,
  whole: false,
  views: 0,
  queued: 0,
  spills: 0,
};

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
    const use = chunkUse;
    if (use.chunk !== data) {
      use.chunk = data;
      use.bytes = data.buffer;
      use.whole = p === 0;
      use.views = 0;
      use.queued = 0;
      use.spills = spills;
    }
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
        if (this.pktLen < this.len || p >= dataLen) return this.pause(data);
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
        if (this.tagPos < TAG_LEN) return this.pause(data);
      }
      const src = this.src!;
      const at = this.srcAt;
      const len = this.len;
      this.gcm.decrypt((src === data ? base : addressOf(src)) + at, len, tag);
      const padLen = src[at]!;
      if (padLen + 1 > len) throw new Error("Bad padding length");
      if (src === data) {
        if (src[at + 1] === CHANNEL_DATA) use.views++;
        else use.whole = false;
      }
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
      if (ret !== undefined) {
        use.whole = false;
        return ret === false ? p : (ret as number);
      }
    }
  }
  /** Out of data mid-packet: a packet left pointing into `data` keeps it from being freed. */
  private pause(data: Buffer): undefined {
    if (this.src === data) chunkUse.whole = false;
    return undefined;
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
