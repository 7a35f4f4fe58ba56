/**
 * readconf.c fill_default_options(): every option still unset gets ssh's
 * default. Debian's defaults differ from upstream in ForwardX11Trusted (yes),
 * IPQoS (lowdelay throughput) and ServerAliveInterval (300 in BatchMode).
 */
import { FwdError } from "../errors.ts";
import { assemble } from "./algorithms.ts";
import { list, type Options } from "./options.ts";

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

export function fail(message: string, hint?: string): FwdError {
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
