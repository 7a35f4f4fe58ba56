/**
 * node:net under Bun, without its stream layer on the data path (issue 12).
 *
 * Bun's node:net is a Duplex wrapped around a native socket. Each read goes
 * native handler → Readable.push → "data", and each write goes
 * Writable.write → _write → native write. A plain TCP relay measured 0.44-0.51
 * user s/GiB through node:net's streams, 0.27-0.34 with these two shortcuts
 * and 0.14-0.20 on Bun's native sockets alone (3 × 100 MiB, loopback).
 *
 * - directReads: the SSH socket's native "data" handler emits "data" itself
 *   while the Readable is flowing and holds nothing (what push() would end up
 *   doing, minus its bookkeeping); otherwise (paused, or data already
 *   buffered) the chunk takes Bun's own path, so order is kept.
 * - writeDirect: a write goes straight to the native socket while the
 *   Writable holds nothing and is not corked; whatever the kernel does not
 *   take goes through write() as before (Bun copies it and says "drain").
 * - writeAll: several buffers for one socket leave in one sendmsg() (libc
 *   through bun:ffi, Linux), gathered where they lie, under the same
 *   condition; the rest, if the kernel takes only part, through write().
 * - directPush: directReads for accepted sockets, at push() (their native
 *   handler belongs to the listener and cannot be swapped).
 *
 * All four reach into Bun's internals (the socket's handler table, its
 * Readable's state, `_handle` and its fd), so each checks for them and does
 * nothing where they are missing (Deno, a different Bun, a hop that is an
 * SSH channel): the stream path is the fallback, and it is the same code
 * path fwd used before.
 */
import type { Socket } from "node:net";

type Handler = (native: unknown, chunk: Buffer) => void;

interface NativeSocket {
  fd: number;
  write(chunk: Uint8Array): number;
  reload(options: { socket: Record<string, unknown> }): void;
}

interface ReadableInternals {
  length: number;
  reading: boolean;
  dataEmitted: boolean;
  ended: boolean;
}

interface BunNetSocket {
  bytesRead: number;
  _handle?: Partial<NativeSocket> | null;
  _readableState?: ReadableInternals;
  _unrefTimer?: () => void;
}

const isBun = "Bun" in globalThis;
/** The native socket under a Bun node:net socket (Node's and Deno's `_handle`s are other things). */
const nativeOf = (sock: Socket) => (isBun ? (sock as unknown as BunNetSocket)._handle : undefined);
/** A chunk emitted now comes out in order: the Readable is flowing and holds nothing. */
const flowsNow = (sock: Socket, state: ReadableInternals) =>
  sock.readableFlowing === true && state.length === 0 && !state.ended && !sock.destroyed;

/**
 * Lets `sock`'s reads skip the Readable while nothing is buffered in it.
 * Returns whether it could (false: the socket keeps Bun's or the runtime's
 * own path). Call once the socket is connected.
 */
export function directReads(sock: Socket): boolean {
  const native = nativeOf(sock);
  const key = Object.getOwnPropertySymbols(sock).find((s) => s.description === "khandlers");
  const handlers = key
    ? (sock as unknown as Record<symbol, Record<string, unknown>>)[key]
    : undefined;
  const state = (sock as unknown as BunNetSocket)._readableState;
  if (typeof native?.reload !== "function" || typeof handlers?.data !== "function" || !state)
    return false;
  const viaStream = handlers.data as Handler;
  const s = sock as unknown as BunNetSocket;
  native.reload({
    socket: {
      ...handlers,
      data(n: unknown, chunk: Buffer) {
        if (!flowsNow(sock, state)) return viaStream(n, chunk);
        s._unrefTimer?.();
        s.bytesRead += chunk.length;
        sock.emit("data", chunk);
      },
    },
  });
  return true;
}

/**
 * directReads for a socket whose handler Bun owns (one accepted by a
 * listener: its handler table is the listener's and cannot be swapped):
 * Bun's handler hands each chunk to `sock.push()`, so an own push() emits
 * "data" itself while the Readable is flowing and holds nothing, which is
 * the fast path of Readable.push() minus its bookkeeping (and the nextTick
 * it schedules per chunk). Otherwise, and for the end (null), Readable.push()
 * as before. Bun only. With the channel side (splice.ts upload), 6
 * interleaved pairs: 140 against 145 CPU µs per 64 KiB request, 33.5 against
 * 35 per 12 B one (medians).
 */
export function directPush(sock: Socket): void {
  const state = (sock as unknown as BunNetSocket)._readableState;
  if (!isBun || !state) return;
  const push = sock.push;
  sock.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk instanceof Uint8Array && chunk.length > 0 && flowsNow(sock, state)) {
      state.reading = false;
      state.dataEmitted = true;
      sock.emit("data", chunk);
      return true;
    }
    return push.call(this, chunk, encoding);
  };
}

/** Nothing is waiting in the socket's Writable (or corked): a write now goes out in order. */
const idle = (sock: Socket) =>
  sock.writableLength === 0 && sock.writableCorked === 0 && !sock.connecting && sock.writable;

/** sock.write(chunk), straight to the native socket when nothing is queued ahead of it. */
export function writeDirect(sock: Socket, chunk: Buffer): boolean {
  const native = nativeOf(sock);
  if (typeof native?.write === "function" && idle(sock)) {
    const n = native.write(chunk);
    if (n === chunk.length) return true;
    if (n > 0) {
      spills++;
      return sock.write(chunk.subarray(n));
    }
  }
  spills++;
  return sock.write(chunk);
}

/**
 * Writes so far that went (in part) through the socket's write(), whose
 * Writable may keep the buffer until it is sent (splice.ts then keeps the
 * chunk it lies in).
 */
export let spills = 0;

/**
 * Writes `bufs`, in order, as writeDirect would write their concatenation,
 * without concatenating: one sendmsg() gathers them where they lie. Returns
 * what the last write() returned (false: the socket is full, wait for "drain").
 */
export function writeAll(sock: Socket, bufs: Buffer[]): boolean {
  if (bufs.length === 1) return writeDirect(sock, bufs[0]!);
  const fd = nativeOf(sock)?.fd;
  let sent = 0;
  if (typeof fd === "number" && fd >= 0 && idle(sock)) {
    const send = loadSendmsg();
    if (send) sent = gather(send, fd, bufs);
  }
  let ok = true;
  for (const b of bufs) {
    if (sent >= b.length) {
      sent -= b.length;
      continue;
    }
    ok = writeDirect(sock, sent > 0 ? b.subarray(sent) : b);
    sent = 0;
  }
  return ok;
}

type SendMsg = (fd: number, msg: Uint32Array, flags: number) => number | bigint;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const IOV_MAX = 64;
let sendmsg: SendMsg | null | undefined;
/** struct iovec[IOV_MAX] and struct msghdr (Linux, 64-bit), as 32-bit words. */
let iov: Uint32Array;
let msg: Uint32Array;

function loadSendmsg(): SendMsg | null {
  if (sendmsg !== undefined) return sendmsg;
  sendmsg = null;
  if (!isBun || process.platform !== "linux" || process.env.FWD_GATHER === "0") return null;
  try {
    const { dlopen, FFIType: T } = require("bun:ffi") as typeof import("bun:ffi");
    const lib = dlopen("libc.so.6", {
      sendmsg: { args: [T.i32, T.ptr, T.i32], returns: T.i64_fast },
    });
    iov = new Uint32Array(IOV_MAX * 4);
    msg = new Uint32Array(14);
    setAddress(msg, 4, addressOf(iov)); // msg_iov (offset 16); msg_name, control: NULL
    sendmsg = lib.symbols.sendmsg as unknown as SendMsg;
  } catch {
    // musl or no libc.so.6: write by write.
  }
  return sendmsg;
}

function setAddress(words: Uint32Array, i: number, address: number): void {
  words[i] = address >>> 0;
  words[i + 1] = Math.floor(address / 2 ** 32);
}

/** Bytes the kernel took (0 on any error: the write() path then meets it and reports it). */
function gather(send: SendMsg, fd: number, bufs: Buffer[]): number {
  let total = 0;
  for (let i = 0; i < bufs.length; i += IOV_MAX) {
    const n = Math.min(IOV_MAX, bufs.length - i);
    let want = 0;
    for (let k = 0; k < n; k++) {
      const b = bufs[i + k]!;
      setAddress(iov, 4 * k, addressOf(b));
      iov[4 * k + 2] = b.length;
      iov[4 * k + 3] = 0;
      want += b.length;
    }
    msg[6] = n; // msg_iovlen (offset 24)
    const r = Number(send(fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL));
    if (r <= 0) return total;
    total += r;
    if (r < want) return total;
  }
  return total;
}

let ptr: ((view: Uint8Array | Uint32Array) => number) | undefined;
/**
 * The address of view[0] (bun:ffi's ptr()), for a pointer argument. A small
 * typed array keeps its bytes inside the JS heap until its `.buffer` is first
 * read, and then they move: an address taken before that would go stale
 * (measured: a payload view made from a 232-byte socket chunk moved it under
 * an address taken earlier). Reading `.buffer` first fixes the bytes where
 * they are for the view's life. Bun only.
 */
export function addressOf(view: Uint8Array | Uint32Array): number {
  ptr ??= (require("bun:ffi") as typeof import("bun:ffi")).ptr;
  void view.buffer;
  return ptr(view);
}
