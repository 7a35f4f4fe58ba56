/**
 * Port numbers by name, as misc.c a2port() does: a number 0..65535, else the
 * tcp service of that name (getservbyname). The services database is read
 * once, lazily; without it a short list of well-known names stands in.
 */
import { readFileSync } from "node:fs";

let table: Map<string, number> | undefined;

const WELL_KNOWN: Record<string, number> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  http: 80,
  www: 80,
  pop3: 110,
  imap2: 143,
  imap: 143,
  ldap: 389,
  https: 443,
  submission: 587,
  ldaps: 636,
  rsync: 873,
  imaps: 993,
  pop3s: 995,
  socks: 1080,
  "ms-sql-s": 1433,
  mysql: 3306,
  postgresql: 5432,
  postgres: 5432,
};

/** Parses /etc/services text: "name port/proto [aliases...] [# comment]". */
export function parseServices(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(portProto ?? "");
    if (!name || !m) continue;
    const port = Number(m[1]);
    for (const n of [name, ...aliases]) if (!out.has(n)) out.set(n, port);
  }
  return out;
}

function services(): Map<string, number> {
  if (!table) {
    try {
      table = parseServices(readFileSync("/etc/services", "utf8"));
    } catch {
      // No services database (minimal containers): the names people put in forwards.
      table = new Map(Object.entries(WELL_KNOWN));
    }
  }
  return table;
}

/** strtonum(s, 0, 65535): optional leading blanks and sign, decimal digits only. */
function strtonum(s: string, min: number, max: number): number | undefined {
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s.trim());
  return n >= min && n <= max ? n : undefined;
}

/** misc.c a2port(): the port, or -1 when invalid. */
export function a2port(s: string): number {
  const n = strtonum(s, 0, 65535);
  if (n !== undefined) return n;
  return services().get(s) ?? -1;
}

/** misc.c atoi_err(): an int 0..INT_MAX or an error word. */
export function atoiErr(s: string | undefined): number | string {
  if (s === undefined || s === "") return "missing";
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return "invalid";
  const n = Number(s.trim());
  if (n < 0) return "too small";
  if (n > 2147483647) return "too large";
  return n;
}
