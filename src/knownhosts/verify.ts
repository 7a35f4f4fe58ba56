/**
 * Host key verification for ssh2, with OpenSSH's StrictHostKeyChecking
 * semantics (sshconnect.c check_host_key). Files are read up front so that
 * verify() decides synchronously inside key exchange, before authentication.
 * One deliberate difference: a changed or revoked key is always refused,
 * also with `no` (ssh would connect but disable forwarding, and a tunnel is
 * nothing but forwarding).
 */
import { type FwdError, messageOf } from "../errors.ts";
import * as explain from "./explain.ts";
import { displayType, fingerprint, keyTypeOf } from "./key.ts";
import {
  checkHostKey,
  type HostNames,
  knownKeyTypes,
  lookupName,
  orderAlgorithms,
} from "./lookup.ts";
import { appendKnownHost, formatEntry, loadKnownHosts } from "./store.ts";

export type StrictMode = "yes" | "accept-new" | "no" | "ask";

export interface HostKeyPolicy {
  /** HostName (as connected to). */
  host: string;
  port: number;
  hostKeyAlias?: string | undefined;
  /** Already expanded paths; new keys go to the first one. */
  userFiles: string[];
  globalFiles: string[];
  strict: StrictMode;
  hashKnownHosts?: boolean;
  /** Only on a TTY: asks whether to trust an unknown key. */
  ask?: (q: { host: string; fingerprint: string; keyType: string }) => Promise<boolean>;
  /** The ssh_config Host name, for hints (`fwd run NAME --accept-new`). */
  name?: string | undefined;
}

export interface HostKeyOutcome {
  verdict: "known" | "unknown-accepted" | "unknown" | "changed" | "revoked";
  /** Type inside the presented key ("ssh-ed25519", …). */
  keyType: string;
  fingerprint: string;
  /** known: the matching line; unknown-accepted: where it was recorded; changed/revoked: the offending line. */
  file?: string;
  line?: number;
  /** changed: every key recorded for the host. */
  expected?: { keyType: string; fingerprint: string; file: string; line: number }[];
  /** Something worth telling that did not stop the connection (e.g. could not record the key). */
  note?: string;
}

export interface HostKeyVerifier {
  /** Host key algorithms for ssh2's `algorithms.serverHostKey`, with the types already known for this host first. */
  algorithms(defaults: string[]): string[];
  /** For ssh2's `hostVerifier: (key, cb) => ...`: called during key exchange, before authentication. */
  verify(key: Buffer, done: (ok: boolean) => void): void;
  /** Why verify refused (undefined if it accepted). */
  failure(): FwdError | undefined;
  /** What happened, for `fwd check`. */
  outcome(): HostKeyOutcome | undefined;
}

type Decision =
  | { kind: "accept"; outcome: HostKeyOutcome }
  | { kind: "refuse"; error: FwdError; outcome: HostKeyOutcome }
  | { kind: "record"; outcome: HostKeyOutcome }
  | {
      kind: "ask";
      ask: NonNullable<HostKeyPolicy["ask"]>;
      presented: explain.Presented;
      outcome: HostKeyOutcome;
    };

/** sshconnect.c: never record a name containing these (it could not be matched back). */
const UNRECORDABLE = /[@?*#[\]|'"\\]/;

export async function createHostKeyVerifier(policy: HostKeyPolicy): Promise<HostKeyVerifier> {
  const db = await loadKnownHosts([...policy.userFiles, ...policy.globalFiles]);
  const names: HostNames = { host: policy.host, port: policy.port, alias: policy.hostKeyAlias };
  const name = lookupName(names);
  let failure: FwdError | undefined;
  let outcome: HostKeyOutcome | undefined;

  function record(key: Buffer, keyType: string): HostKeyOutcome {
    const fp = fingerprint(key);
    const file = policy.userFiles[0]!;
    try {
      appendKnownHost(file, formatEntry(name, keyType, key, policy.hashKnownHosts === true));
    } catch (e) {
      // ssh logs "Failed to add the host to the list of known hosts" and goes on.
      const note = `could not record it in ${file}: ${messageOf(e)}`;
      return { verdict: "unknown-accepted", keyType, fingerprint: fp, note };
    }
    // Remember it, so a re-key with the same key is "known" and not recorded twice.
    db.entries.push({ file, line: 0, marker: "none", hosts: name, keyType, key });
    return { verdict: "unknown-accepted", keyType, fingerprint: fp, file };
  }

  function verify(key: Buffer, done: (ok: boolean) => void): void {
    const d = decide(key);
    failure = d.kind === "refuse" ? d.error : undefined;
    outcome = d.outcome;
    if (d.kind === "accept") done(true);
    else if (d.kind === "refuse") done(false);
    else if (d.kind === "record") {
      outcome = record(key, d.outcome.keyType);
      done(true);
    } else {
      const declined = () => {
        failure = explain.declinedKey(d.presented);
        done(false);
      };
      const q = {
        host: name,
        fingerprint: d.outcome.fingerprint,
        keyType: displayType(d.outcome.keyType),
      };
      d.ask(q).then((yes) => {
        if (!yes) return declined();
        outcome = record(key, d.outcome.keyType);
        done(true);
      }, declined);
    }
  }

  /** sshconnect.c check_host_key's decision, without the I/O. */
  function decide(key: Buffer): Decision {
    const fp = fingerprint(key);
    const keyType = keyTypeOf(key);
    const p: explain.Presented = {
      name,
      host: policy.host,
      port: policy.port,
      keyType: keyType ?? "unknown",
      fingerprint: fp,
      configName: policy.name,
      userFile: policy.userFiles[0],
      aliased: policy.hostKeyAlias !== undefined,
    };
    const base = { keyType: p.keyType, fingerprint: fp };
    const unknown: HostKeyOutcome = { verdict: "unknown", ...base };
    const refuse = (error: FwdError, o: HostKeyOutcome = unknown): Decision => ({
      kind: "refuse",
      error,
      outcome: o,
    });
    if (!keyType) return refuse(explain.malformedKey(p));

    const v = checkHostKey(db.entries, names, key);
    switch (v.kind) {
      case "known":
        return {
          kind: "accept",
          outcome: { verdict: "known", ...base, file: v.entry.file, line: v.entry.line },
        };
      case "revoked": {
        const at = { file: v.entry.file, line: v.entry.line };
        return refuse(explain.revokedKey(p, v.entry), { verdict: "revoked", ...base, ...at });
      }
      case "changed": {
        const expected = v.expected.map((e) => ({
          keyType: e.keyType,
          fingerprint: fingerprint(e.key),
          file: e.file,
          line: e.line,
        }));
        const at = { file: expected[0]!.file, line: expected[0]!.line };
        const o: HostKeyOutcome = { verdict: "changed", ...base, ...at, expected };
        return refuse(explain.changedKey(p, v.expected), o);
      }
    }
    // Unknown. ssh2 cannot check host certificates, so @cert-authority trust fails closed.
    if (v.ca.length > 0) return refuse(explain.certAuthorityOnly(p, v.ca));
    if (policy.strict === "yes")
      return refuse(explain.unknownKey(p, "StrictHostKeyChecking is yes"));
    // sshconnect.c: a key that cannot be recorded is refused in every mode.
    if (policy.userFiles.length === 0) {
      return refuse(explain.unrecordable(p, "no UserKnownHostsFile"));
    }
    if (UNRECORDABLE.test(policy.host)) {
      return refuse(explain.unrecordable(p, `"${policy.host}" is not a plain host name`));
    }
    if (policy.strict === "accept-new" || policy.strict === "no") {
      return { kind: "record", outcome: unknown };
    }
    if (!policy.ask) return refuse(explain.unknownKey(p, "no terminal to ask you"));
    return { kind: "ask", ask: policy.ask, presented: p, outcome: unknown };
  }

  return {
    algorithms: (defaults) => orderAlgorithms(defaults, knownKeyTypes(db.entries, names)),
    verify,
    failure: () => failure,
    outcome: () => outcome,
  };
}
