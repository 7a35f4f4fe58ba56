/**
 * The SSH transport socket, tuned for ssh2 (issue 12).
 *
 * Without its native add-on (Bun never has it: the add-on links against
 * Node's OpenSSL) ssh2 writes every SSH packet as three buffers (length,
 * ciphertext, tag), and every channel write, window adjust and keepalive is a
 * separate socket write: about 3x the send() calls OpenSSH makes for the same
 * bytes, and on loopback each send() also runs the receiver's TCP path.
 *
 * Coalescing: the first write in a tick corks the socket and process.nextTick
 * uncorks it, so whatever ssh2 wrote while handling one event leaves in one
 * send (Bun joins the corked chunks; Node and Deno hand them to one writev).
 * The flush is never later than the end of the current tick, so nothing waits
 * for a later event (a cork held across ticks is what stalled setup before).
 * Backpressure is unchanged: write() returns what the socket's write returned
 * (ssh2 ignores it; a channel's SSH window bounds what it may send).
 */
import type { Socket } from "node:net";

/** Makes every burst of writes within one tick a single send; returns the same socket. */
export function coalesceWrites(sock: Socket): Socket {
  const write = sock.write;
  let corked = false;
  const flush = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(flush);
    }
    return write.apply(this, args);
  } as Socket["write"];
  return sock;
}
