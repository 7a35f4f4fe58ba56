/**
 * String, command and list options of readconf.c process_config_line_depth()
 * (parse_string, parse_command, parse_char_array and their special cases).
 */
import { checkAlgorithms } from "./algorithms.ts";
import { applyList } from "./apply-lists.ts";
import type { Line } from "./lexer.ts";
import { type Args, addOrigin, type LineCtx, LineError, setN } from "./line.ts";
import { validHostname, validRemoteUser } from "./names.ts";
import { list, type Options } from "./options.ts";
import { parseJump } from "./proxyjump.ts";
import { expandRaw } from "./tokens.ts";
import { validEnvName } from "./values.ts";

const STRINGS = new Set([
  "user",
  "hostname",
  "hostkeyalias",
  "preferredauthentications",
  "bindaddress",
  "bindinterface",
  "pkcs11provider",
  "securitykeyprovider",
  "xauthlocation",
  "kbdinteractivedevices",
  "controlpath",
  "revokedhostkeys",
  "ignoreunknown",
  "gssapiclientidentity",
  "gssapiserveridentity",
]);
const COMMANDS = new Set(["proxycommand", "localcommand", "remotecommand", "knownhostscommand"]);
const DIGESTS = ["MD5", "SHA1", "SHA256", "SHA384", "SHA512"];

function setS(o: Options, c: LineCtx, key: string, v: string, originKey = key): void {
  if (!c.active || o.s.has(key)) return;
  o.s.set(key, v);
  addOrigin(o, c, originKey);
}

function required(arg: string | undefined, msg = "Missing argument."): string {
  if (arg === undefined || arg === "") throw new LineError(msg);
  return arg;
}

/** The validation of IdentityAgent / ForwardAgent paths (readconf.c parse_agent_path). */
function agentPath(c: LineCtx, arg: string): void {
  try {
    expandRaw(arg, undefined, c.env);
  } catch {
    throw new LineError(`Invalid environment expansion ${arg}.`);
  }
  if (arg[0] === "$" && arg[1] !== "{" && !validEnvName(arg.slice(1))) {
    throw new LineError(`Invalid environment name ${arg}.`);
  }
}

export function applyStringLike(o: Options, c: LineCtx, op: string, line: Line, args: Args): void {
  if (STRINGS.has(op)) {
    setS(o, c, op, required(args.next()));
  } else if (COMMANDS.has(op)) {
    // the rest of the line, raw (ProxyJump sets ProxyCommand "none", so the first of the two wins)
    setS(o, c, op, line.rest.replace(/^[ \t\r\n=]+/, ""));
    args.consume();
  } else if (op === "proxyjump") {
    const v = line.rest.replace(/^[ \t\r\n=]+/, "");
    const none = v.toLowerCase() === "none";
    const active = c.active && !o.jump && (none || !o.s.has("proxycommand"));
    const r = parseJump(v, active, c.strict === true, {
      host: validHostname,
      user: validRemoteUser,
    });
    if (r === undefined) throw new LineError(`Invalid ProxyJump "${v}"`);
    if (active && r !== "syntax-ok") {
      o.jump = r;
      if (!none) o.s.set("proxycommand", "none");
      addOrigin(o, c, "proxyjump");
    }
    args.consume();
  } else if (op === "identityfile" || op === "certificatefile") {
    const arg = required(args.next());
    if (!c.active) return;
    const l = list(o, op);
    const prov = list(o, `${op}.userprovided`);
    const mark = c.userConf ? "1" : "0";
    // readconf.c SSH_MAX_IDENTITY_FILES / SSH_MAX_CERTIFICATE_FILES
    if (l.length >= 100) {
      const what = op === "identityfile" ? "identity" : "certificate";
      throw new LineError(`Too many ${what} files specified (max 100).`);
    }
    if (l.some((p, i) => p === arg && prov[i] === mark)) return;
    l.push(arg);
    prov.push(mark);
    addOrigin(o, c, op);
  } else if (applyList(o, c, op, line, args)) {
    // apply-lists.ts handled it
  } else if (op === "forwardagent") {
    const arg = args.next();
    if (arg === undefined || arg === "") throw new LineError("missing argument.");
    const low = arg.toLowerCase();
    const flag = low === "yes" || low === "true" ? 1 : low === "no" || low === "false" ? 0 : -1;
    if (flag !== -1) {
      setN(o, c, "forwardagent", flag);
      return;
    }
    if (c.active && !o.n.has("forwardagent")) o.n.set("forwardagent", 1);
    agentPath(c, arg);
    setS(o, c, "forwardagent.path", arg, "forwardagent");
  } else if (op === "identityagent") {
    const arg = required(args.next());
    agentPath(c, arg);
    setS(o, c, op, arg);
  } else if (op === "fingerprinthash") {
    const arg = required(args.next());
    const v = DIGESTS.indexOf(arg.toUpperCase());
    if (v < 0) throw new LineError(`Invalid hash algorithm "${arg}".`);
    setN(o, c, op, v);
  } else if (checkAlgorithms(op, args)) {
    // algorithms.ts validated the list; keep it as written
    setS(o, c, op, args.a[args.i - 1] as string);
  } else {
    throw new LineError(`Unimplemented opcode ${op}`);
  }
}
