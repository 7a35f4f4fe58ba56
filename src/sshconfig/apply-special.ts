/**
 * Options with their own value syntax (readconf.c): Port, RekeyLimit,
 * LogLevel, SyslogFacility, EscapeChar, ControlPersist, TunnelDevice, IPQoS,
 * StreamLocalBindMask, AddKeysToAgent.
 */

import { type Args, type LineCtx, LineError, parseTime, setN } from "./line.ts";
import * as K from "./multistate.ts";
import type { Options } from "./options.ts";
import { a2port } from "./services.ts";
import { a2tun, convtime, parseIpqos, scanScaled } from "./values.ts";

/** Applies op when it is one of these options; false otherwise. */
export function applySpecial(o: Options, c: LineCtx, op: string, args: Args): boolean {
  if (op === "port") {
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
    const v = a === "DEBUG1" ? 5 : a === "QUIET" ? 0 : K.LOG_LEVELS.indexOf(a);
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
  } else return false;
  return true;
}
