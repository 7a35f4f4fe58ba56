/**
 * AES-GCM through libcrypto for ssh2 (src/tunnel/sshcrypto.ts, libcrypto.ts): packets
 * round-trip in any chunking, a flipped bit is refused, and a real ssh2
 * connection (accelerated client, ssh2's own JavaScript path on the server)
 * carries data both ways across a rekey.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Client, Server } from "ssh2";
import { generateKey } from "../../src/demo/bastion.ts";
import {
  accelerate,
  chunkUse,
  GcmPacketCipher,
  GcmPacketDecipher,
  unavailable,
} from "../../src/tunnel/sshcrypto.ts";
import { prng } from "../helpers/prng.ts";

const onLinux = process.platform === "linux";

test("libcrypto is found and passes the self-test here (Linux, Bun)", () => {
  if (onLinux) expect(unavailable()).toBe("");
});

describe.skipIf(unavailable() !== "")("packet ciphers", () => {
  function pair() {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const wire: Buffer[] = [];
    const got: Buffer[] = [];
    const enc = new GcmPacketCipher({
      outSeqno: 3,
      _onWrite: (p) => wire.push(Buffer.from(p)),
      _encSSLName: "aes-128-gcm",
      _encKey: key,
      _encIV: Buffer.from(iv),
    });
    const dec = new GcmPacketDecipher({
      inSeqno: 3,
      _onPayload: (p) => void got.push(Buffer.from(p)),
      _decipherSSLName: "aes-128-gcm",
      _decipherKey: key,
      _decipherIV: Buffer.from(iv),
    });
    const send = (payload: Buffer) => {
      const packet = enc.allocPacket(payload.length);
      packet.set(payload, 5);
      enc.encrypt(packet);
    };
    return { enc, dec, wire, got, send };
  }

  test("payloads of every size come back intact, whatever the chunking", () => {
    const rnd = prng(7);
    const { dec, wire, got, send, enc } = pair();
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const n = i < 40 ? i : Math.floor(rnd() * 32768);
      const payload = randomBytes(n);
      sent.push(payload);
      send(payload);
    }
    expect(enc.outSeqno).toBe(203);
    const stream = Buffer.concat(wire);
    let p = 0;
    while (p < stream.length) {
      const n = 1 + Math.floor(rnd() * 70000);
      const chunk = Buffer.from(stream.subarray(p, p + n));
      dec.decrypt(chunk, 0, chunk.length);
      p += n;
    }
    expect(got.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!)).toBe(true);
    expect(dec.inSeqno).toBe(203);
  });

  test("small chunks whose bytes still live in the JS heap: every payload intact", () => {
    // What a socket read of a few hundred bytes gives: a fresh typed array with
    // no ArrayBuffer yet. Its bytes move when .buffer is first read (a payload
    // view does that), which must not leave a cached address behind.
    const rnd = prng(11);
    const { dec, wire, got, send } = pair();
    const sent: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const payload = randomBytes(Math.floor(rnd() * 60));
      sent.push(payload);
      send(payload);
    }
    const stream = Buffer.concat(wire);
    let p = 0;
    while (p < stream.length) {
      const n = 1 + Math.floor(rnd() * 600);
      const chunk = new Uint8Array(stream.subarray(p, p + n));
      Object.setPrototypeOf(chunk, Buffer.prototype);
      dec.decrypt(chunk as Buffer, 0, chunk.length);
      p += n;
    }
    expect(got.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!)).toBe(true);
  });

  test("what release() is told: a chunk the decipher still points into, or one with other messages, is not whole", () => {
    const { dec, wire, send } = pair();
    const channelData = () =>
      Buffer.concat([Buffer.from([94, 0, 0, 0, 1, 0, 0, 0x40, 0]), randomBytes(0x4000)]);
    for (let i = 0; i < 4; i++) send(channelData());
    send(Buffer.from([2, 0, 0, 0, 0])); // SSH_MSG_IGNORE
    send(channelData());
    const [a, b, c, d, ignore, e] = wire.map((w) => Buffer.from(w));
    const feed = (chunk: Buffer) => {
      dec.decrypt(chunk, 0, chunk.length);
      return { same: chunkUse.chunk === chunk, whole: chunkUse.whole, views: chunkUse.views };
    };
    // Whole packets of channel data: whole, each payload a view into it.
    expect(feed(Buffer.concat([a!]))).toEqual({ same: true, whole: true, views: 1 });
    // b's body ends the chunk, its tag comes with the next one: b still points into this chunk.
    expect(feed(b!.subarray(0, b!.length - 16))).toEqual({ same: true, whole: false, views: 0 });
    // b's tag, c whole, then d's first half (copied out, nothing left pointing in).
    const half = d!.length >> 1;
    const next = Buffer.concat([b!.subarray(b!.length - 16), c!, d!.subarray(0, half)]);
    expect(feed(next)).toEqual({ same: true, whole: true, views: 1 });
    // d's rest, then a message that is not channel data, then e.
    expect(feed(Buffer.concat([d!.subarray(half), ignore!, e!]))).toEqual({
      same: true,
      whole: false,
      views: 1,
    });
  });

  test("padding is fresh random bytes for every packet, across pool refills", () => {
    const { enc } = pair();
    const pads = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < 2000; i++) {
      const packet = enc.allocPacket(7); // 4 + 1 + 7 = 12: 4 bytes of padding
      const pad = packet.subarray(5 + 7, packet.length - 16);
      expect(pad.length).toBeGreaterThanOrEqual(4);
      pads.add(pad.toString("hex"));
      bytes += pad.length;
    }
    // 2000 draws of 4 random bytes: a repeat is a ~0.05 % event; a reused pool would repeat at once.
    expect(bytes).toBeGreaterThan(4096); // more than one pool
    expect(pads.size).toBeGreaterThanOrEqual(1998);
  });

  test("a flipped bit anywhere in a packet is refused", () => {
    for (const where of ["body", "tag", "length"] as const) {
      const { dec, wire, send } = pair();
      send(Buffer.from("hello, bastion"));
      const pkt = Buffer.from(wire[0]!);
      const i = where === "length" ? 3 : where === "tag" ? pkt.length - 1 : 8;
      pkt[i] = pkt[i]! ^ 1;
      expect(() => dec.decrypt(pkt, 0, pkt.length)).toThrow();
    }
  });
});

describe.skipIf(unavailable() !== "")("ssh2 over the accelerated path", () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = new Server({ hostKeys: [generateKey().private] }, (conn) => {
      conn.on("error", () => {});
      conn.on("authentication", (ctx) => ctx.accept());
      conn.on("ready", () => {
        // An echo "target": whatever the client sends on a direct-tcpip channel comes back.
        conn.on("tcpip", (accept) => {
          const ch = accept();
          ch.on("data", (d: Buffer) => ch.write(d));
          ch.on("end", () => ch.end());
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  test("8 MiB echoed through a channel, with a rekey in the middle", async () => {
    const client = new Client();
    const ready = new Promise<void>((resolve, reject) => {
      client.once("ready", resolve);
      client.once("error", reject);
    });
    client.connect({
      host: "127.0.0.1",
      port,
      username: "u",
      password: "p",
      algorithms: { cipher: ["aes128-gcm@openssh.com"] },
    });
    expect(accelerate(client)).toBe(true);
    await ready;
    const proto = (client as unknown as { _protocol: { _cipher: unknown; _decipher: unknown } })
      ._protocol;
    expect(proto._cipher).toBeInstanceOf(GcmPacketCipher);
    expect(proto._decipher).toBeInstanceOf(GcmPacketDecipher);

    const firstCipher = proto._cipher;
    const firstDecipher = proto._decipher;
    const data = randomBytes(8 * 2 ** 20);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      client.forwardOut("127.0.0.1", 0, "echo", 7, (err, ch) => {
        if (err) return reject(err);
        const parts: Buffer[] = [];
        let n = 0;
        ch.on("data", (d: Buffer) => {
          parts.push(Buffer.from(d));
          n += d.length;
          if (n >= data.length) {
            ch.end();
            resolve(Buffer.concat(parts));
          }
        });
        ch.on("error", reject);
        const half = data.length / 2;
        ch.write(data.subarray(0, half));
        (client as unknown as { _protocol: { rekey(): void } })._protocol.rekey();
        ch.write(data.subarray(half));
      });
    });
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(echoed.length).toBe(data.length);
    expect(sha(echoed)).toBe(sha(data));
    // The rekey installed new ciphers, and they were swapped too.
    expect(proto._cipher).not.toBe(firstCipher);
    expect(proto._decipher).not.toBe(firstDecipher);
    expect(proto._cipher).toBeInstanceOf(GcmPacketCipher);
    expect(proto._decipher).toBeInstanceOf(GcmPacketDecipher);
    client.end();
  });
});
