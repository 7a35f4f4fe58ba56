/**
 * An in-process SSH bastion (ssh2 Server) for TESTING.md tier 2: fast, and
 * able to produce faults real sshd will not on demand (refuse or stall
 * channels, drop every connection at once). Host key and client key are
 * generated in memory; the client key is also written to `dir` for fwd.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Connection, type ParsedKey, Server, utils } from "ssh2";
import { generateKey } from "../../src/demo/bastion.ts";

/**
 * What the bastion does with a direct-tcpip (ssh -L) channel request. "greet":
 * accept and, in the same tick, send GREETING and EOF (the confirmation and the
 * first data reach the client in one read, as a target that speaks first can).
 */
export type ChannelMode = "forward" | "refuse" | "stall" | "greet";
export const GREETING = ["SSH-2.0-first\r\n", "second ", "third\n"];

export interface Ssh2Bastion {
  host: string;
  port: number;
  user: string;
  /** "ssh-ed25519 AAAA..." */
  hostKeyPub: string;
  knownHostsLine(hostField?: string): string;
  /** The only key the bastion accepts, written 0600 under dir. */
  identity: { path: string; pub: string };
  dir: string;
  /** Change how later channel requests are answered. */
  channels: ChannelMode;
  /** Destinations requested so far ("host:port", as the client sent them). */
  requested: string[];
  authAttempts(): number;
  openConnections(): number;
  /** Destroys every client connection at once (a bastion that vanished). */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface Ssh2BastionOptions {
  host?: string;
  port?: number;
  user?: string;
  /** Names only the bastion resolves: { "target-host": "127.0.0.1" }. */
  hosts?: Record<string, string>;
}

export async function startSsh2Bastion(opts: Ssh2BastionOptions = {}): Promise<Ssh2Bastion> {
  const host = opts.host ?? "127.0.0.1";
  const user = opts.user ?? "tester";
  const dir = mkdtempSync(join(tmpdir(), "fwd-ssh2-bastion-"));
  const hostKey = generateKey();
  const clientKey = generateKey({ comment: "fwd-test-client" });
  const identityPath = join(dir, "id_ed25519");
  writeFileSync(identityPath, clientKey.private, { mode: 0o600 });
  writeFileSync(`${identityPath}.pub`, `${clientKey.public}\n`);
  const allowed = utils.parseKey(clientKey.public) as ParsedKey;
  const allowedBlob = allowed.getPublicSSH();

  const conns = new Set<Connection>();
  const sockets = new Set<Socket>();
  let attempts = 0;

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    conns.add(client);
    client.on("error", () => {});
    client.on("close", () => conns.delete(client));
    client.on("authentication", (ctx) => {
      attempts++;
      const ok =
        ctx.method === "publickey" &&
        ctx.username === user &&
        ctx.key.algo === allowed.type &&
        ctx.key.data.equals(allowedBlob);
      if (ok && !ctx.signature) return ctx.accept(); // the "would you take this key?" probe
      if (ok && ctx.blob && allowed.verify(ctx.blob, ctx.signature!, ctx.hashAlgo) === true) {
        return ctx.accept();
      }
      ctx.reject(["publickey"]);
    });
    client.on("ready", () => {
      client.on("session", (_accept, reject) => reject());
      client.on("tcpip", (accept, reject, info) => {
        bastion.requested.push(`${info.destIP}:${info.destPort}`);
        if (bastion.channels === "refuse") return reject();
        if (bastion.channels === "stall") return; // never answered
        if (bastion.channels === "greet") {
          const ch = accept();
          for (const g of GREETING) ch.write(g);
          return void ch.end();
        }
        const sock = connect({
          host: opts.hosts?.[info.destIP] ?? info.destIP,
          port: info.destPort,
        });
        sockets.add(sock);
        sock.once("close", () => sockets.delete(sock));
        sock.once("error", () => reject());
        sock.once("connect", () => {
          const ch = accept();
          ch.on("error", () => sock.destroy());
          sock.removeAllListeners("error");
          sock.on("error", () => ch.destroy());
          sock.pipe(ch).pipe(sock);
        });
      });
    });
  });
  server.on("connection", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const hostKeyPub = hostKey.public.split(" ").slice(0, 2).join(" ");

  const dropConnections = () => {
    for (const c of conns) (c as unknown as { _sock?: Socket })._sock?.destroy();
    for (const c of conns) c.end();
    for (const s of sockets) s.destroy();
  };
  const bastion: Ssh2Bastion = {
    host,
    port,
    user,
    hostKeyPub,
    knownHostsLine: (hostField) =>
      `${hostField ?? (port === 22 ? host : `[${host}]:${port}`)} ${hostKeyPub}`,
    identity: { path: identityPath, pub: clientKey.public },
    dir,
    channels: "forward",
    requested: [],
    authAttempts: () => attempts,
    openConnections: () => conns.size,
    dropConnections,
    close: () =>
      new Promise((resolve) => {
        dropConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
  return bastion;
}
