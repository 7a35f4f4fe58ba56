/**
 * One SSH connection attempt with ssh2, recording what it saw and when: the
 * server's ident and algorithm lists (from ssh2's debug lines), when the host
 * key arrived, when it was verified, when authentication began and ended.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { HostKeyVerifier } from "../knownhosts/verify.ts";
import type { Authenticator } from "../tunnel/auth.ts";
import { DEFAULT_HOST_KEY_ALGOS } from "../tunnel/connect.ts";
import type { HopPlan } from "../tunnel/plan.ts";
import { type Negotiation, readDebugLine } from "./negotiation.ts";

/** What the one connection attempt saw, with the times of its phases. */
export interface Attempt {
  outcome: "ready" | Error;
  neg: Negotiation;
  t0: number;
  /** The host key arrived: key exchange got as far as the host key check. */
  tKex: number | undefined;
  tVerified: number | undefined;
  /** Keys exchanged and verified: authentication starts. */
  tHandshake: number | undefined;
}

export function connectOnce(
  hop: HopPlan,
  sock: Duplex,
  client: Client,
  verifier: HostKeyVerifier,
  auth: Authenticator,
  now: () => number,
): Promise<Attempt> {
  const a: Attempt = {
    outcome: "ready",
    neg: { local: {}, remote: {}, chosen: {} },
    t0: now(),
    tKex: undefined,
    tVerified: undefined,
    tHandshake: undefined,
  };
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => done(new Error(`no SSH handshake within ${hop.connectTimeoutMs / 1000}s`)),
      hop.connectTimeoutMs,
    );
    let settled = false;
    const done = (r: "ready" | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      a.outcome = r;
      resolve(a);
    };
    client.on("ready", () => done("ready"));
    client.on("error", (e) => done(e));
    client.on("close", () => done(new Error("the server closed the connection")));
    client.on("handshake", () => {
      a.tHandshake = now();
    });
    client.connect({
      sock: sock as never,
      username: hop.user,
      authHandler: auth.handler,
      hostVerifier: (key: Buffer, cb: (ok: boolean) => void) => {
        a.tKex = now();
        clearTimeout(timer); // an unknown-key prompt may take long
        verifier.verify(key, (ok) => {
          a.tVerified = now();
          cb(ok);
        });
      },
      algorithms: { serverHostKey: verifier.algorithms(DEFAULT_HOST_KEY_ALGOS) as never },
      debug: (line: string) => readDebugLine(a.neg, line),
      readyTimeout: hop.connectTimeoutMs + 120_000,
    });
  });
}
