/**
 * One ssh_config line applied to the option state: readconf.c
 * process_config_line_depth() for every keyword except Host, Match and
 * Include (resolve.ts). Syntax is checked whether or not the line is active,
 * as ssh does; values are stored only when active and still unset.
 */

import type { Env } from "../paths.ts";
import { applyStringLike } from "./apply-strings.ts";
import { parseRawForward } from "./forward.ts";
import * as K from "./keywords.ts";
import type { Line } from "./lexer.ts";
import { forwardEquals, type Options, type Origin } from "./options.ts";
import { a2port, atoiErr } from "./services.ts";
import { expandRaw } from "./tokens.ts";
import { a2tun, convtime, parseIpqos, scanScaled } from "./values.ts";

/** A line ssh rejects; resolve.ts adds file:line. */
export class LineError extends Error {}

export interface LineCtx {
  active: boolean;
  origin: Origin;
  /** User config (-F or ~/.ssh/config and what they include), not the system one. */
  userConf: boolean;
  env: Env;
  /** A command-line option (ssh -o): ProxyJump names are checked strictly. */
  strict?: boolean;
}

/** Cursor over a line's arguments (misc.c argv_next). */
export class Args {
  i = 0;
  constructor(readonly a: string[]) {}
  next(): string | undefined {
    return this.a[this.i++];
  }
  get left(): number {
    return Math.max(0, this.a.length - this.i);
  }
  consume(): void {
    this.i = this.a.length;
  }
}

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

/** Store an int option: first value wins; -1 (e.g. "none" times) leaves it unset, as in ssh. */
export function setN(o: Options, c: LineCtx, key: string, v: number, originKey = key): void {
  if (!c.active || o.n.has(key) || v === -1) return;
  o.n.set(key, v);
  if (!o.origins.has(originKey)) o.origins.set(originKey, c.origin);
}

function parseTime(arg: string | undefined): number {
  if (arg === undefined || arg === "") throw new LineError("missing time value.");
  if (arg === "none") return -1;
  const v = convtime(arg);
  if (v === -1) throw new LineError("invalid time value.");
  return v;
}

function parseInt_(arg: string | undefined): number {
  const v = atoiErr(arg);
  if (typeof v === "string") throw new LineError(`integer value ${v}.`);
  return v;
}

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
  } else if (op === "port") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("Missing argument.");
    const v = a2port(arg);
    if (v <= 0) throw new LineError(`Bad port '${arg}'.`);
    setN(o, c, "port", v);
  } else if (op === "rekeylimit") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("Missing argument.");
    let v = 0;
    if (arg !== "default") {
      v = scanScaled(arg);
      if (v < 0) throw new LineError(`Bad number '${arg}': Invalid argument`);
      if (v !== 0 && v < 16) throw new LineError("RekeyLimit too small");
    }
    setN(o, c, "rekeylimit", v);
    if (args.left > 0) {
      if (args.a[args.i] === "none") args.next();
      else setN(o, c, "rekeyinterval", parseTime(args.next()), "rekeylimit");
    }
  } else if (op === "loglevel") {
    const arg = args.next();
    const a = (arg ?? "").toUpperCase();
    const v = a === "DEBUG1" ? 5 : K.LOG_LEVELS.indexOf(a);
    if (v < 0) throw new LineError(`unsupported log level '${arg ?? "<NONE>"}'`);
    setN(o, c, "loglevel", v);
  } else if (op === "syslogfacility") {
    const arg = args.next();
    const v = K.LOG_FACILITIES.indexOf((arg ?? "").toUpperCase());
    if (v < 0) throw new LineError(`unsupported log facility '${arg ?? "<NONE>"}'`);
    // readconf.c sets SyslogFacility even in inactive blocks
    setN(o, { ...c, active: true }, "syslogfacility", v);
  } else if (op === "escapechar") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("Missing argument.");
    let v: number;
    const code = (i: number) => arg.charCodeAt(i);
    if (arg === "none") v = -2;
    else if (arg.length === 1) v = code(0);
    else if (arg.length === 2 && arg[0] === "^" && code(1) >= 64 && code(1) < 128) v = code(1) & 31;
    else throw new LineError("Bad escape character.");
    setN(o, c, "escapechar", v);
  } else if (op === "controlpersist") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("Missing ControlPersist argument.");
    const t =
      arg === "no" || arg === "false" || arg === "yes" || arg === "true" ? 0 : convtime(arg);
    if (t < 0) throw new LineError("Bad ControlPersist argument.");
    const v = arg === "no" || arg === "false" ? 0 : 1;
    if (c.active && !o.n.has("controlpersist")) o.n.set("controlpersist.timeout", t);
    setN(o, c, "controlpersist", v);
  } else if (op === "tunneldevice") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("Missing argument.");
    const t = a2tun(arg);
    if (!t) throw new LineError("Bad tun device.");
    if (c.active && !o.n.has("tunneldevice")) o.n.set("tunneldevice.remote", t[1]);
    setN(o, c, "tunneldevice", t[0]);
  } else if (op === "ipqos") {
    const a1 = args.next();
    const v = parseIpqos(a1);
    if (v === -1) throw new LineError(`Bad IPQoS value: ${a1 ?? "(null)"}`);
    const a2 = args.next();
    const v2 = a2 === undefined ? v : parseIpqos(a2);
    if (v2 === -1) throw new LineError(`Bad IPQoS value: ${a2}`);
    if (c.active && !o.n.has("ipqos")) o.n.set("ipqos.bulk", v2);
    setN(o, c, "ipqos", v);
  } else if (op === "streamlocalbindmask") {
    const arg = args.next();
    if (arg === undefined || arg === "")
      throw new LineError("Missing StreamLocalBindMask argument.");
    const m = /^[ \t]*([+-]?[0-7]+)/.exec(arg);
    const v = m ? Number.parseInt(m[1] as string, 8) : Number.NaN;
    if (!m || v < 0 || v > 0o777) throw new LineError("Bad mask.");
    // readconf.c: no first-wins and no active check for this one
    o.n.set("streamlocalbindmask", v);
  } else if (op === "addkeystoagent") {
    const arg = args.next();
    const arg2 = args.next();
    if (arg === undefined || arg === "") throw new LineError("missing argument.");
    let v = K.multistateValue(arg, K.YESNOASKCONFIRM);
    let life = 0;
    if (v === 3 && arg2 !== undefined) {
      life = convtime(arg2);
      if (life === -1) throw new LineError("invalid time value.");
    } else if (v === -1 && arg2 === undefined) {
      life = convtime(arg);
      if (life === -1) throw new LineError("unsupported option");
      v = 1;
    } else if (v === -1 || arg2 !== undefined) throw new LineError("unsupported option");
    if (c.active && !o.n.has("addkeystoagent")) o.n.set("addkeystoagent.lifespan", life);
    setN(o, c, "addkeystoagent", v);
  } else {
    applyStringLike(o, c, op, line, args);
  }
  if (args.left > 0) throw new LineError(`keyword ${line.keyword} extra arguments at end of line`);
}
