/**
 * The three kinds of forward (ssh -L, -R, -D). Listeners stay open while the
 * SSH link reconnects; a channel is opened through whatever link is current.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { ClientChannel } from "ssh2";
import { explain, FwdError, messageOf } from "../errors.ts";
import type { Address, ForwardSpec, ListenAddress } from "../sshconfig/forward.ts";
import { directPush, writeAll } from "./bunsocket.ts";
import { portHolder } from "./portholder.ts";
import { readSocksRequest } from "./socks.ts";
import { payloadSerial } from "./sshcrypto.ts";
import type { ForwardStatus } from "./status.ts";

/** The current SSH connection, as the forwards see it. */
export interface Link {
  /** Opens a direct-tcpip (or streamlocal) channel, waiting (bounded) for the link to be up. */
  openChannel(to: Address, from: { ip: string; port: number }): Promise<ClientChannel>;
  log(line: string): void;
}

export interface Forward {
  spec: ForwardSpec;
  stats: ForwardStatus;
  close(): Promise<void>;
}

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
  const r = run;
  const at = data.byteOffset;
  if (
    r !== null &&
    r.sock === sock &&
    r.bytes === data.buffer &&
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
  run = { sock, full, bytes: data.buffer, start: at, end: at + data.length, serial: payloadSerial };
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

export const fmtHost = (h: string) => (h.includes(":") ? `[${h}]` : h);
/** "host:port", "[v6]:port" or the socket path of a destination. */
export const fmtAddress = (a: Address): string =>
  "socket" in a ? a.socket : `${fmtHost(a.host)}:${a.port}`;

/**
 * Bind addresses for a local listener, mirroring OpenSSH channels.c
 * channel_fwd_bind_addr(): no address -> loopback unless GatewayPorts;
 * "" or "*" -> all interfaces; "localhost" -> loopback; else as given.
 */
export function bindHosts(bind: string | undefined, gatewayPorts: boolean): string[] {
  if (bind === undefined) return gatewayPorts ? ["0.0.0.0", "::"] : ["127.0.0.1", "::1"];
  if (bind === "" || bind === "*") return ["0.0.0.0", "::"];
  if (bind === "localhost") return ["127.0.0.1", "::1"];
  return [bind];
}

function listenOn(
  server: Server,
  opts: { host?: string; port?: number; path?: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen({ ...opts, exclusive: true, ipv6Only: opts.host === "::" }, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
}

/** Bind every listener of one forward; a port in use fails fast naming it and its holder. */
async function bindListeners(
  listen: ListenAddress,
  gatewayPorts: boolean,
  onConnection: (sock: Socket) => void,
): Promise<Server[]> {
  const servers: Server[] = [];
  const closeAll = () => Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if ("socket" in listen) {
    const s = createServer({ allowHalfOpen: true }, onConnection);
    await listenOn(s, { path: listen.socket });
    return [s];
  }
  const hosts = bindHosts(listen.bind, gatewayPorts);
  let port = listen.port;
  for (const host of hosts) {
    const s = createServer({ allowHalfOpen: true }, onConnection);
    try {
      await listenOn(s, { host, port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // No IPv6 on this machine: the IPv4 loopback alone is what ssh ends up with too.
      if (
        (code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT") &&
        host.includes(":") &&
        servers.length > 0
      )
        continue;
      await closeAll();
      if (code === "EADDRINUSE") {
        const holder = portHolder(port);
        throw new FwdError(
          "port-in-use",
          `local port ${port} is already in use${holder ? ` by ${holder}` : ""} (${fmtHost(host)}:${port})`,
          `pick another local port, or stop ${holder ?? "what holds it"}`,
        );
      }
      if (code === "EACCES") {
        throw new FwdError(
          "forward",
          `not allowed to listen on ${fmtHost(host)}:${port}`,
          "ports below 1024 need root; use a higher port",
        );
      }
      throw new FwdError(
        "forward",
        `cannot listen on ${fmtHost(host)}:${port}: ${messageOf(e)}`,
        "check the bind address of the forward",
      );
    }
    // Port 0: every address family gets the port the first one was given.
    if (port === 0) {
      const a = s.address();
      if (a && typeof a === "object") port = a.port;
    }
    servers.push(s);
  }
  return servers;
}

function portOf(servers: Server[]): number | undefined {
  const a = servers[0]?.address();
  return a && typeof a === "object" ? a.port : undefined;
}

/** Remembers the live local connections, so closing the forward can end them. */
function tracker(onConnection: (sock: Socket) => void) {
  const live = new Set<Socket>();
  const track = (sock: Socket) => {
    live.add(sock);
    sock.once("close", () => live.delete(sock));
    onConnection(sock);
  };
  return { live, track };
}

/** Binds the listeners of a local or dynamic forward and fills in its port and description. */
async function listenForward(
  spec: Extract<ForwardSpec, { kind: "local" | "dynamic" }>,
  gatewayPorts: boolean,
  stats: ForwardStatus,
  onConnection: (sock: Socket) => void,
): Promise<Forward> {
  const { live, track } = tracker(onConnection);
  const servers = await bindListeners(spec.listen, gatewayPorts, track);
  stats.port = "socket" in spec.listen ? undefined : portOf(servers);
  stats.description = describe(spec, stats.port);
  return {
    spec,
    stats,
    // server.close() waits for every open connection: a peer that never reads
    // or never closes its half (allowHalfOpen) would hold stop() forever.
    close: async () => {
      const closed = Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      for (const sock of live) sock.destroy();
      await closed;
    },
  };
}

function describe(spec: ForwardSpec, port: number | undefined): string {
  const l = spec.listen;
  const listen =
    "socket" in l
      ? l.socket
      : `${l.bind && l.bind !== "localhost" ? fmtHost(l.bind) : "127.0.0.1"}:${port ?? l.port}`;
  if (spec.kind === "dynamic") return `${listen} → SOCKS`;
  return `${listen} → ${fmtAddress(spec.connect)}`;
}

export function newStats(kind: ForwardStatus["kind"], description = ""): ForwardStatus {
  return { description, kind, port: undefined, connections: 0, bytesIn: 0, bytesOut: 0 };
}

/** ssh -L: listen here, connect from the far side. */
export async function openLocal(
  spec: Extract<ForwardSpec, { kind: "local" }>,
  gatewayPorts: boolean,
  link: Link,
): Promise<Forward> {
  const stats = newStats("local");
  const onConnection = (sock: Socket) => {
    sock.on("error", () => {});
    sock.pause();
    link
      .openChannel(spec.connect, {
        ip: sock.remoteAddress ?? "127.0.0.1",
        port: sock.remotePort ?? 0,
      })
      .then((ch) => {
        splice(sock, ch, stats);
        sock.resume();
      })
      .catch((e) => {
        link.log(`${describe(spec, stats.port)}: ${explain(e)}`);
        sock.destroy();
      });
  };
  return listenForward(spec, gatewayPorts, stats, onConnection);
}

/** ssh -D: a SOCKS4/5 proxy whose CONNECTs are opened from the far side (names resolved there). */
export async function openDynamic(
  spec: Extract<ForwardSpec, { kind: "dynamic" }>,
  gatewayPorts: boolean,
  link: Link,
): Promise<Forward> {
  const stats = newStats("dynamic");
  const onConnection = (sock: Socket) => {
    sock.on("error", () => {});
    // Half-open is allowed: a client that sends EOF before a whole request would
    // otherwise be held open. setImmediate: a request and EOF in one read still count.
    let asked = false;
    sock.once("end", () =>
      setImmediate(() => {
        if (!asked) sock.destroy();
      }),
    );
    readSocksRequest(sock)
      .then(async (req) => {
        asked = true;
        sock.pause();
        try {
          const ch = await link.openChannel(
            { host: req.host, port: req.port },
            { ip: sock.remoteAddress ?? "127.0.0.1", port: sock.remotePort ?? 0 },
          );
          req.reply(true);
          splice(sock, ch, stats);
          sock.resume();
        } catch (e) {
          link.log(`SOCKS ${fmtHost(req.host)}:${req.port}: ${explain(e)}`);
          req.reply(false);
        }
      })
      .catch(() => sock.destroy());
  };
  return listenForward(spec, gatewayPorts, stats, onConnection);
}
