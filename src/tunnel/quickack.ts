/**
 * Prompt acknowledgements while a connection is being set up (issue 12).
 *
 * sshd leaves Nagle's algorithm on until the session starts, and during setup
 * it often sends two small packets in a row (EXT_INFO, then SERVICE_ACCEPT;
 * after auth, hostkeys-00@openssh.com or a DEBUG, then the first
 * CHANNEL_OPEN_CONFIRMATION). Nagle holds the second until the first is
 * acknowledged, and a client with nothing to say delays that ACK by 40 ms (the
 * Linux minimum). `ssh -vvv` shows both stalls: ~40 ms before SERVICE_ACCEPT
 * and ~40 ms before the first channel opens, over half of OpenSSH's own setup
 * time on loopback.
 *
 * So while setting up, whenever a turn of the event loop reads from the
 * server and writes nothing back, fwd sends an SSH_MSG_IGNORE: the ACK rides
 * on it at once and the server's next packet leaves without waiting. Servers
 * discard IGNORE (RFC 4253 §11.2). Setup means: from the end of the first key
 * exchange (under strict KEX, OpenSSH >= 9.6 and patched older ones, anything
 * but KEX messages before NEWKEYS ends the connection) until `graceMs` after
 * the client is ready, so the first forwarded connection, usually right
 * behind `fwd run -d`, gets its channel without the stall too, or until
 * 64 KiB have come in (setup is a few KiB; beyond that a transfer has begun,
 * and an IGNORE per read would only cost). After that nothing changes.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
// @ts-expect-error ssh2's internals have no types; sendPacket(proto, packet) is what its own ping() uses.
import ssh2Utils from "ssh2/lib/protocol/utils.js";

const MSG_IGNORE = 2;

interface PacketWriter {
  allocStart: number;
  alloc(len: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
interface Protocol {
  _packetRW: { write: PacketWriter };
}
const { sendPacket } = ssh2Utils as {
  sendPacket(proto: Protocol, packet: Buffer): void;
};

/** ssh2 has no public call for IGNORE; this is how its ping() builds a packet (queued by ssh2 during a rekey). */
function sendIgnore(client: Client): void {
  const proto = (client as unknown as { _protocol?: Protocol })._protocol;
  if (!proto) return;
  const w = proto._packetRW.write;
  const p = w.allocStart;
  const packet = w.alloc(1 + 4);
  packet[p] = MSG_IGNORE;
  packet.writeUInt32BE(0, p + 1); // empty data string
  sendPacket(proto, w.finalize(packet));
}

/** Call before `client.connect({ sock })`; returns a function that stops it early. */
export function ackDuringSetup(
  client: Client,
  sock: Duplex,
  graceMs = 2000,
  maxBytes = 64 * 1024,
): () => void {
  const written = () => (sock as { bytesWritten?: number }).bytesWritten;
  let pending = false;
  let read = 0;
  const onData = (chunk: Buffer) => {
    read += chunk.length;
    if (read > maxBytes) return stop();
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    clearTimeout(timer);
    sock.removeListener("data", onData);
  };
  // After the first key exchange; by then ssh2 reads the socket, so this listener cannot start the flow early.
  client.once("handshake", () => sock.on("data", onData));
  client.once("ready", () => {
    timer = setTimeout(stop, graceMs);
    timer.unref?.();
  });
  client.once("close", stop);
  return stop;
}
