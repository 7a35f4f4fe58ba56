/**
 * What ssh does after fill_default_options() and before printing with -G:
 * the tidy-up, sanity checks and token expansion of ssh.c main().
 */
import type { Env } from "../paths.ts";
import { fail } from "./defaults.ts";
import { PORT_STREAMLOCAL } from "./fwdspec.ts";
import type { Options } from "./options.ts";
import { clientTokens, expandRaw, expandTilde } from "./tokens.ts";

export interface FinalCtx {
  hostArg: string;
  host: string;
  localUser: string;
  localHostname: string;
  home: string;
  uid: string;
  env: Env;
}

/** ssh.c main() after fill_default_options(), up to dump_client_config(). */
export function finish(o: Options, f: FinalCtx): void {
  if (!o.s.has("user")) o.s.set("user", f.localUser);
  const user = o.s.get("user") as string;
  if (o.jump) {
    const port = (o.n.get("port") as number) || 22;
    const jport = o.jump.port > 0 ? o.jump.port : 22;
    if (o.jump.host === f.host && port === jport && user === (o.jump.user ?? user)) {
      throw fail(`jumphost loop via ${o.jump.host}`, "ProxyJump points at the host itself");
    }
    o.n.set("proxyusefdpass", 0);
  }
  if (o.n.get("port") === 0) o.n.set("port", 22);
  const alias = o.s.get("hostkeyalias");
  if (alias !== undefined) o.s.set("hostkeyalias", alias.toLowerCase());
  if (o.s.get("proxycommand") === "-" && o.n.get("proxyusefdpass")) {
    throw fail("ProxyCommand=- and ProxyUseFDPass are incompatible");
  }
  if (o.n.get("updatehostkeys") === 2) {
    const persist = o.n.get("controlpersist") && o.s.has("controlpath");
    if (
      persist ||
      o.s.has("remotecommand") ||
      o.n.get("requesttty") === 1 ||
      (o.n.get("loglevel") as number) < 3
    ) {
      o.n.set("updatehostkeys", 0);
    }
  }
  if ((o.n.get("connectionattempts") as number) <= 0)
    throw fail("Invalid number of ConnectionAttempts");
  if (
    o.n.get("forkafterauthentication") &&
    !o.s.has("remotecommand") &&
    o.n.get("sessiontype") !== 0
  ) {
    throw fail("Cannot fork into background without a command to execute.");
  }
  const tokens = clientTokens({
    home: f.home,
    localUser: f.localUser,
    localHostname: f.localHostname,
    host: f.host,
    originalHost: f.hostArg,
    port: String(o.n.get("port")),
    remoteUser: user,
    env: f.env,
    uid: f.uid,
    hostKeyAlias: o.s.get("hostkeyalias") ?? f.hostArg,
  });
  const expand = (key: string, v: string, dollar: boolean) => {
    try {
      return expandRaw(v, tokens, dollar ? f.env : undefined);
    } catch (e) {
      throw fail(
        `${key} "${v}": ${(e as Error).message}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ssh's own ${VAR} syntax
        "tokens: %h %p %r %u %L %l %d %C %n %i %k %%; ${VAR} must be set",
      );
    }
  };
  const pathKey = (key: string) => {
    const v = o.s.get(key);
    if (v !== undefined) o.s.set(key, expand(key, expandTilde(v, f.home), true));
  };
  const rc = o.s.get("remotecommand");
  if (rc !== undefined) o.s.set("remotecommand", expand("remotecommand", rc, false));
  pathKey("controlpath");
  pathKey("identityagent");
  pathKey("forwardagent.path");
  for (const k of ["globalknownhostsfile", "userknownhostsfile"]) {
    const l = o.lists.get(k) ?? [];
    if (l[0]?.toLowerCase() === "none") o.lists.set(k, []);
  }
  const uhf = o.lists.get("userknownhostsfile") ?? [];
  o.lists.set(
    "userknownhostsfile",
    uhf.map((p) => expand("userknownhostsfile", expandTilde(p, f.home), true)),
  );
  for (const fw of [...o.localForwards, ...o.remoteForwards]) {
    if (fw.listenPort === PORT_STREAMLOCAL && fw.listenPath !== undefined)
      fw.listenPath = expand("forward", fw.listenPath, false);
    if (fw.connectPort === PORT_STREAMLOCAL && fw.connectPath !== undefined)
      fw.connectPath = expand("forward", fw.connectPath, false);
  }
}
