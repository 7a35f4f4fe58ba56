/**
 * Host matching in known_hosts: OpenSSH's match.c patterns (`*`, `?`, `!`
 * negation, comma lists) and hashed names (`|1|salt|hash`, hostfile.c).
 */
import { createHmac, randomBytes } from "node:crypto";
import { matchPatternList } from "../sshconfig/match.ts";

/**
 * match.c match_pattern_list with dolower: 1 when a positive pattern matches
 * and no negated one does, -1 when a negated pattern matches (it wins), 0 otherwise.
 * `host` must already be lowercase, as ssh lowercases the name it looks up.
 */
export function matchHostList(host: string, list: string): 1 | 0 | -1 {
  return matchPatternList(host, list, true);
}

const HASH_MAGIC = "|1|";

export interface HashedName {
  salt: Buffer;
  hash: string;
}

/** `|1|base64(salt)|base64(hmac)` → its parts, or undefined when malformed (hostfile.c extract_salt). */
export function parseHashedName(field: string): HashedName | undefined {
  if (!field.startsWith(HASH_MAGIC)) return undefined;
  const rest = field.slice(HASH_MAGIC.length);
  const bar = rest.indexOf("|");
  if (bar <= 0) return undefined;
  const b64salt = rest.slice(0, bar);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64salt)) return undefined;
  const salt = Buffer.from(b64salt, "base64");
  if (salt.length !== 20) return undefined; // SHA-1 HMAC size
  return { salt, hash: rest.slice(bar + 1) };
}

/** HMAC-SHA1(key = salt, data = host) in known_hosts' hashed form. */
export function hashHostName(host: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac("sha1", salt).update(host).digest("base64");
  return `${HASH_MAGIC}${salt.toString("base64")}|${mac}`;
}

/** hostfile.c match_maybe_hashed: does this host field name `host`? */
export function hostFieldMatches(host: string, field: string): boolean {
  if (field.startsWith("|")) {
    const h = parseHashedName(field);
    return h !== undefined && createHmac("sha1", h.salt).update(host).digest("base64") === h.hash;
  }
  return matchHostList(host, field) === 1;
}
