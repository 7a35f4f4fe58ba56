/**
 * ProxyJump values: readconf.c parse_jump() with misc.c parse_ssh_uri() and
 * parse_user_host_port(), and the way ssh -G prints the result.
 */
import type { Jump } from "./options.ts";
import { a2port } from "./services.ts";
import { validDomain } from "./values.ts";

interface UserHostPort {
  user: string | undefined;
  host: string;
  port: number;
}

/** misc.c hpdelim(): host (maybe [bracketed]) and what follows a ':'; undefined on error. */
export function hpdelim(s: string): { host: string; rest: string | undefined } | undefined {
  let end: number;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return undefined;
    end = close + 1;
  } else {
    const m = s.search(/[:/]/);
    end = m < 0 ? s.length : m;
  }
  const c = s[end];
  if (c === undefined) return { host: s, rest: undefined };
  if (c === ":") return { host: s.slice(0, end), rest: s.slice(end + 1) };
  return undefined; // '/' (hpdelim refuses it) or garbage after ']'
}

const clean = (h: string) => (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h);

/** misc.c parse_user_host_port(): [user@]host[:port]. */
export function parseUserHostPort(s: string): UserHostPort | undefined {
  let tmp = s;
  let user: string | undefined;
  const at = tmp.lastIndexOf("@");
  if (at >= 0) {
    user = tmp.slice(0, at);
    if (user === "") return undefined;
    tmp = tmp.slice(at + 1);
  }
  const hp = hpdelim(tmp);
  if (!hp || hp.host === "") return undefined;
  let port = -1;
  if (hp.rest !== undefined && hp.rest !== "") {
    port = a2port(hp.rest);
    if (port <= 0) return undefined;
  }
  return { user, host: clean(hp.host), port };
}

/** misc.c parse_uri("ssh", ...): 1 when not an ssh:// URI, undefined when invalid. */
export function parseSshUri(s: string): UserHostPort | 1 | undefined {
  if (!s.startsWith("ssh://")) return 1;
  let tmp = s.slice(6);
  let user: string | undefined;
  const at = tmp.indexOf("@");
  if (at >= 0) {
    let u = tmp.slice(0, at);
    const semi = u.indexOf(";");
    if (semi >= 0) u = u.slice(0, semi);
    if (u === "") return undefined;
    try {
      user = decodeURIComponent(u.replace(/\+/g, " "));
    } catch {
      return undefined;
    }
    tmp = tmp.slice(at + 1);
  }
  let end: number;
  if (tmp.startsWith("[")) {
    const close = tmp.indexOf("]");
    if (close < 0) return undefined;
    end = close + 1;
  } else {
    const m = tmp.search(/[:/]/);
    end = m < 0 ? tmp.length : m;
  }
  const host = clean(tmp.slice(0, end));
  const delim = tmp[end];
  if (host === "" || (delim !== undefined && delim !== ":" && delim !== "/")) return undefined;
  if ("error" in validDomain(host, false)) return undefined;
  let rest = delim === undefined ? "" : tmp.slice(end + 1);
  let port = -1;
  if (rest !== "" && delim === ":") {
    const slash = rest.indexOf("/");
    const p = slash >= 0 ? rest.slice(0, slash) : rest;
    port = a2port(p);
    if (port <= 0) return undefined;
    rest = slash >= 0 ? rest.slice(slash + 1) : "";
  }
  if (rest !== "") return undefined; // a path is not allowed in ProxyJump
  return { user, host, port };
}

/**
 * readconf.c parse_jump() as Debian 12's ssh has it (with the 2026 backport:
 * "none" handled first, the jump's extra hops taken without the comment).
 * Returns the jump when `active`, "syntax-ok" when only the syntax was
 * checked, undefined when invalid. Hops are checked last to first; `strict`
 * (command line) also refuses shell metacharacters in names.
 */
export function parseJump(
  s: string,
  active: boolean,
  strict = false,
  valid: { host(h: string): boolean; user(u: string): boolean } = {
    host: () => true,
    user: () => true,
  },
): Jump | "syntax-ok" | undefined {
  if (s.toLowerCase() === "none")
    return active ? { host: "none", user: undefined, port: 0, extra: undefined } : "syntax-ok";
  let orig = s;
  const hash = orig.indexOf("#");
  if (hash >= 0) orig = orig.slice(0, hash);
  // Debian 12's ssh keeps only the first blank-separated word ("x b,c" jumps via x)
  orig = orig.replace(/^([^ \t\r\n]*)[\s\S]*$/, "$1");
  const hops = orig.split(",");
  let first: UserHostPort | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    const uri = parseSshUri(hop);
    const r = uri === 1 ? parseUserHostPort(hop) : uri;
    if (r === undefined) return undefined;
    if (strict && (!valid.host(r.host) || (r.user !== undefined && !valid.user(r.user))))
      return undefined;
    if (i === hops.length - 1) first = r;
  }
  if (!active || !first) return "syntax-ok";
  const comma = orig.lastIndexOf(",");
  const extra = comma >= 0 ? orig.slice(0, comma) : undefined;
  return { host: first.host, user: first.user, port: first.port, extra };
}

/** How ssh -G prints a ProxyJump (readconf.c dump_client_config). */
export function formatJump(j: Jump): string {
  const numeric = j.host.includes(":") || /^[0-9.]*$/.test(j.host);
  const host = numeric ? `[${j.host}]` : j.host;
  return `${j.extra ? `${j.extra},` : ""}${j.user ? `${j.user}@` : ""}${host}${j.port > 0 ? `:${j.port}` : ""}`;
}
