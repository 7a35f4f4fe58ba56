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
 *
 * Both reach into Bun's internals (the socket's handler table, `_handle`),
 * so both check for them and do nothing where they are missing (Deno, a
 * different Bun, a hop that is an SSH channel): the stream path is the
 * fallback, and it is the same code path fwd used before.
 */
import type { Socket } from "node:net";

type Handler = (native: unknown, chunk: Buffer) => void;

interface NativeSocket {
  write(chunk: Uint8Array): number;
  reload(options: { socket: Record<string, unknown> }): void;
}

interface BunNetSocket {
  bytesRead: number;
  _handle?: Partial<NativeSocket> | null;
  _readableState?: { length: number };
  _unrefTimer?: () => void;
}

const isBun = "Bun" in globalThis;
/** The native socket under a Bun node:net socket (Node's and Deno's `_handle`s are other things). */
const nativeOf = (sock: Socket) => (isBun ? (sock as unknown as BunNetSocket)._handle : undefined);

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
        if (sock.readableFlowing !== true || state.length !== 0 || sock.destroyed)
          return viaStream(n, chunk);
        s._unrefTimer?.();
        s.bytesRead += chunk.length;
        sock.emit("data", chunk);
      },
    },
  });
  return true;
}

/** sock.write(chunk), straight to the native socket when nothing is queued ahead of it. */
export function writeDirect(sock: Socket, chunk: Buffer): boolean {
  const native = nativeOf(sock);
  if (
    typeof native?.write === "function" &&
    sock.writableLength === 0 &&
    sock.writableCorked === 0 &&
    !sock.connecting &&
    sock.writable
  ) {
    const n = native.write(chunk);
    if (n === chunk.length) return true;
    if (n > 0) return sock.write(chunk.subarray(n));
  }
  return sock.write(chunk);
}
