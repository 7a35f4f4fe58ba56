/**
 * Targets behind the bastion: an HTTP server answering the seed line and a TCP
 * echo server, both in-process on loopback (port 0 unless given).
 */
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";

export const TARGET_BODY = "Hello World, This server is TARGET-HOST.";

export interface Target {
  host: string;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

export async function startHttpTarget(
  opts: { host?: string; port?: number; body?: string } = {},
): Promise<Target> {
  const host = opts.host ?? "127.0.0.1";
  const body = opts.body ?? TARGET_BODY;
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  const sockets = new Set<Socket>();
  let count = 0;
  server.on("connection", (s: Socket) => {
    count++;
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  const port = await listen(server, host, opts.port ?? 0);
  return { host, port, connections: () => count, close: closer(server, sockets) };
}

/** A TCP server writing back every byte it reads (both directions of a forward). */
export async function startEchoTarget(
  opts: { host?: string; port?: number } = {},
): Promise<Target> {
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((s) => {
    count++;
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  const port = await listen(server, host, opts.port ?? 0);
  return { host, port, connections: () => count, close: closer(server, sockets) };
}
