/**
 * Layers 4-6 over one ssh2 connection: SSH banner and key exchange, host
 * key, authentication. Each phase is attributed from what ssh2 reported
 * before the failure (its debug lines name the negotiated algorithms).
 */
import type { Duplex } from "node:stream";
import { Client } from "ssh2";
import { messageOf } from "../errors.ts";
import { displayType } from "../knownhosts/key.ts";
import { lookupName } from "../knownhosts/lookup.ts";
import { createHostKeyVerifier, type HostKeyPolicy } from "../knownhosts/verify.ts";
import { type AuthDeps, authFailed, createAuthenticator } from "../tunnel/auth.ts";
import { type HopPlan, hopLabel } from "../tunnel/plan.ts";
import { type Finding, fail, pass } from "./finding.ts";
import { explainIdentities } from "./identities.ts";
import { explainNoCommonAlgorithm, type Negotiation, readDebugLine } from "./negotiation.ts";

/** ssh2's host key algorithms that every runtime fwd runs on supports. */
const HOST_KEY_ALGOS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

export interface SshDeps extends AuthDeps {
  ask?: HostKeyPolicy["ask"];
  /** The Host name being checked, for hints. */
  name: string;
  now?: () => number;
}

export interface SshResult {
  findings: Finding[];
  /** Authenticated client when every layer passed; the caller ends it. */
  client: Client | undefined;
}

export async function probeSsh(hop: HopPlan, sock: Duplex, deps: SshDeps): Promise<SshResult> {
  const now = deps.now ?? (() => performance.now());
  const label = hopLabel(hop);
  const verifier = await createHostKeyVerifier({
    host: hop.host,
    port: hop.port,
    hostKeyAlias: hop.hostKey.alias,
    userFiles: hop.hostKey.userFiles,
    globalFiles: hop.hostKey.globalFiles,
    strict: hop.hostKey.strict,
    name: deps.name,
    ...(deps.ask ? { ask: deps.ask } : {}),
  });
  const auth = createAuthenticator(hop, deps);
  const neg: Negotiation = { local: {}, remote: {}, chosen: {} };
  const client = new Client();
  const t0 = now();
  let tKex: number | undefined; // host key received: key exchange negotiated
  let tVerified: number | undefined;
  let tHandshake: number | undefined;

  const outcome = await new Promise<"ready" | Error>((resolve) => {
    const timer = setTimeout(
      () => resolve(new Error(`no SSH handshake within ${hop.connectTimeoutMs / 1000}s`)),
      hop.connectTimeoutMs,
    );
    const done = (r: "ready" | Error) => {
      clearTimeout(timer);
      resolve(r);
    };
    client.on("ready", () => done("ready"));
    client.on("error", (e) => done(e));
    client.on("close", () => done(new Error("the server closed the connection")));
    client.on("handshake", () => {
      tHandshake = now();
    });
    client.connect({
      sock: sock as never,
      username: hop.user,
      authHandler: auth.handler,
      hostVerifier: (key: Buffer, cb: (ok: boolean) => void) => {
        tKex = now();
        clearTimeout(timer); // an unknown-key prompt may take long
        verifier.verify(key, (ok) => {
          tVerified = now();
          cb(ok);
        });
      },
      algorithms: { serverHostKey: verifier.algorithms(HOST_KEY_ALGOS) as never },
      debug: (line: string) => readDebugLine(neg, line),
      readyTimeout: hop.connectTimeoutMs + 120_000,
    });
  });

  const findings: Finding[] = [];
  const ms = (a: number, b: number | undefined) => Math.round((b ?? now()) - a);
  const why = outcome === "ready" ? "" : messageOf(outcome);

  // Layer 4: banner and key exchange.
  const server = neg.ident ?? "";
  if (tKex === undefined) {
    const noCommon = /no matching/i.test(why);
    const f = !server
      ? fail(
          "ssh",
          `${label} does not speak SSH`,
          why,
          "something other than sshd answers on this port (or it closed at once): check Port for this Host",
        )
      : noCommon
        ? fail(
            "ssh",
            `${label}: no algorithm in common`,
            explainNoCommonAlgorithm(neg, why),
            "the server's sshd_config (Ciphers, KexAlgorithms, HostKeyAlgorithms, MACs) allows nothing fwd supports; allow a modern default there",
          )
        : fail(
            "ssh",
            `${label}: key exchange failed`,
            `${server}: ${why}`,
            "the server may be overloaded (MaxStartups) or filtering you; try again, then check its sshd log",
          );
    findings.push({ ...f, ms: ms(t0, undefined) });
    client.end();
    return { findings, client: undefined };
  }
  const algos = [
    neg.chosen.kex && `kex ${neg.chosen.kex}`,
    neg.chosen.hostKey && `host key ${neg.chosen.hostKey}`,
    neg.chosen.cipher && `cipher ${neg.chosen.cipher}`,
  ]
    .filter(Boolean)
    .join(", ");
  findings.push({
    ...pass("ssh", `${label} speaks SSH`, `${server}${algos ? `; ${algos}` : ""}`),
    ms: ms(t0, tKex),
  });

  // Layer 5: host key.
  const hk = verifier.outcome();
  const refused = verifier.failure();
  const hkMs = ms(tKex, tVerified);
  if (refused || !hk) {
    const name = lookupName({ host: hop.host, port: hop.port, alias: hop.hostKey.alias });
    const verdict = hk?.verdict ?? "unknown";
    const state =
      verdict === "changed"
        ? "has CHANGED"
        : verdict === "revoked"
          ? "is revoked"
          : "is not trusted";
    const title = `host key for ${name} ${verdict === "unknown" ? "is unknown" : state}`;
    findings.push({
      ...fail("host-key", title, refused?.message ?? why, refused?.hint ?? ""),
      ms: hkMs,
    });
    client.end();
    return { findings, client: undefined };
  }
  const where = hk.file ? ` (${hk.file}${hk.line ? `:${hk.line}` : ""})` : "";
  const hkTitle =
    hk.verdict === "known"
      ? `host key is known${where}`
      : `host key was new and is now trusted${hk.file ? ` (recorded in ${hk.file})` : ""}`;
  findings.push({
    ...pass(
      "host-key",
      hkTitle,
      `${displayType(hk.keyType)} ${hk.fingerprint}${hk.note ? `; ${hk.note}` : ""}`,
    ),
    ms: hkMs,
  });

  // Layer 6: authentication.
  const authStart = tHandshake ?? tVerified ?? now();
  if (outcome !== "ready") {
    const e =
      /authentication/i.test(why) ||
      (outcome as { level?: string }).level === "client-authentication"
        ? authFailed(hop, auth.tried, label)
        : undefined;
    const detail = await explainIdentities(hop, auth.tried, deps.home);
    findings.push({
      ...fail(
        "auth",
        e ? `authentication as ${hop.user} failed` : `connection lost during authentication`,
        [e?.message ?? why, ...detail].join("\n"),
        e?.hint ?? "check the server's sshd log",
      ),
      ms: ms(authStart, undefined),
    });
    client.end();
    return { findings, client: undefined };
  }
  const used = auth.tried[auth.tried.length - 1] ?? "none";
  findings.push({
    ...pass("auth", `authenticated as ${hop.user}`, `with ${used}`),
    ms: ms(authStart, undefined),
  });
  return { findings, client };
}
