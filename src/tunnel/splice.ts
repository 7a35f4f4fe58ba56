/**
 * The data path of one forwarded connection: a local socket spliced to an SSH
 * channel, both ways, with half-close passed through. Both directions skip
 * the streams where they can (issue 12; bench/README.md has what each part
 * bought): local → channel straight into ssh2's channelData() (`upload`),
 * channel → local joined in place per socket read and written once per read
 * (`deliver`, `queue`), after which the read's buffer is freed at once when
 * nothing can point into it any more (`release`).
 */
import type { Socket } from "node:net";
import type { ClientChannel } from "ssh2";
import { directPush, spills, writeAll } from "./bunsocket.ts";
import { chunkUse, payloadSerial } from "./sshcrypto.ts";
import type { ForwardStatus } from "./status.ts";

/**
 * Pipe both ways; half-close passes through (the socket must allow half-open:
 * an EOF from one side is only an EOF, as with ssh); count bytes; never throws.
 */
export function splice(sock: Socket, ch: ClientChannel, stats: ForwardStatus): void {
  stats.connections++;
  sock.setNoDelay(true);
  directPush(sock);
  upload(sock, ch, stats);
  deliver(ch, sock, stats);
  let closed = false;
  const done = () => {
    if (closed) return;
    closed = true;
    stats.connections--;
    sock.destroy();
    ch.destroy();
  };
  sock.on("error", done);
  ch.on("error", done);
  // The local side is gone (both directions done, or reset): nothing more to carry.
  sock.on("close", done);
  // The channel is closed. ssh2 emits this only after the channel's "end", so the
  // pipe has already ended the socket: let what it queued reach the local peer
  // before closing (destroying now would cut the tail of the data).
  ch.on("close", () => {
    if (closed) return;
    flushFor(sock);
    if (sock.writableFinished) return done();
    sock.once("finish", done);
    sock.end();
  });
}

/** What ssh2's Channel._write uses to send. */
interface ChannelOut {
  outgoing?: { state: string; window: number; packetSize: number; id: number };
  _client?: { _protocol?: { channelData?(id: number, data: Buffer): void } };
}

/**
 * Local socket → channel, as sock.pipe(ch) did, without the channel's
 * Writable in between while it holds nothing (issue 12): a chunk that fits
 * the channel's window and packet size goes straight to ssh2's
 * channelData(), exactly as Channel._write would send it, window and all.
 * Anything else (window short, something queued ahead, channel not open)
 * goes through ch.write(), in order; false pauses the socket until the
 * channel's "drain", and the socket's end ends the channel (EOF), as pipe()
 * does. Nothing is written to a channel that can no longer be written.
 */
function upload(sock: Socket, ch: ClientChannel, stats: ForwardStatus): void {
  const c = ch as unknown as ChannelOut;
  const out = c.outgoing;
  let paused = false;
  const resume = () => {
    paused = false;
    sock.resume();
  };
  sock.on("data", (b: Buffer) => {
    stats.bytesOut += b.length;
    if (!ch.writable) return;
    // Looked up per chunk, as Channel._write does.
    const protocol = c._client?._protocol;
    if (
      protocol?.channelData &&
      out?.state === "open" &&
      ch.writableLength === 0 &&
      ch.writableCorked === 0 &&
      b.length <= out.window &&
      b.length <= out.packetSize
    ) {
      protocol.channelData(out.id, b);
      out.window -= b.length;
      return;
    }
    if (!ch.write(b) && !paused) {
      paused = true;
      sock.pause();
      ch.once("drain", resume);
    }
  });
  sock.once("end", () => ch.end());
}

/** The parts of ssh2's Channel that its CHANNEL_DATA handler drives. */
interface ChannelInternals {
  push(chunk: Buffer | null): boolean;
  _read(size: number): void;
}

/**
 * Channel → local socket, without the channel's Readable in between (issue 12:
 * ~7 % less CPU per GiB than ch.pipe(sock)). ssh2 hands every CHANNEL_DATA
 * payload to channel.push(); here it joins the run for that socket (see
 * `queue`), written before the event loop moves on. A write that returns
 * false makes the next push() return false, ssh2's own backpressure signal:
 * it then holds back the window adjust until _read() is called, which the
 * socket's "drain" does, so the SSH window (2 MiB) still bounds what fwd
 * holds for a local reader that is slower than the server. EOF still goes
 * through the Readable (push(null)), so "end" and "close" keep ssh2's order.
 */
function deliver(ch: ClientChannel, sock: Socket, stats: ForwardStatus): void {
  const c = ch as unknown as ChannelInternals;
  // Whatever arrived with the open confirmation is in the Readable's buffer: it
  // goes first (read() may return it one chunk at a time).
  for (;;) {
    const early = ch.read() as Buffer | null;
    if (early === null) break;
    stats.bytesIn += early.length;
    sock.write(early);
  }
  const push = c.push;
  let waiting = false;
  const drained = () => {
    waiting = false;
    c._read(0);
  };
  const full = () => {
    if (waiting) return;
    waiting = true;
    sock.once("drain", drained);
  };
  c.push = function (this: ChannelInternals, chunk: Buffer | null): boolean {
    if (chunk === null) {
      flushFor(sock);
      return push.call(this, chunk);
    }
    if (sock.destroyed) return false; // closing: no window adjust, nothing kept
    stats.bytesIn += chunk.length;
    queue(sock, chunk, full);
    return !waiting;
  };
  ch.on("end", () => sock.end());
  ch.resume();
}

/**
 * The channel data waiting to be written: consecutive payloads for one socket,
 * joined inside the socket chunk they were decrypted in.
 *
 * sshd sends 32 KiB packets and a read of the SSH socket brings up to 512 KiB,
 * so a bulk transfer used to cost one socket write (and one wake-up of the
 * local reader) per 32 KiB. When the next payload for the same socket is the
 * very next packet in the same chunk (sshcrypto's payloadSerial), it is moved
 * back over the framing between them (tag, padding, next header: bytes
 * already consumed), so the run grows in place, with no allocation, and
 * leaves at the end of this read, as OpenSSH writes a channel's buffer once
 * per poll loop. Anything else (another socket, another packet in between, a
 * packet that spanned chunks, ssh2's own decipher) ends the run.
 *
 * A socket's runs of one read (its packets interleaved with other channels'
 * ones, or after one that spanned chunks) then leave together, in one
 * sendmsg() where it is to be had (writeAll): a 64 KiB response through 32
 * busy channels took 2-3 writes, OpenSSH's one.
 */
interface Run {
  sock: Socket;
  full: () => void;
  bytes: ArrayBufferLike;
  start: number;
  end: number;
  serial: number;
}
let run: Run | null = null;
/**
 * Sockets with ended runs not yet written, and those runs, in order. A plain
 * array, emptied after each flush: a Map here (set, clear) kept read chunks
 * alive past the eden collections, so every read landed in fresh pages
 * (page faults ×8 in bulk, measured).
 */
interface Out {
  sock: Socket;
  full: () => void;
  bufs: Buffer[];
}
const ended: Out[] = [];
let scheduled = false;
/** Tag (16) + largest padding (255) + next packet's framing up to its data (14). */
const MAX_GAP = 16 + 255 + 14;

function queue(sock: Socket, data: Buffer, full: () => void): void {
  const bytes = data.buffer;
  if (bytes === chunkUse.bytes) chunkUse.queued++;
  const r = run;
  const at = data.byteOffset;
  if (
    r !== null &&
    r.sock === sock &&
    r.bytes === bytes &&
    r.serial + 1 === payloadSerial &&
    at >= r.end &&
    at - r.end <= MAX_GAP
  ) {
    if (at !== r.end) new Uint8Array(r.bytes).copyWithin(r.end, at, at + data.length);
    r.end += data.length;
    r.serial = payloadSerial;
    return;
  }
  if (r !== null) endRun();
  run = { sock, full, bytes, start: at, end: at + data.length, serial: payloadSerial };
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushScheduled);
  }
}

function flushScheduled(): void {
  scheduled = false;
  endRun();
  // Taken out first: nothing a write does can change the list being walked.
  for (const out of ended.splice(0)) send(out);
  release();
}

/** Bytes of socket chunks freed by release() (transport.ts's reclaimer leaves them out). */
export let released = 0;
const MIN_RELEASE = 16 * 1024;

/**
 * Frees the socket chunk just read once nothing can point into it: every
 * packet in it was channel data, splice.ts took all of it, and all of that
 * went to the kernel (sendmsg or the native write took it in full: nothing
 * waits in a Writable). ArrayBuffer.prototype.transfer(0) detaches the
 * chunk's buffer and frees its bytes now instead of at the next collection,
 * so the collections every 2 MiB (transport.ts) are needed only for what is
 * not freed here (issue 12: -7...12 % CPU per GiB, bench/README.md). Only a
 * chunk that is its buffer's only view, and large enough to have its bytes
 * outside the JS heap.
 */
function release(): void {
  const u = chunkUse;
  const chunk = u.chunk;
  const bytes = u.bytes as (ArrayBuffer & { transfer?(n: number): ArrayBuffer }) | null;
  if (
    chunk === null ||
    bytes === null ||
    !u.whole ||
    u.views === 0 ||
    u.queued !== u.views ||
    spills !== u.spills ||
    chunk.byteOffset !== 0 ||
    chunk.length < MIN_RELEASE ||
    bytes.byteLength !== chunk.length ||
    typeof bytes.transfer !== "function"
  )
    return;
  u.chunk = null;
  u.bytes = null;
  released += chunk.length;
  bytes.transfer(0);
}

function endRun(): void {
  const r = run;
  if (r === null) return;
  run = null;
  const buf = Buffer.from(r.bytes, r.start, r.end - r.start);
  const i = endedIndex(r.sock);
  if (i >= 0) ended[i]!.bufs.push(buf);
  else ended.push({ sock: r.sock, full: r.full, bufs: [buf] });
}

function endedIndex(sock: Socket): number {
  for (let i = 0; i < ended.length; i++) if (ended[i]!.sock === sock) return i;
  return -1;
}

function send(out: Out): void {
  if (out.sock.destroyed) return;
  if (!writeAll(out.sock, out.bufs)) out.full();
}

/** Writes out what is queued for `sock` (before its end). */
function flushFor(sock: Socket): void {
  if (run?.sock === sock) endRun();
  const i = endedIndex(sock);
  if (i >= 0) send(ended.splice(i, 1)[0]!);
}
