/**
 * List options of readconf.c: known-hosts files, LogVerbose, SendEnv, SetEnv,
 * PermitRemoteOpen, CanonicalDomains, CanonicalizePermittedCNAMEs. Most keep
 * only the first line that sets them; SendEnv accumulates (and `-` removes).
 */
import type { Line } from "./lexer.ts";
import { type Args, addOrigin, type LineCtx, LineError } from "./line.ts";
import { matchPattern } from "./match.ts";
import { list, type Options } from "./options.ts";
import { hpdelim } from "./proxyjump.ts";
import { a2port } from "./services.ts";
import { validDomain } from "./values.ts";

/** Lists where "none" must stand alone (parse_char_array, LogVerbose, CanonicalDomains). */
export function noneAlone(kw: string, args: Args, arg: string, i: number): void {
  if (arg.toLowerCase() === "none" && (i > 0 || args.left > 0)) {
    throw new LineError(`keyword ${kw} "none" argument must appear alone.`);
  }
}

/** Applies op when it is one of these list options; false otherwise. */
export function applyList(o: Options, c: LineCtx, op: string, line: Line, args: Args): boolean {
  const kw = line.keyword;
  if (op === "globalknownhostsfile" || op === "userknownhostsfile") {
    const wasEmpty = !o.lists.get(op)?.length;
    let i = 0;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      if (arg === "") throw new LineError(`keyword ${kw} empty argument`);
      noneAlone(kw, args, arg, i++);
      if (c.active && wasEmpty) {
        const l = list(o, op);
        if (l.length >= 16) throw new LineError(`too many ${kw} entries.`);
        l.push(arg);
        addOrigin(o, c, op);
      }
    }
  } else if (op === "logverbose") {
    let i = 0;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      if (arg === "") throw new LineError(`keyword ${kw} empty argument`);
      noneAlone(kw, args, arg, i++);
      // readconf.c checks emptiness per argument: only the first one is kept
      if (c.active && !o.lists.get(op)?.length) {
        list(o, op).push(arg);
        addOrigin(o, c, op);
      }
    }
  } else if (op === "sendenv") {
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      if (arg === "" || arg.includes("=")) throw new LineError("Invalid environment name.");
      if (!c.active) continue;
      const l = list(o, op);
      if (arg.startsWith("-")) {
        const pat = arg.slice(1);
        o.lists.set(
          op,
          l.filter((e) => !matchPattern(e, pat)),
        );
        continue;
      }
      l.push(arg);
      addOrigin(o, c, op);
    }
  } else if (op === "setenv") {
    const wasEmpty = !o.lists.get(op)?.length;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      if (!arg.includes("=")) throw new LineError("Invalid SetEnv.");
      if (!c.active || !wasEmpty) continue;
      const l = list(o, op);
      const name = arg.slice(0, arg.indexOf("="));
      if (l.some((e) => e.slice(0, e.indexOf("=")) === name)) continue;
      l.push(arg);
      addOrigin(o, c, op);
    }
  } else if (op === "permitremoteopen") {
    const wasEmpty = !o.lists.get(op)?.length;
    let i = 0;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      const low = arg.toLowerCase();
      if (low === "none" || low === "any") {
        if (i > 0 || args.left > 0)
          throw new LineError(`keyword ${kw} "${arg}" argument must appear alone.`);
      } else {
        const hp = hpdelim(arg);
        if (!hp) throw new LineError("missing host in permitremoteopen");
        const port = hp.rest;
        if (port === undefined || (port !== "*" && a2port(port) <= 0)) {
          throw new LineError("bad port number in permitremoteopen");
        }
      }
      if (c.active && wasEmpty) {
        list(o, op).push(arg);
        addOrigin(o, c, op);
      }
      i++;
    }
    if (i === 0) throw new LineError("missing permitremoteopen specification");
  } else if (op === "canonicaldomains") {
    const wasEmpty = !o.lists.get(op)?.length;
    let i = 0;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      if (arg === "") throw new LineError(`keyword ${kw} empty argument`);
      noneAlone(kw, args, arg, i++);
      const d = validDomain(arg, true);
      if ("error" in d) throw new LineError(d.error);
      if (!c.active || !wasEmpty) continue;
      const l = list(o, op);
      if (l.length >= 32) throw new LineError("too many hostname suffixes.");
      l.push(d.ok);
      addOrigin(o, c, op);
    }
  } else if (op === "canonicalizepermittedcnames") {
    const wasEmpty = !o.lists.get(op)?.length;
    let i = 0;
    for (let arg = args.next(); arg !== undefined; arg = args.next()) {
      let entry: string;
      if (arg.toLowerCase() === "none") {
        if (i > 0 || args.left > 0)
          throw new LineError(`keyword ${kw} "none" argument must appear alone.`);
        entry = `${arg}:`;
      } else if (arg === "*") entry = "*:*";
      else {
        const low = arg.toLowerCase();
        const k = low.indexOf(":");
        if (k < 0 || k === low.length - 1) throw new LineError(`Invalid permitted CNAME "${low}"`);
        entry = low;
      }
      i++;
      if (!c.active || !wasEmpty) continue;
      const l = list(o, op);
      if (l.length >= 32) throw new LineError("too many permitted CNAMEs.");
      l.push(entry);
      addOrigin(o, c, op);
    }
  } else return false;
  return true;
}
