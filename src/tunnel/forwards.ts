/**
 * The three kinds of forward (ssh -L, -R, -D). Listeners stay open while the
 * SSH link reconnects; a channel is opened through whatever link is current.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { ClientChannel } from "ssh2";
import { explain, FwdError, messageOf } from "../errors.ts";
import type { Address, ForwardSpec, ListenAddress } from "../sshconfig/forward.ts";
import { portHolder } from "./portholder.ts";
import { readSocksRequest } from "./socks.ts";
import { splice } from "./splice.ts";
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
