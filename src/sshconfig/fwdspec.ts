/**
 * ssh's own forward record and its text forms: misc.c/readconf.c
 * parse_fwd_field(), parse_forward() and dump_cfg_forwards().
 */
import { a2port } from "./services.ts";

/**
 * ssh's own struct Forward: what parse_forward() fills. A dynamic forward has
 * connectHost "socks" (readconf.c), so does a remote dynamic one (`-R 1080`).
 */
export interface RawForward {
  listenHost: string | undefined;
  listenPort: number; // -2 = PORT_STREAMLOCAL
  listenPath: string | undefined;
  connectHost: string | undefined;
  connectPort: number;
  connectPath: string | undefined;
}

export const PORT_STREAMLOCAL = -2;
const NI_MAXHOST = 1025;
const PATH_MAX_SUN = 108;

interface Field {
  arg: string;
  isPath: boolean;
}

/** misc.c parse_fwd_field(): one ':'-separated field, `[...]` taken literally, `\` escapes. */
function nextField(s: string): { field: Field; rest: string | undefined } | undefined {
  if (s === "") return undefined;
  if (s[0] === "[") {
    const end = s.indexOf("]");
    if (end < 0) return undefined;
    const after = s[end + 1];
    if (after !== ":" && after !== undefined) return undefined;
    const arg = s.slice(1, end);
    return { field: { arg, isPath: arg.includes("/") }, rest: s.slice(end + 2) };
  }
  let arg = "";
  let isPath = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\") {
      if (i + 1 >= s.length) return undefined;
      i++; // the escaped character is taken literally
      arg += s[i] as string;
      continue;
    }
    if (c === "/") isPath = true;
    if (c === ":") return { field: { arg, isPath }, rest: s.slice(i + 1) };
    arg += c;
  }
  return { field: { arg, isPath }, rest: "" };
}

/** readconf.c parse_forward(): the raw forward, or undefined where ssh returns 0. */
export function parseRawForward(
  spec: string,
  dynamic: boolean,
  remote: boolean,
): RawForward | undefined {
  let s: string | undefined = spec.replace(/^[ \t\n\v\f\r]+/, "");
  const fields: Field[] = [];
  while (fields.length < 4 && s !== undefined) {
    const r = nextField(s);
    if (!r) {
      s = s === "" ? undefined : s;
      break;
    }
    fields.push(r.field);
    s = r.rest;
  }
  if (s !== undefined && s !== "") return undefined; // trailing garbage
  const f = fields.map((x) => x.arg);
  const p = fields.map((x) => x.isPath);
  const fwd: RawForward = {
    listenHost: undefined,
    listenPort: 0,
    listenPath: undefined,
    connectHost: undefined,
    connectPort: 0,
    connectPath: undefined,
  };
  const a = (i: number) => f[i] as string;
  switch (fields.length) {
    case 1:
      if (p[0]) [fwd.listenPath, fwd.listenPort] = [a(0), PORT_STREAMLOCAL];
      else fwd.listenPort = a2port(a(0));
      fwd.connectHost = "socks";
      break;
    case 2:
      if (p[0] && p[1]) {
        [fwd.listenPath, fwd.listenPort] = [a(0), PORT_STREAMLOCAL];
        [fwd.connectPath, fwd.connectPort] = [a(1), PORT_STREAMLOCAL];
      } else if (p[1]) {
        fwd.listenPort = a2port(a(0));
        [fwd.connectPath, fwd.connectPort] = [a(1), PORT_STREAMLOCAL];
      } else {
        [fwd.listenHost, fwd.listenPort] = [a(0), a2port(a(1))];
        fwd.connectHost = "socks";
      }
      break;
    case 3:
      if (p[0]) {
        [fwd.listenPath, fwd.listenPort] = [a(0), PORT_STREAMLOCAL];
        [fwd.connectHost, fwd.connectPort] = [a(1), a2port(a(2))];
      } else if (p[2]) {
        [fwd.listenHost, fwd.listenPort] = [a(0), a2port(a(1))];
        [fwd.connectPath, fwd.connectPort] = [a(2), PORT_STREAMLOCAL];
      } else {
        fwd.listenPort = a2port(a(0));
        [fwd.connectHost, fwd.connectPort] = [a(1), a2port(a(2))];
      }
      break;
    case 4:
      [fwd.listenHost, fwd.listenPort] = [a(0), a2port(a(1))];
      [fwd.connectHost, fwd.connectPort] = [a(2), a2port(a(3))];
      break;
    default:
      return undefined;
  }
  const n = fields.length;
  if (dynamic) {
    if (n !== 1 && n !== 2) return undefined;
  } else {
    if (n !== 3 && n !== 4 && fwd.connectPath === undefined && fwd.listenPath === undefined)
      return undefined;
    if (fwd.connectPort <= 0 && fwd.connectPath === undefined) return undefined;
  }
  if ((fwd.listenPort < 0 && fwd.listenPath === undefined) || (!remote && fwd.listenPort === 0))
    return undefined;
  if ((fwd.connectHost?.length ?? 0) >= NI_MAXHOST || (fwd.listenHost?.length ?? 0) >= NI_MAXHOST)
    return undefined;
  if (
    (fwd.connectPath?.length ?? 0) >= PATH_MAX_SUN ||
    (fwd.listenPath?.length ?? 0) >= PATH_MAX_SUN
  )
    return undefined;
  return fwd;
}

/** The ssh -G text of one forward value (readconf.c dump_cfg_forwards). */
export function formatRawForward(f: RawForward, dynamic: boolean): string {
  const listen =
    f.listenPort === PORT_STREAMLOCAL
      ? f.listenPath
      : f.listenHost === undefined
        ? String(f.listenPort)
        : `[${f.listenHost}]:${f.listenPort}`;
  if (dynamic) return `${listen}`;
  const connect =
    f.connectPort === PORT_STREAMLOCAL
      ? f.connectPath
      : f.connectHost === undefined
        ? String(f.connectPort)
        : `[${f.connectHost}]:${f.connectPort}`;
  return `${listen} ${connect}`;
}
