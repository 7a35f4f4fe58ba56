/**
 * The real file system behind ConfigFs: read, stat and a glob(3) with
 * GLOB_TILDE as ssh's Include uses it (sorted, `*` `?` `[...]` per path
 * segment, leading dots only matched explicitly).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { ConfigFs } from "./readconf.ts";

const MAGIC = /[*?[]/;

/** fnmatch(3) for one path segment (no FNM_PERIOD handling here: see below). */
export function segmentMatch(name: string, pattern: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const neg = body.startsWith("!") || body.startsWith("^");
      if (neg) body = body.slice(1);
      re += `[${neg ? "^" : ""}${body.replace(/[\\\]^]/g, (x) => `\\${x}`)}]`;
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) {
      i++;
      re += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s").test(name);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** glob(pattern, GLOB_TILDE): sorted matches, [] for none. */
export function glob(pattern: string, home: string): string[] {
  let p = pattern;
  if (p === "~" || p.startsWith("~/")) p = home + p.slice(1);
  if (!MAGIC.test(p)) return exists(p) ? [p] : [];
  const abs = p.startsWith("/");
  const segs = p.split("/").filter((s, i) => s !== "" || i === 0);
  let paths = [abs ? "/" : ""];
  for (const seg of abs ? segs.slice(1) : segs) {
    const next: string[] = [];
    for (const base of paths) {
      const join = (n: string) =>
        base === "" ? n : base.endsWith("/") ? base + n : `${base}/${n}`;
      if (!MAGIC.test(seg)) {
        next.push(join(seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === "" ? "." : base);
      } catch {
        continue;
      }
      for (const n of names) {
        if (n.startsWith(".") && !seg.startsWith(".")) continue;
        if (segmentMatch(n, seg)) next.push(join(n));
      }
    }
    paths = next;
  }
  return paths.filter(exists).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function nodeFs(home: string): ConfigFs {
  return {
    read(path) {
      try {
        return readFileSync(path, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        if (code === "EISDIR") return ""; // fopen() of a directory succeeds and reads nothing
        throw e;
      }
    },
    stat(path) {
      const st = statSync(path);
      return { uid: st.uid, mode: st.mode };
    },
    glob: (pattern) => glob(pattern, home),
  };
}
