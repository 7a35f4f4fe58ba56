/**
 * The SSH transport socket, tuned for ssh2 (issue 12).
 *
 * Without its native add-on (Bun never has it: the add-on links against
 * Node's OpenSSL) ssh2 writes every SSH packet as three buffers (length,
 * ciphertext, tag), and every channel write, window adjust and keepalive is a
 * separate socket write: about 3x the send() calls OpenSSH makes for the same
 * bytes, and on loopback each send() also runs the receiver's TCP path.
 *
 * Coalescing: the first write corks the socket and a setImmediate uncorks it,
 * so whatever ssh2 wrote while the event loop handled this turn's I/O (every
 * channel that had data, every window adjust) leaves in one send (Bun joins
 * the corked chunks; Node and Deno hand them to one writev). That is OpenSSH's
 * own pattern (one write per poll loop): ~1.1 sends per small request through
 * the tunnel instead of ~4 (ssh2 as is) or ~2 (uncork on process.nextTick,
 * which only batches one callback's writes). The flush is never later than
 * the end of the current loop turn, so nothing waits for a later event (a
 * cork held across turns is what stalled setup before).
 * Backpressure is unchanged: write() returns what the socket's write returned
 * (ssh2 ignores it; a channel's SSH window bounds what it may send).
 *
 * Reclaiming: every SSH packet costs ssh2 fresh buffers (socket read, decrypt
 * output, packet build). Left to itself, Bun's GC lets ~80 MiB of them pile up
 * during a bulk transfer, and the allocator hands the freed pages back to the
 * kernel, so they are faulted in again (page faults were the largest single
 * cost in `perf`). An eden collection every 2 MiB through the tunnel keeps the
 * pile small and the pages reused: about half the page faults and peak RSS
 * ~40 MiB lower in a 3 x 100 MiB download. 2 MiB since decryption moved in
 * place (sshcrypto.ts): 4 paired bench runs against 4 MiB gave a VmHWM of
 * 93-96 MiB against 97-104 after bulk and 32-connection wrk, throughput and
 * CPU within noise (bench/README.md). Read chunks that splice.ts frees as
 * soon as their channel data is written (most of a bulk transfer's) are not
 * counted: they leave no garbage to collect. Bun only; elsewhere the
 * runtime's own GC decides.
 */
import type { Socket } from "node:net";
import { directReads } from "./bunsocket.ts";
import { released } from "./splice.ts";

const RECLAIM_EVERY = 2 * 2 ** 20;
const bunGc = (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc;

/** The SSH transport as fwd uses it: coalesced writes, reads without the Readable, garbage reclaimed as bytes flow. */
export function tuneTransport(sock: Socket): Socket {
  directReads(sock);
  return coalesceWrites(sock, bunGc ? reclaimer(sock, bunGc) : undefined);
}

/**
 * Calls `gc(false)` (a cheap, non-blocking young-generation collection) each
 * time another `every` bytes have gone either way, not counting the read
 * chunks splice.ts has already freed (`freed`: its running total; only what
 * it frees after this call counts). Reads bytesRead and bytesWritten rather
 * than listening to "data": a listener added before ssh2 attaches its own
 * would switch the socket to flowing mode and lose the server's banner.
 */
export function reclaimer(
  sock: Socket,
  gc: (sync: boolean) => void,
  every = RECLAIM_EVERY,
  freed: () => number = () => released,
): () => void {
  let last = 0;
  const freedBefore = freed();
  return () => {
    const moved = sock.bytesRead + sock.bytesWritten - (freed() - freedBefore);
    if (moved - last >= every) {
      last = moved;
      gc(false);
    }
  };
}

/**
 * Makes every burst of writes within one event-loop turn a single send;
 * returns the same socket. `afterFlush` runs once per flush (the reclaimer's
 * check); `schedule` decides when the flush runs.
 */
export function coalesceWrites(
  sock: Socket,
  afterFlush?: () => void,
  schedule: (f: () => void) => void = setImmediate,
): Socket {
  const write = sock.write;
  let corked = false;
  const flush = () => {
    corked = false;
    sock.uncork();
    afterFlush?.();
  };
  sock.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    if (!corked) {
      corked = true;
      sock.cork();
      schedule(flush);
    }
    return write.apply(this, args);
  } as Socket["write"];
  return sock;
}
