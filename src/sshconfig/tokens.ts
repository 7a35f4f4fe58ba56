/**
 * Token expansion as OpenSSH does it: misc.c percent_expand() /
 * dollar_expand() and tilde_expand(), with the client's token set
 * (sshconnect.h DEFAULT_CLIENT_PERCENT_EXPAND_ARGS).
 */
import { createHash } from "node:crypto";
import { FwdError } from "../errors.ts";
import type { Env } from "../paths.ts";

export interface TokenContext {
  /** %d: the local user's home directory. */
  home: string;
  /** %u: the local user name. */
  localUser: string;
  /** %l: the local host name (as gethostname(), %L is it up to the first dot). */
  localHostname: string;
  /** %h: the remote host name (after HostName). */
  host: string;
  /** %n: the host name as given on the command line. */
  originalHost: string;
  /** %p */
  port: string;
  /** %r */
  remoteUser: string;
  /** ${VAR} values. */
  env: Env;
  /** %i: the local uid (default "0" when not given). */
  uid?: string | undefined;
  /** %k: HostKeyAlias when set (default: the original host). */
  hostKeyAlias?: string | undefined;
  /** Expand ${VAR} too (default true; ssh does it for paths such as IdentityFile, not for commands). */
  dollar?: boolean | undefined;
}

/** %C: SHA1 over local host, remote host, port and remote user (readconf.c ssh_connection_hash). */
export function connectionHash(thisHost: string, host: string, port: string, user: string): string {
  return createHash("sha1").update(thisHost).update(host).update(port).update(user).digest("hex");
}

/** The token table of ssh's client for this context. */
export function clientTokens(t: TokenContext): Record<string, string> {
  return {
    C: connectionHash(t.localHostname, t.host, t.port, t.remoteUser),
    L: t.localHostname.split(".")[0] ?? "",
    i: t.uid ?? "0",
    k: t.hostKeyAlias ?? t.originalHost,
    l: t.localHostname,
    n: t.originalHost,
    p: t.port,
    d: t.home,
    h: t.host,
    r: t.remoteUser,
    u: t.localUser,
  };
}

/**
 * misc.c vdollar_percent_expand(): `%x` from `tokens` (undefined = no % expansion),
 * `${VAR}` from env when `env` is given. Throws a message (no file:line) on error.
 */
export function expandRaw(
  value: string,
  tokens: Record<string, string> | undefined,
  env: Env | undefined,
): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (env && c === "$" && value[i + 1] === "{") {
      const end = value.indexOf("}", i + 2);
      if (end < 0)
        throw new Error(`environment variable '${value.slice(i + 2)}' missing closing '}'`);
      const name = value.slice(i + 2, end);
      if (name === "") throw new Error("zero-length environment variable");
      const v = env[name];
      if (v === undefined) throw new Error(`env var \${${name}} has no value`);
      out += v;
      i = end;
      continue;
    }
    if (c !== "%" || !tokens) {
      out += c;
      continue;
    }
    i++;
    const k = value[i];
    if (k === "%") out += "%";
    else if (k === undefined) throw new Error("invalid format: '%' at end");
    else if (k in tokens) out += tokens[k];
    else throw new Error(`unknown key %${k}`);
  }
  return out;
}

/** %h %p %r %u %L %l %d %C %n %i %k %% and (unless t.dollar === false) ${VAR}, as misc.c percent_expand. */
export function expandTokens(value: string, t: TokenContext): string {
  try {
    return expandRaw(value, clientTokens(t), t.dollar === false ? undefined : t.env);
  } catch (e) {
    throw new FwdError(
      "config",
      `cannot expand "${value}": ${(e as Error).message}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ssh's own ${VAR} syntax
      "tokens: %h %p %r %u %L %l %d %C %n %i %k %%; ${VAR} must be set",
    );
  }
}

/**
 * misc.c tilde_expand(): `~` and `~/path` become the home directory (with
 * exactly one slash after it). `~user` needs the passwd database, which this
 * pure function does not read: such paths are returned unchanged.
 */
export function expandTilde(path: string, home: string): string {
  if (!path.startsWith("~")) return path;
  const rest = path.slice(1);
  if (rest !== "" && !rest.startsWith("/")) return path;
  const tail = rest.replace(/^\/+/, "");
  const slash = home === "" || !home.endsWith("/") ? "/" : "";
  return `${home}${slash}${tail}`;
}
