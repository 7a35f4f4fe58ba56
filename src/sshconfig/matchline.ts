/**
 * `Match` lines: readconf.c match_cfg_line(). Criteria are cut with strdelim()
 * (not argv_split), `all` must stand alone, `canonical`/`final` are true only
 * in the final pass, `exec` runs a command only when the caller allows it.
 */

import type { Env } from "../paths.ts";
import { strdelim } from "./lexer.ts";
import { LineError } from "./line.ts";
import { matchHostname, matchPatternList } from "./match.ts";
import type { Options } from "./options.ts";
import { clientTokens, expandRaw } from "./tokens.ts";

export interface MatchCtx {
  /** The host being resolved in this pass (pass 1: the command-line name). */
  host: string;
  originalHost: string;
  final: boolean;
  localUser: string;
  home: string;
  localHostname: string;
  uid: string;
  env: Env;
  /** Runs `Match exec` commands: exit status, or undefined when not allowed (criterion is false). */
  exec: ((command: string) => number) | undefined;
}

export interface MatchResult {
  matched: boolean;
  wantFinal: boolean;
}

/** %h in HostName, as readconf.c/ssh.c expand it (only %h and %% are known there). */
export function expandHostname(hostname: string, host: string): string {
  try {
    return expandRaw(hostname, { h: host }, undefined);
  } catch (e) {
    throw new LineError(`HostName "${hostname}": ${(e as Error).message}`);
  }
}

export function evalMatch(rest: string, o: Options, m: MatchCtx): MatchResult {
  const port = String(o.n.get("port") ?? 22);
  const ruser = o.s.get("user") ?? m.localUser;
  const hn = o.s.get("hostname");
  const host = m.final ? (hn ?? m.host) : hn !== undefined ? expandHostname(hn, m.host) : m.host;
  let result = true;
  let attributes = 0;
  let wantFinal = false;
  let cp: string | undefined = rest;
  for (;;) {
    const [attr, next] = strdelim(cp);
    cp = next;
    if (attr === undefined || attr === "") break;
    if (attr.startsWith("#")) break;
    const negate = attr.startsWith("!");
    const a = (negate ? attr.slice(1) : attr).toLowerCase();
    if (a === "all") {
      const [arg] = strdelim(cp);
      if (attributes > 1 || (arg !== undefined && arg !== "" && !arg.startsWith("#"))) {
        throw new LineError(`'${attr}' cannot be combined with other Match attributes`);
      }
      if (result) result = !negate;
      return { matched: result, wantFinal };
    }
    attributes++;
    if (a === "canonical" || a === "final") {
      if (a === "final") wantFinal = true;
      if (m.final === negate) result = false;
      continue;
    }
    const [arg, after] = strdelim(cp);
    cp = after;
    if (arg === undefined || arg === "" || arg.startsWith("#")) {
      throw new LineError(`Missing Match criteria for ${a}`);
    }
    let r: boolean;
    if (a === "host") r = matchHostname(host, arg) === 1;
    else if (a === "originalhost") r = matchHostname(m.originalHost, arg) === 1;
    else if (a === "user") r = matchPatternList(ruser, arg, false) === 1;
    else if (a === "localuser") r = matchPatternList(m.localUser, arg, false) === 1;
    else if (a === "exec") {
      if (!result) continue; // ssh skips exec once an earlier criterion failed
      const tokens = clientTokens({
        home: m.home,
        localUser: m.localUser,
        localHostname: m.localHostname,
        host,
        originalHost: m.originalHost,
        port,
        remoteUser: ruser,
        env: m.env,
        uid: m.uid,
        hostKeyAlias: o.s.get("hostkeyalias") ?? host,
      });
      let cmd: string;
      try {
        cmd = expandRaw(arg, tokens, undefined);
      } catch (e) {
        throw new LineError(`match exec '${arg}': ${(e as Error).message}`);
      }
      r = m.exec ? m.exec(cmd) === 0 : false;
    } else throw new LineError(`Unsupported Match attribute ${a}`);
    if (r === negate) result = false;
  }
  if (attributes === 0) throw new LineError("One or more attributes required for Match");
  return { matched: result, wantFinal };
}
