/**
 * What known_hosts says about a server's key, with the decisions of
 * sshconnect.c check_host_key and hostfile.c check_key_in_hostkeys. Pure.
 */
import { plainKeyType } from "./key.ts";
import type { KnownHostEntry } from "./parse.ts";
import { hostFieldMatches } from "./pattern.ts";

export interface HostNames {
  /** HostName as connected to (ssh lowercases it). */
  host: string;
  port: number;
  alias?: string | undefined;
}

export type Verdict =
  | { kind: "known"; entry: KnownHostEntry }
  /** No plain key for this name; `ca` lists @cert-authority lines that match it. */
  | { kind: "unknown"; name: string; ca: KnownHostEntry[] }
  /** Keys are recorded for this name but none is the presented key (any type: ssh says "changed"). */
  | { kind: "changed"; name: string; expected: KnownHostEntry[] }
  | { kind: "revoked"; name: string; entry: KnownHostEntry };

/** misc.c put_host_port: `[host]:port` unless the port is 22. */
export function hostField(host: string, port: number): string {
  return port === 22 || port === 0 ? host : `[${host}]:${port}`;
}

/** sshconnect.c get_hostfile_hostname_ipaddr: the alias as is, else the lowercased HostName with its port. */
export function lookupName(n: HostNames): string {
  return n.alias ?? hostField(n.host.toLowerCase(), n.port);
}

/** ssh looks up `[host]:port` and, when nothing is recorded for it, the bare host (a matching key there is accepted). */
function fallbackName(n: HostNames): string | undefined {
  return n.alias === undefined && n.port !== 22 ? n.host.toLowerCase() : undefined;
}

export function entriesFor(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  return entries.filter((e) => hostFieldMatches(name, e.hosts));
}

/** hostfile.c check_hostkeys_by_key_or_type for a plain (non-certificate) key. */
export function checkKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): Verdict {
  const mine = entriesFor(entries, name);
  const revoked = mine.find((e) => e.marker === "revoked" && e.key.equals(key));
  if (revoked) return { kind: "revoked", name, entry: revoked };
  const plain = mine.filter((e) => e.marker === "none");
  const match = plain.find((e) => e.key.equals(key));
  if (match) return { kind: "known", entry: match };
  if (plain.length > 0) return { kind: "changed", name, expected: plain };
  return { kind: "unknown", name, ca: mine.filter((e) => e.marker === "cert-authority") };
}

/** The verdict for a connection, with ssh's retry "without port identifier". */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  n: HostNames,
  key: Buffer,
): Verdict {
  const v = checkKey(entries, lookupName(n), key);
  const bare = fallbackName(n);
  if (v.kind !== "unknown" || bare === undefined) return v;
  const fb = checkKey(entries, bare, key);
  // A revoked key stays revoked under any name (stricter than ssh, which only reports "new").
  return fb.kind === "known" || fb.kind === "revoked" ? fb : v;
}

/** Plain key types recorded for this connection's name (or, when none, its bare host). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], n: HostNames): Set<string> {
  const types = (name: string) =>
    new Set(
      entriesFor(entries, name)
        .filter((e) => e.marker === "none")
        .map((e) => e.keyType),
    );
  const t = types(lookupName(n));
  const bare = fallbackName(n);
  return t.size === 0 && bare !== undefined ? types(bare) : t;
}

/**
 * sshconnect2.c order_hostkeyalgs: if the first algorithm's key type is
 * known, keep the list; otherwise move the algorithms of known types to the
 * front, each group in its original order. Without this, a server offering a
 * type we have no entry for would look "changed".
 */
export function orderAlgorithms(defaults: readonly string[], known: ReadonlySet<string>): string[] {
  const isKnown = (alg: string) => known.has(plainKeyType(alg));
  if (defaults.length === 0 || isKnown(defaults[0]!)) return [...defaults];
  return [...defaults.filter(isKnown), ...defaults.filter((a) => !isKnown(a))];
}
