/**
 * What ssh does between reading config and printing it with -G:
 * readconf.c fill_default_options() and the tidy-up and token expansion in
 * ssh.c main(). Debian's defaults differ from upstream in ForwardX11Trusted
 * (yes) and IPQoS (lowdelay throughput).
 */
import { FwdError } from "../errors.ts";
import type { Env } from "../paths.ts";
import { assemble } from "./algorithms.ts";
import { PORT_STREAMLOCAL } from "./forward.ts";
import { list, type Options } from "./options.ts";
import { clientTokens, expandRaw, expandTilde } from "./tokens.ts";

const N_DEFAULTS: Record<string, number> = {
  forwardagent: 0,
  forwardx11: 0,
  forwardx11trusted: 1,
  forwardx11timeout: 1200,
  exitonforwardfailure: 0,
  clearallforwardings: 0,
  gatewayports: 0,
  streamlocalbindmask: 0o177,
  streamlocalbindunlink: 0,
  pubkeyauthentication: 3,
  gssapiauthentication: 0,
  gssapikeyexchange: 0,
  gssapidelegatecredentials: 0,
  gssapitrustdns: 0,
  gssapirenewalforcesrekey: 0,
  passwordauthentication: 1,
  kbdinteractiveauthentication: 1,
  hostbasedauthentication: 0,
  batchmode: 0,
  checkhostip: 0,
  stricthostkeychecking: 3,
  compression: 0,
  tcpkeepalive: 1,
  port: 0,
  addressfamily: 0,
  connectionattempts: 1,
  numberofpasswordprompts: 3,
  addkeystoagent: 0,
  "addkeystoagent.lifespan": 0,
  escapechar: 126,
  loglevel: 3,
  syslogfacility: 1,
  nohostauthenticationforlocalhost: 0,
  identitiesonly: 0,
  enablesshkeysign: 0,
  rekeylimit: 0,
  rekeyinterval: 0,
  verifyhostkeydns: 0,
  serveraliveinterval: 0,
  serveralivecountmax: 3,
  controlmaster: 0,
  controlpersist: 0,
  "controlpersist.timeout": 0,
  hashknownhosts: 0,
  tunnel: 0,
  tunneldevice: 0x7fffffff,
  "tunneldevice.remote": 0x7fffffff,
  permitlocalcommand: 0,
  visualhostkey: 0,
  ipqos: 0x10,
  "ipqos.bulk": 0x08,
  requesttty: 0,
  sessiontype: 2,
  stdinnull: 0,
  forkafterauthentication: 0,
  proxyusefdpass: 0,
  canonicalizemaxdots: 1,
  canonicalizefallbacklocal: 1,
  canonicalizehostname: 0,
  fingerprinthash: 2,
  requiredrsasize: 1024,
  enableescapecommandline: 0,
};

const DEFAULT_IDS = [
  "id_rsa",
  "id_ecdsa",
  "id_ecdsa_sk",
  "id_ed25519",
  "id_ed25519_sk",
  "id_xmss",
  "id_dsa",
];

function fail(message: string, hint?: string): FwdError {
  return new FwdError("config", message, hint ?? "ssh -G fails the same way");
}

/** readconf.c fill_default_options(). */
export function fillDefaults(o: Options): void {
  const updateUnset = !o.n.has("updatehostkeys");
  const uhf = o.lists.get("userknownhostsfile") ?? [];
  // Debian keepalive patch: in batch mode ServerAliveInterval defaults to 300 s
  if (!o.n.has("serveraliveinterval") && o.n.get("batchmode") === 1)
    o.n.set("serveraliveinterval", 300);
  for (const [k, v] of Object.entries(N_DEFAULTS)) if (!o.n.has(k)) o.n.set(k, v);
  if (o.n.get("clearallforwardings") === 1) {
    o.localForwards = [];
    o.remoteForwards = [];
    o.n.set("tunnel", 0);
  }
  if (!o.s.has("xauthlocation")) o.s.set("xauthlocation", "/usr/bin/xauth");
  if (!o.lists.get("identityfile")?.length)
    list(o, "identityfile").push(...DEFAULT_IDS.map((f) => `~/.ssh/${f}`));
  if (!o.lists.get("globalknownhostsfile")?.length) {
    list(o, "globalknownhostsfile").push("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2");
  }
  if (updateUnset) {
    const plain = uhf.length === 0 || (uhf.length === 1 && uhf[0] === "~/.ssh/known_hosts");
    o.n.set("updatehostkeys", (o.n.get("verifyhostkeydns") ?? 0) <= 0 && plain ? 1 : 0);
  }
  if (!uhf.length) list(o, "userknownhostsfile").push("~/.ssh/known_hosts", "~/.ssh/known_hosts2");
  if (!o.s.has("securitykeyprovider")) o.s.set("securitykeyprovider", "internal");
  for (const k of [
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostbasedacceptedalgorithms",
    "pubkeyacceptedalgorithms",
    "casignaturealgorithms",
  ]) {
    const v = assemble(k, o.s.get(k));
    if (v === undefined) throw fail(`${k}: no supported algorithm left in "${o.s.get(k)}"`);
    o.s.set(k, v);
  }
  for (const k of [
    "localcommand",
    "remotecommand",
    "proxycommand",
    "controlpath",
    "revokedhostkeys",
    "pkcs11provider",
    "securitykeyprovider",
    "knownhostscommand",
  ]) {
    if (o.s.get(k)?.toLowerCase() === "none") o.s.delete(k);
  }
  if (o.jump && o.jump.host === "none" && o.jump.port === 0 && o.jump.user === undefined)
    o.jump = undefined;
  const cn = o.lists.get("canonicalizepermittedcnames");
  if (cn?.length === 1 && /^none:$/i.test(cn[0] as string))
    o.lists.set("canonicalizepermittedcnames", []);
}

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
