/**
 * Value parsers shared by the option table: misc.c convtime(), a2tun(),
 * parse_ipqos(), scan_scaled(), valid_domain(), valid_env_name().
 */
import { IPQOS } from "./multistate.ts";

const INT_MAX = 2147483647;

/** misc.c convtime(): seconds, or -1 when invalid. */
export function convtime(s: string | undefined): number {
  if (s === undefined || s === "") return -1;
  const mult: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  let rest = s;
  while (rest !== "") {
    const m = /^[ \t\n\v\f\r]*([+-]?\d+)(.?)/.exec(rest);
    if (!m) return -1;
    const secs = Number(m[1]);
    if (secs < 0 || secs >= INT_MAX) return -1;
    const q = (m[2] ?? "").toLowerCase();
    let k = 1;
    if (q !== "") {
      const v = mult[q];
      if (v === undefined) return -1;
      k = v;
    }
    if (secs > Math.floor(INT_MAX / k)) return -1;
    if (total > INT_MAX - secs * k) return -1;
    total += secs * k;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** misc.c a2tun() for one side: 0..SSH_TUNID_MAX, "any" = SSH_TUNID_ANY, else SSH_TUNID_ERR. */
export const TUNID_ANY = 0x7fffffff;
export const TUNID_ERR = TUNID_ANY - 1;
function tunOne(s: string): number {
  if (s.toLowerCase() === "any") return TUNID_ANY;
  if (!/^[ \t]*[+-]?\d+$/.test(s)) return TUNID_ERR;
  const n = Number(s.trim());
  return n >= 0 && n <= TUNID_ANY - 2 ? n : TUNID_ERR;
}

/** a2tun(s, &remote): [local, remote] or undefined on error. */
export function a2tun(s: string): [number, number] | undefined {
  const i = s.indexOf(":");
  if (i < 0) {
    const l = tunOne(s);
    return l === TUNID_ERR ? undefined : [l, TUNID_ANY];
  }
  const r = tunOne(s.slice(i + 1));
  const l = tunOne(s.slice(0, i));
  if (r === TUNID_ERR || l === TUNID_ERR) return undefined;
  return [l, r];
}

/** misc.c parse_ipqos(): a name or an integer 0..255 (strtol base 0), -1 if bad. */
export function parseIpqos(s: string | undefined): number {
  if (s === undefined) return -1;
  const named = IPQOS.find(([n]) => n === s.toLowerCase());
  if (named) return named[1];
  if (s === "") return -1;
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(s);
  if (!m) return -1;
  const body = m[2] as string;
  let v =
    body.startsWith("0x") || body.startsWith("0X")
      ? Number.parseInt(body, 16)
      : body.startsWith("0")
        ? Number.parseInt(body, 8)
        : Number(body);
  if (m[1] === "-") v = -v;
  return v < 0 || v > 255 ? -1 : v;
}

/** misc.c iptos2str(). */
export function iptos2str(v: number): string {
  const named = IPQOS.find(([, x]) => x === v);
  return named ? named[0] : `0x${v.toString(16).padStart(2, "0")}`;
}

/** OpenBSD scan_scaled(): "1G" -> 1073741824, fractional allowed ("1.5K"), -1 on error. */
export function scanScaled(s: string): number {
  const m = /^[ \t]*([+-]?)(\d*)(?:\.(\d*))?([BKMGTPE]?)$/i.exec(s);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return -1;
  const unit = (m[4] ?? "").toUpperCase();
  const pow = "BKMGTPE".indexOf(unit);
  const scale = unit === "" || unit === "B" ? 1 : 1024 ** pow;
  if ((m[3] ?? "") !== "" && scale === 1) return -1;
  let v = Number(m[2] || "0") * scale;
  if (m[3]) v += Math.floor(Number(`0.${m[3]}`) * scale);
  return m[1] === "-" ? -v : v;
}

/** misc.c valid_domain(name, makelower): the cleaned name, or an error message. */
export function validDomain(name: string, makeLower: boolean): { ok: string } | { error: string } {
  if (name === "") return { error: "empty domain name" };
  if (!/^[A-Za-z0-9]/.test(name))
    return { error: `domain name "${name}" starts with invalid character` };
  const lower = name.toLowerCase();
  const shown = makeLower ? lower : name;
  if (lower.includes(".."))
    return { error: `domain name "${shown}" contains consecutive separators` };
  if (!/^[a-z0-9._-]*$/.test(lower))
    return { error: `domain name "${shown}" contains invalid characters` };
  const out = makeLower ? lower : name;
  return { ok: out.endsWith(".") ? out.slice(0, -1) : out };
}

/** misc.c valid_env_name(). */
export function validEnvName(s: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(s);
}
