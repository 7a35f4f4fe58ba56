/**
 * Prompt acknowledgements, for the life of a connection (issue 12).
 *
 * sshd leaves Nagle's algorithm on unless a session asks for a terminal, so
 * with no session at all (`ssh -N`, and fwd, which never opens one) it is on
 * for good. Whenever sshd has two packets to send close together, Nagle holds
 * the second until the first is acknowledged, and a client with nothing to say
 * delays that ACK by 40 ms (the Linux minimum):
 * - twice during setup (EXT_INFO, then SERVICE_ACCEPT; after auth,
 *   hostkeys-00@openssh.com or a DEBUG, then the first
 *   CHANNEL_OPEN_CONFIRMATION): `ssh -vvv` shows both, over half of OpenSSH's
 *   own setup time on loopback;
 * - and whenever a forwarded service answers in two writes (an HTTP server's
 *   headers, then its body): through `ssh -N -L`, a quarter of such requests
 *   take 10-45 ms instead of 2 (wrk, 12-byte bodies: p99 44 ms).
 *
 * So fwd acknowledges what it reads at once:
 * - on Linux under Bun, TCP_QUICKACK on the SSH socket after every read (one
 *   setsockopt; nothing extra on the wire), from the first byte;
 * - elsewhere (other systems, Deno, a hop reached through another hop, or
 *   FWD_TCP_QUICKACK=0), an SSH_MSG_IGNORE when a turn of the event loop read
 *   from the server and wrote nothing back: the ACK rides on it. Servers
 *   discard IGNORE (RFC 4253 §11.2). Only after the first key exchange: under
 *   strict KEX (OpenSSH >= 9.6 and patched older ones) anything but KEX
 *   messages before NEWKEYS ends the connection.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
// @ts-expect-error ssh2's internals have no types; sendPacket(proto, packet) is what its own ping() uses.
import ssh2Utils from "ssh2/lib/protocol/utils.js";

const MSG_IGNORE = 2;
const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

interface PacketWriter {
  allocStart: number;
  alloc(len: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
interface Protocol {
  _packetRW: { write: PacketWriter };
  parse(chunk: Buffer, start: number, end: number): unknown;
}
const { sendPacket } = ssh2Utils as {
  sendPacket(proto: Protocol, packet: Buffer): void;
};

const protocolOf = (client: Client) => (client as unknown as { _protocol?: Protocol })._protocol;

/** ssh2 has no public call for IGNORE; this is how its ping() builds a packet (queued by ssh2 during a rekey). */
function sendIgnore(client: Client): void {
  const proto = protocolOf(client);
  if (!proto) return;
  const w = proto._packetRW.write;
  const p = w.allocStart;
  const packet = w.alloc(1 + 4);
  packet[p] = MSG_IGNORE;
  packet.writeUInt32BE(0, p + 1); // empty data string
  sendPacket(proto, w.finalize(packet));
}

type SetSockOpt = (
  fd: number,
  level: number,
  name: number,
  value: Int32Array,
  len: number,
) => number;
let setsockopt: SetSockOpt | null | undefined;

/** libc's setsockopt through bun:ffi, or null where TCP_QUICKACK is not to be had. */
function loadSetsockopt(): SetSockOpt | null {
  if (setsockopt !== undefined) return setsockopt;
  setsockopt = null;
  if (process.platform !== "linux" || !("Bun" in globalThis)) return null;
  if (process.env.FWD_TCP_QUICKACK === "0") return null;
  try {
    const { dlopen, FFIType: T } = require("bun:ffi") as typeof import("bun:ffi");
    const lib = dlopen("libc.so.6", {
      setsockopt: { args: [T.i32, T.i32, T.i32, T.ptr, T.u32], returns: T.i32 },
    });
    setsockopt = lib.symbols.setsockopt as unknown as SetSockOpt;
  } catch {
    // musl or no libc.so.6: the IGNORE fallback.
  }
  return setsockopt;
}

/**
 * Call right after `client.connect({ sock })` (ssh2 creates its protocol
 * object there); `sock` is the transport ssh2 reads.
 */
export function promptAcks(client: Client, sock: Duplex): void {
  const fd = (sock as { _handle?: { fd?: unknown } })._handle?.fd;
  const proto = protocolOf(client);
  const quickack = typeof fd === "number" && fd >= 0 ? loadSetsockopt() : null;
  if (quickack && proto) {
    const one = new Int32Array([1]);
    const parse = proto.parse;
    // Every chunk ssh2 reads passes here; the kernel sends the pending ACK at once.
    proto.parse = function (this: Protocol, chunk, start, end) {
      quickack(fd as number, IPPROTO_TCP, TCP_QUICKACK, one, 4);
      return parse.call(this, chunk, start, end);
    };
    return;
  }
  ignoreAfterReads(client, sock);
}

/** The fallback: an IGNORE after each turn that read from the server and wrote nothing. */
function ignoreAfterReads(client: Client, sock: Duplex): void {
  const written = () => (sock as { bytesWritten?: number }).bytesWritten;
  let pending = false;
  const onData = () => {
    if (pending) return;
    pending = true;
    const before = written();
    setImmediate(() => {
      pending = false;
      // Something of ours already left this turn (a reply): it carried the ACK.
      if (before !== undefined && written() !== before) return;
      if (!sock.destroyed && sock.writable) sendIgnore(client);
    });
  };
  // After the first key exchange; by then ssh2 reads the socket, so this listener cannot start the flow early.
  client.once("handshake", () => sock.on("data", onData));
  client.once("close", () => sock.removeListener("data", onData));
}
