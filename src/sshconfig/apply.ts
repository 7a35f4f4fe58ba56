/**
 * One ssh_config line applied to the option state: readconf.c
 * process_config_line_depth() for every keyword except Host, Match and
 * Include (resolve.ts). Syntax is checked whether or not the line is active,
 * as ssh does; values are stored only when active and still unset.
 */

import { applySpecial } from "./apply-special.ts";
import { applyStringLike } from "./apply-strings.ts";
import { parseRawForward } from "./fwdspec.ts";
import type { Line } from "./lexer.ts";
import { Args, type LineCtx, LineError, parseInt_, parseTime, setN } from "./line.ts";
import * as K from "./multistate.ts";
import { forwardEquals, type Options } from "./options.ts";
import { expandRaw } from "./tokens.ts";

const FLAGS = new Set([
  "forwardx11",
  "forwardx11trusted",
  "gatewayports",
  "exitonforwardfailure",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "hostbasedauthentication",
  "gssapiauthentication",
  "gssapikeyexchange",
  "gssapidelegatecredentials",
  "gssapitrustdns",
  "gssapirenewalforcesrekey",
  "batchmode",
  "checkhostip",
  "tcpkeepalive",
  "nohostauthenticationforlocalhost",
  "clearallforwardings",
  "enablesshkeysign",
  "identitiesonly",
  "hashknownhosts",
  "permitlocalcommand",
  "visualhostkey",
  "stdinnull",
  "forkafterauthentication",
  "proxyusefdpass",
  "canonicalizefallbacklocal",
  "streamlocalbindunlink",
  "enableescapecommandline",
]);

export const MULTISTATES: Record<string, K.Multistate> = {
  pubkeyauthentication: K.PUBKEY_AUTH,
  verifyhostkeydns: K.YESNOASK,
  stricthostkeychecking: K.STRICT_HOSTKEY,
  compression: K.COMPRESSION,
  addressfamily: K.ADDRESS_FAMILY,
  controlmaster: K.CONTROL_MASTER,
  tunnel: K.TUNNEL,
  requesttty: K.REQUEST_TTY,
  sessiontype: K.SESSION_TYPE,
  canonicalizehostname: K.CANONICALIZE_HOSTNAME,
  updatehostkeys: K.YESNOASK,
};

const TIMES = new Set(["connecttimeout", "forwardx11timeout", "serveraliveinterval"]);
const INTS = new Set([
  "numberofpasswordprompts",
  "connectionattempts",
  "serveralivecountmax",
  "canonicalizemaxdots",
  "requiredrsasize",
]);

function flagOf(arg: string | undefined, m: K.Multistate): number {
  if (arg === undefined || arg === "") throw new LineError("missing argument.");
  const v = K.multistateValue(arg, m);
  if (v === -1) throw new LineError(`unsupported option "${arg}".`);
  return v;
}

function applyForward(o: Options, c: LineCtx, op: string, args: Args): void {
  const arg = args.next();
  if (arg === undefined || arg === "") throw new LineError("Missing argument.");
  const remote = op === "remoteforward";
  let dynamic = op === "dynamicforward";
  let spec = arg;
  if (!dynamic) {
    const arg2 = args.next();
    if (arg2 === undefined || arg2 === "") {
      if (remote) dynamic = true;
      else throw new LineError("Missing target argument.");
    } else spec = `${arg}:${arg2}`;
  }
  // parse_forward() expands ${VAR} first, so a variable may hold a path
  let expanded: string;
  try {
    expanded = expandRaw(spec, undefined, c.env);
  } catch {
    throw new LineError("Bad forwarding specification.");
  }
  const fwd = parseRawForward(expanded.slice(0, 255), dynamic, remote);
  if (!fwd) throw new LineError("Bad forwarding specification.");
  if (!c.active) return;
  const into = remote ? o.remoteForwards : o.localForwards;
  if (into.some((f) => forwardEquals(f, fwd))) return;
  into.push(fwd);
  const key = remote
    ? "remoteforward"
    : fwd.connectHost === "socks"
      ? "dynamicforward"
      : "localforward";
  if (!o.origins.has(key)) o.origins.set(key, c.origin);
}

/** Applies one non-Host/Match/Include line. `op` is its opcode (keywords.ts). */
export function applyLine(o: Options, c: LineCtx, op: string, line: Line): void {
  if (line.args === undefined) throw new LineError("invalid quotes");
  const args = new Args(line.args);
  if (op === "$ignore" || op === "$deprecated" || op === "$unsupported") {
    // ssh reports Unsupported options as errors but does not fail the file
    args.consume();
  } else if (FLAGS.has(op)) {
    setN(o, c, op, flagOf(args.next(), K.FLAG));
  } else if (MULTISTATES[op]) {
    setN(o, c, op, flagOf(args.next(), MULTISTATES[op] as K.Multistate));
  } else if (TIMES.has(op)) {
    setN(o, c, op, parseTime(args.next()));
  } else if (INTS.has(op)) {
    setN(o, c, op, parseInt_(args.next()));
  } else if (op === "localforward" || op === "remoteforward" || op === "dynamicforward") {
    applyForward(o, c, op, args);
  } else if (!applySpecial(o, c, op, args)) {
    applyStringLike(o, c, op, line, args);
  }
  if (args.left > 0) throw new LineError(`keyword ${line.keyword} extra arguments at end of line`);
}
