/**
 * A tiny in-process SSH server acting as a bastion: public-key auth for one
 * user, direct-tcpip channels connected to their destination. Used by
 * `fwd demo` (and by tests that need faults real sshd cannot produce).
 */
import { connect as netConnect } from "node:net";
import { type Connection, type ParsedKey, Server, utils } from "ssh2";

/**
 * An ed25519 key pair that ssh2 can parse back. ssh2's generateKeyPairSync
 * now and then yields a private key it then calls "Malformed OpenSSH private
 * key" (about 1 in 100 under Deno, rarer under Bun): draw again.
 */
export function generateKey(opts?: { comment?: string }): { private: string; public: string } {
  for (let i = 0; i < 20; i++) {
    const k = utils.generateKeyPairSync("ed25519", opts);
    if (
      !(utils.parseKey(k.private) instanceof Error) &&
      !(utils.parseKey(k.public) instanceof Error)
    )
      return k;
  }
  throw new Error("could not generate a usable ed25519 key");
}

export interface Bastion {
  port: number;
  /** "ssh-ed25519 AAAA…" */
  hostKeyPublic: string;
  /** Number of direct-tcpip channels opened so far. */
  channels(): number;
  close(): Promise<void>;
}

export interface BastionOptions {
  host?: string;
  port?: number;
  user: string;
  /** OpenSSH-format public key line of the allowed client key. */
  authorizedKey: string;
  hostKeyPrivate: string;
  /** Names only the bastion can resolve (like target-host in the seed). */
  hosts?: Record<string, string>;
}

export function startBastion(opts: BastionOptions): Promise<Bastion> {
  const allowed = utils.parseKey(opts.authorizedKey) as ParsedKey;
  const allowedBlob = allowed.getPublicSSH();
  const hostKey = utils.parseKey(opts.hostKeyPrivate) as ParsedKey;
  let channelCount = 0;
  const conns = new Set<Connection>();
  const server = new Server({ hostKeys: [opts.hostKeyPrivate] }, (client) => {
    conns.add(client);
    client.on("error", () => {});
    client.on("close", () => conns.delete(client));
    client.on("authentication", (ctx) => {
      if (
        ctx.method === "publickey" &&
        ctx.username === opts.user &&
        ctx.key.algo === allowed.type &&
        ctx.key.data.equals(allowedBlob)
      ) {
        if (!ctx.signature) return ctx.accept(); // the "would you accept this key" probe
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)
          return ctx.accept();
      }
      ctx.reject(["publickey"]);
    });
    client.on("tcpip", (accept, reject, info) => {
      const host = opts.hosts?.[info.destIP] ?? info.destIP;
      const sock = netConnect({ host, port: info.destPort });
      sock.once("connect", () => {
        channelCount++;
        const ch = accept();
        ch.on("error", () => {});
        sock.setNoDelay(true);
        sock.pipe(ch).pipe(sock);
        // The pipe ends the channel after the target's last byte; destroying it
        // on the socket's close would cut off what the channel still queues.
        ch.on("close", () => sock.destroy());
        sock.on("error", () => ch.destroy());
      });
      sock.once("error", () => reject());
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : 0,
        hostKeyPublic: `${hostKey.type} ${hostKey.getPublicSSH().toString("base64")}`,
        channels: () => channelCount,
        close: () =>
          new Promise((r) => {
            for (const c of conns) c.end();
            server.close(() => r());
          }),
      });
    });
  });
}
