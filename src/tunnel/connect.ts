/**
 * One SSH hop: TCP (or the previous hop's channel), host key check during key
 * exchange, then public-key auth. Errors come out as FwdErrors that say which
 * layer failed.
 */
import type { Duplex } from "node:stream";
import { FwdError } from "../errors.ts";
import { createHostKeyVerifier, type HostKeyVerifier } from "../knownhosts/verify.ts";
import { type AuthDeps, authFailed, createAuthenticator } from "./auth.ts";
import { type HopPlan, hopLabel } from "./plan.ts";
import { promptAcks } from "./quickack.ts";
import { Client } from "./ssh2.ts";
import { accelerate } from "./sshcrypto.ts";
import { tcpConnect } from "./tcp.ts";

/** ssh2's defaults minus what this runtime lacks (ssh2 already drops chacha20 where unsupported). */
export const DEFAULT_HOST_KEY_ALGOS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

export interface ConnectDeps extends AuthDeps {
  ask?: (q: { host: string; fingerprint: string; keyType: string }) => Promise<boolean>;
  log: (line: string) => void;
}

export interface Hop {
  client: Client;
  verifier: HostKeyVerifier;
}

/** The known_hosts policy of one hop, as a verifier for ssh2 (shared with `fwd check`). */
export function hopVerifier(
  hop: HopPlan,
  ask: ConnectDeps["ask"],
  name: string,
): Promise<HostKeyVerifier> {
  return createHostKeyVerifier({
    host: hop.host,
    port: hop.port,
    hostKeyAlias: hop.hostKey.alias,
    userFiles: hop.hostKey.userFiles,
    globalFiles: hop.hostKey.globalFiles,
    strict: hop.hostKey.strict,
    hashKnownHosts: hop.hostKey.hash,
    name,
    ...(ask ? { ask } : {}),
  });
}

/** Opens a channel to the next hop through the previous one (ProxyJump). */
function tunnelThrough(via: Client, hop: HopPlan): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut("127.0.0.1", 0, hop.host, hop.port, (err, ch) => {
      if (err) {
        reject(
          new FwdError(
            "connect",
            `jump host cannot reach ${hop.host}:${hop.port}: ${err.message}`,
            "check the ProxyJump chain",
          ),
        );
      } else resolve(ch);
    });
  });
}

/**
 * ServerAlive as OpenSSH does it: the link is dead when *nothing* has arrived
 * for (CountMax+1) x Interval. ssh2's own keepalive counts only replies to its
 * pings, which queue behind bulk data (a busy link was declared dead), and it
 * gives up silently when the socket is no longer readable or writable. So ssh2
 * keeps sending a ping every Interval (its count is unbounded) and this
 * watchdog, fed by every chunk the transport delivers, decides. A dead link is
 * reported the way ssh2 reports its timeout: an "error" (level
 * client-timeout) on the client, then the transport destroyed, hence "close".
 */
export function watchLiveness(
  client: Client,
  sock: Duplex,
  keepalive: { intervalMs: number; countMax: number },
  now: () => number = () => performance.now(),
): () => void {
  const limit = (keepalive.countMax + 1) * keepalive.intervalMs;
  const every = Math.max(50, Math.min(keepalive.intervalMs / 4, 1000));
  let last = now();
  let lastTick = last;
  let seen = false;
  const onData = () => {
    seen = true;
  };
  sock.on("data", onData);
  const dead = (t: number) => {
    stop();
    const err = Object.assign(
      new Error(`Keepalive timeout: nothing from the server for ${Math.round((t - last) / 1000)}s`),
      { level: "client-timeout" },
    );
    client.emit("error", err);
    sock.destroy();
  };
  const timer = setInterval(() => {
    const t = now();
    // A late tick means this process did not run (loaded machine): the silence
    // is ours, not the server's, so the server gets a fresh window.
    const stalled = t - lastTick > Math.max(limit / 2, 2 * every);
    lastTick = t;
    if (seen || stalled) {
      seen = false;
      last = t;
      return;
    }
    if (t - last < limit) return;
    // Timers run before this turn's socket reads: look once more after them.
    setImmediate(() => {
      if (!seen) return dead(now());
      seen = false;
      last = now();
    });
  }, every);
  timer.unref?.();
  const stop = () => {
    clearInterval(timer);
    sock.removeListener("data", onData);
  };
  client.once("close", stop);
  return stop;
}

/** Connects and authenticates one hop; `via` is the previous hop for ProxyJump. */
export async function connectHop(
  hop: HopPlan,
  via: Client | undefined,
  deps: ConnectDeps,
): Promise<Hop> {
  const label = hopLabel(hop);
  const verifier = await hopVerifier(hop, deps.ask, hop.name);
  const auth = createAuthenticator(hop, deps);
  const sock = via ? await tunnelThrough(via, hop) : await tcpConnect(hop);
  const client = new Client();
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        fail(
          new FwdError(
            "timeout",
            `${label} did not complete the SSH handshake within ${hop.connectTimeoutMs / 1000}s`,
            "the server accepted TCP but is not answering SSH: check the Port, or the server's load",
          ),
        ),
      hop.connectTimeoutMs,
    );
    const fail = (e: FwdError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      sock.destroy();
      reject(e);
    };
    client.on("error", (e: Error & { level?: string }) => {
      if (settled) return;
      const hk = verifier.failure();
      if (hk) return fail(hk);
      if (e.level === "client-authentication") return fail(authFailed(hop, auth.tried, label));
      if (/no matching/i.test(e.message) || e.level === "handshake") {
        return fail(
          new FwdError(
            "protocol",
            `${label}: no common algorithm (${e.message})`,
            "the server's Ciphers/KexAlgorithms/HostKeyAlgorithms share nothing with fwd's; see `fwd check`",
          ),
        );
      }
      fail(
        new FwdError(
          "connect",
          `${label}: ${e.message}`,
          "run `fwd check` for a layer-by-layer diagnosis",
        ),
      );
    });
    client.on("close", () =>
      fail(
        verifier.failure() ??
          new FwdError(
            "connect",
            `${label} closed the connection during setup`,
            "run `fwd check` for a layer-by-layer diagnosis",
          ),
      ),
    );
    client.on("ready", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      deps.log(`authenticated to ${label}`);
      // Attached now, after ssh2's own reader (an earlier "data" listener would lose the banner).
      watchLiveness(client, sock, hop.keepalive);
      resolve({ client, verifier });
    });
    client.connect({
      sock,
      username: hop.user,
      authHandler: auth.handler,
      // The server answered SSH: ConnectTimeout is over (a host key prompt may take long).
      hostVerifier: (key: Buffer, done: (ok: boolean) => void) => {
        clearTimeout(timer);
        verifier.verify(key, done);
      },
      algorithms: { serverHostKey: verifier.algorithms(DEFAULT_HOST_KEY_ALGOS) as never },
      // ssh2 only sends the pings; watchLiveness decides when the link is dead.
      keepaliveInterval: hop.keepalive.intervalMs,
      keepaliveCountMax: Number.POSITIVE_INFINITY,
      readyTimeout: hop.connectTimeoutMs + 60_000,
    });
    // AES-GCM in place through libcrypto when it is there (issue 12; see sshcrypto.ts).
    accelerate(client);
    // No 40 ms waits on sshd's Nagle for our delayed ACKs (issue 12; see quickack.ts).
    promptAcks(client, sock);
  });
}
