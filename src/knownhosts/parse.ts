/**
 * known_hosts lines -> entries, as hostfile.c hostkeys_foreach_file reads
 * them. Pure: text in, entries and the lines it skipped (with why) out.
 */
import { isKnownKeyName, keyTypeOf, plainKeyType } from "./key.ts";
import { parseHashedName } from "./pattern.ts";

export type Marker = "none" | "cert-authority" | "revoked";

export interface KnownHostEntry {
  file: string;
  line: number;
  marker: Marker;
  /** The host field as written: a pattern list, or one `|1|salt|hash` name. */
  hosts: string;
  /** Key type as the blob declares it ("ssh-ed25519", "ecdsa-sha2-nistp256", …). */
  keyType: string;
  key: Buffer;
}

export interface SkippedLine {
  file: string;
  line: number;
  reason: string;
}

export interface KnownHostsFile {
  entries: KnownHostEntry[];
  skipped: SkippedLine[];
}

/** hostfile.c check_markers: at most one marker, followed by a space or tab. */
function splitMarker(s: string): { marker: Marker; rest: string } | undefined {
  if (!s.startsWith("@")) return { marker: "none", rest: s };
  const m = /^@(\S+)[ \t]+(.*)$/.exec(s);
  if (!m) return undefined;
  const marker =
    m[1] === "cert-authority" ? "cert-authority" : m[1] === "revoked" ? "revoked" : undefined;
  if (!marker || m[2]!.startsWith("@")) return undefined;
  return { marker, rest: m[2]! };
}

/** sshkey_read: "type base64 [comment]" with the blob's own type agreeing with the name. */
function parseKey(s: string): { keyType: string; key: Buffer } | string {
  const m = /^(\S+)[ \t]+([A-Za-z0-9+/=]+)(?:[ \t].*)?$/.exec(s);
  if (!m) return "no key type and base64 key";
  const name = m[1]!;
  if (!isKnownKeyName(name)) return `unknown key type "${name.slice(0, 40)}"`;
  const key = Buffer.from(m[2]!, "base64");
  const keyType = keyTypeOf(key);
  if (!keyType) return "key data is not a valid SSH public key";
  const expected = name.endsWith("-cert-v01@openssh.com") ? name : plainKeyType(name);
  if (keyType !== expected) return `key type "${name}" does not match its data ("${keyType}")`;
  return { keyType, key };
}

function parseLine(file: string, line: number, text: string): KnownHostEntry | string | null {
  const s = text.replace(/^[ \t]+/, "");
  if (s === "" || s.startsWith("#")) return null;
  const marked = splitMarker(s);
  if (!marked) return "invalid marker (only @cert-authority or @revoked)";
  const m = /^(\S+)[ \t]+(.*)$/.exec(marked.rest);
  if (!m) return "truncated line (no key after the host names)";
  const hosts = m[1]!;
  if (hosts.startsWith("|") && !parseHashedName(hosts)) return "bad hashed host name";
  const rest = m[2]!.replace(/^[ \t]+/, "");
  if (rest === "" || rest.startsWith("#")) return "truncated before key type";
  const key = parseKey(rest);
  if (typeof key === "string") return key;
  return { file, line, marker: marked.marker, hosts, ...key };
}

/** Parses a whole file; bad lines are skipped and reported, as ssh skips them. */
export function parseKnownHosts(text: string, file: string): KnownHostsFile {
  const entries: KnownHostEntry[] = [];
  const skipped: SkippedLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const r = parseLine(file, i + 1, raw.replace(/\r$/, ""));
    if (r === null) return;
    if (typeof r === "string") skipped.push({ file, line: i + 1, reason: r });
    else entries.push(r);
  });
  return { entries, skipped };
}
