/**
 * Layers 4-6 over one ssh2 connection: SSH banner and key exchange, host
 * key, authentication. Each phase is attributed from what ssh2 reported
 * before the failure (its debug lines name the negotiated algorithms).
 */
import type { Duplex } from "node:stream";
import { messageOf } from "../errors.ts";
import { displayType } from "../knownhosts/key.ts";
import { lookupName } from "../knownhosts/lookup.ts";
import type { HostKeyPolicy, HostKeyVerifier } from "../knownhosts/verify.ts";
import {
  type AuthDeps,
  type Authenticator,
  authFailed,
  createAuthenticator,
} from "../tunnel/auth.ts";
import { hopVerifier } from "../tunnel/connect.ts";
import { type HopPlan, hopLabel } from "../tunnel/plan.ts";
import { Client } from "../tunnel/ssh2.ts";
import { type Draft, type Finding, fail, pass } from "./finding.ts";
import { type Attempt, connectOnce } from "./handshake.ts";
import { explainIdentities } from "./identities.ts";
import { explainNoCommonAlgorithm } from "./negotiation.ts";

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

/** Layer 4, failed: no banner, nothing in common, or the exchange broke off. */
function kexFailure(label: string, a: Attempt, why: string): Draft {
  if (!a.neg.ident) {
    return fail(
      "ssh",
      `${label} does not speak SSH`,
      why,
      "something other than sshd answers on this port (or it closed at once): check Port for this Host",
    );
  }
  if (/no matching/i.test(why)) {
    return fail(
      "ssh",
      `${label}: no algorithm in common`,
      explainNoCommonAlgorithm(a.neg, why),
      "the server's sshd_config (Ciphers, KexAlgorithms, HostKeyAlgorithms, MACs) allows nothing fwd supports; allow a modern default there",
    );
  }
  return fail(
    "ssh",
    `${label}: key exchange failed`,
    `${a.neg.ident}: ${why}`,
    "the server may be overloaded (MaxStartups) or filtering you; try again, then check its sshd log",
  );
}

function kexSuccess(label: string, a: Attempt): Draft {
  const c = a.neg.chosen;
  const algos = [
    c.kex && `kex ${c.kex}`,
    c.hostKey && `host key ${c.hostKey}`,
    c.cipher && `cipher ${c.cipher}`,
  ].filter(Boolean);
  return pass(
    "ssh",
    `${label} speaks SSH`,
    [a.neg.ident, algos.join(", ")].filter(Boolean).join("; "),
  );
}

/** Layer 5, from the verifier's own account. */
function hostKeyFinding(hop: HopPlan, verifier: HostKeyVerifier, why: string): Draft {
  const hk = verifier.outcome();
  const refused = verifier.failure();
  if (refused || !hk) {
    const name = lookupName({ host: hop.host, port: hop.port, alias: hop.hostKey.alias });
    const state =
      { changed: "has CHANGED", revoked: "is revoked" }[hk?.verdict as string] ?? "is unknown";
    return fail(
      "host-key",
      `host key for ${name} ${state}`,
      refused?.message ?? why,
      refused?.hint ?? "",
    );
  }
  const at = hk.file ? `${hk.file}${hk.line ? `:${hk.line}` : ""}` : "";
  const title =
    hk.verdict === "known"
      ? `host key is known${at ? ` (${at})` : ""}`
      : `host key was new and is now trusted${at ? ` (recorded in ${at})` : ""}`;
  const note = hk.note ? `; ${hk.note}` : "";
  return pass("host-key", title, `${displayType(hk.keyType)} ${hk.fingerprint}${note}`);
}

/** Layer 6: which identity worked, or what was offered and what may be wrong. */
async function authFinding(
  hop: HopPlan,
  label: string,
  a: Attempt,
  auth: Authenticator,
  home: string,
): Promise<Draft> {
  if (a.outcome === "ready") {
    return pass(
      "auth",
      `authenticated as ${hop.user}`,
      `with ${auth.tried[auth.tried.length - 1] ?? "none"}`,
    );
  }
  const refused = (a.outcome as { level?: string }).level === "client-authentication";
  const facts = await explainIdentities(hop, auth.tried, home);
  if (!refused) {
    return fail(
      "auth",
      "connection lost during authentication",
      [messageOf(a.outcome), ...facts].join("\n"),
      "check the server's sshd log",
    );
  }
  const e = authFailed(hop, auth.tried, label);
  return fail(
    "auth",
    `authentication as ${hop.user} failed`,
    [e.message, ...facts].join("\n"),
    e.hint ?? "",
  );
}

export async function probeSsh(hop: HopPlan, sock: Duplex, deps: SshDeps): Promise<SshResult> {
  const now = deps.now ?? (() => performance.now());
  const label = hopLabel(hop);
  const verifier = await hopVerifier(hop, deps.ask, deps.name);
  const auth = createAuthenticator(hop, deps);
  const client = new Client();
  const a = await connectOnce(hop, sock, client, verifier, auth, now);
  const why = a.outcome === "ready" ? "" : messageOf(a.outcome);
  const ms = (from: number, to: number | undefined = now()) => Math.round(to - from);
  const findings: Finding[] = [];
  const stop = (): SshResult => {
    client.end();
    return { findings, client: undefined };
  };

  if (a.tKex === undefined) {
    findings.push({ ...kexFailure(label, a, why), ms: ms(a.t0) });
    return stop();
  }
  findings.push({ ...kexSuccess(label, a), ms: ms(a.t0, a.tKex) });

  const hk = hostKeyFinding(hop, verifier, why);
  findings.push({ ...hk, ms: ms(a.tKex, a.tVerified) });
  if (!hk.ok) return stop();

  const authStart = a.tHandshake ?? a.tVerified ?? now();
  const au = await authFinding(hop, label, a, auth, deps.home);
  findings.push({ ...au, ms: ms(authStart) });
  return au.ok ? { findings, client } : stop();
}
