/**
 * The resolved options in the order and spelling of `ssh -G`
 * (readconf.c dump_client_config(), with Debian's GSSAPI lines).
 */
import { assemble } from "./algorithms.ts";
import { MULTISTATES } from "./apply.ts";
import { formatRawForward, type RawForward } from "./fwdspec.ts";
import * as K from "./multistate.ts";
import type { Options } from "./options.ts";
import { formatJump } from "./proxyjump.ts";
import { iptos2str } from "./values.ts";

const FLAGS_ORDER = [
  "addressfamily",
  "batchmode",
  "canonicalizefallbacklocal",
  "canonicalizehostname",
  "checkhostip",
  "compression",
  "controlmaster",
  "enablesshkeysign",
  "clearallforwardings",
  "exitonforwardfailure",
  "fingerprinthash",
  "forwardx11",
  "forwardx11trusted",
  "gatewayports",
  "gssapiauthentication",
  "gssapikeyexchange",
  "gssapidelegatecredentials",
  "gssapitrustdns",
  "gssapirenewalforcesrekey",
  "@gssapistrings",
  "hashknownhosts",
  "hostbasedauthentication",
  "identitiesonly",
  "kbdinteractiveauthentication",
  "nohostauthenticationforlocalhost",
  "passwordauthentication",
  "permitlocalcommand",
  "proxyusefdpass",
  "pubkeyauthentication",
  "requesttty",
  "sessiontype",
  "stdinnull",
  "forkafterauthentication",
  "streamlocalbindunlink",
  "stricthostkeychecking",
  "tcpkeepalive",
  "tunnel",
  "verifyhostkeydns",
  "visualhostkey",
  "updatehostkeys",
  "enableescapecommandline",
];
const INTS_ORDER = [
  "canonicalizemaxdots",
  "connectionattempts",
  "forwardx11timeout",
  "numberofpasswordprompts",
  "serveralivecountmax",
  "serveraliveinterval",
  "requiredrsasize",
];
const STRINGS_ORDER = [
  "bindaddress",
  "bindinterface",
  "ciphers",
  "controlpath",
  "hostkeyalgorithms",
  "hostkeyalias",
  "hostbasedacceptedalgorithms",
  "identityagent",
  "ignoreunknown",
  "kbdinteractivedevices",
  "kexalgorithms",
  "casignaturealgorithms",
  "localcommand",
  "remotecommand",
  "loglevel",
  "macs",
  "pkcs11provider",
  "securitykeyprovider",
  "preferredauthentications",
  "pubkeyacceptedalgorithms",
  "revokedhostkeys",
  "xauthlocation",
  "knownhostscommand",
];
const DIGESTS = ["MD5", "SHA1", "SHA256", "SHA384", "SHA512"];

/** readconf.c fmt_intarg(). */
function fmtInt(key: string, v: number): string {
  if (key === "fingerprinthash") return DIGESTS[v] ?? "UNKNOWN";
  if (key === "addkeystoagent") return K.multistateName(v, K.YESNOASKCONFIRM);
  const m = MULTISTATES[key];
  if (m) return K.multistateName(v, m);
  return v === 0 ? "no" : v === 1 ? "yes" : "UNKNOWN";
}

/** BSD vis(3) with VIS_WHITE for the escape character. */
function vis(c: number): string {
  if (c === 32 || c === 9 || c === 10) return `\\${c.toString(8).padStart(3, "0")}`;
  if (c < 32) return `\\^${String.fromCharCode(c + 64)}`;
  if (c === 127) return "\\^?";
  return String.fromCharCode(c);
}

function forwards(out: Map<string, string[]>, key: string, fwds: RawForward[]): void {
  const dyn = key === "dynamicforward";
  for (const f of fwds) {
    // ssh's own filter: forwards without a connect host (unix sockets) print as both
    if (dyn && f.connectHost !== undefined && f.connectHost !== "socks") continue;
    if (key === "localforward" && f.connectHost === "socks") continue;
    const v = formatRawForward(f, dyn);
    out.set(key, [...(out.get(key) ?? []), v]);
  }
}

/** Keys ssh -G spells differently from their lower-cased form (readconf.c prints a capital P). */
export const PRINTED_AS: Record<string, string> = {
  canonicalizepermittedcnames: "canonicalizePermittedcnames",
};

export function dump(o: Options, hostArg: string, host: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined) out.set(k, [...(out.get(k) ?? []), v]);
  };
  const n = (k: string) => o.n.get(k) as number;
  put("host", hostArg);
  put("user", o.s.get("user"));
  put("hostname", host);
  put("port", String(n("port")));
  for (const k of FLAGS_ORDER) {
    if (k === "@gssapistrings") {
      put("gssapiclientidentity", o.s.get("gssapiclientidentity"));
      put("gssapiserveridentity", o.s.get("gssapiserveridentity"));
      put(
        "gssapikexalgorithms",
        o.s.get("gssapikexalgorithms") ?? assemble("gssapikexalgorithms", undefined),
      );
    } else put(k, fmtInt(k, n(k)));
  }
  for (const k of INTS_ORDER) put(k, String(n(k)));
  for (const k of STRINGS_ORDER) {
    if (k === "loglevel") put(k, K.LOG_LEVELS[n(k)]);
    else if (k === "hostkeyalgorithms") put(k, assemble(k, o.s.get(k)));
    else put(k, o.s.get(k));
  }
  forwards(out, "dynamicforward", o.localForwards);
  forwards(out, "localforward", o.localForwards);
  forwards(out, "remoteforward", o.remoteForwards);
  for (const p of o.lists.get("identityfile") ?? []) put("identityfile", p);
  const oneLine = (k: string) => {
    const l = o.lists.get(k) ?? [];
    put(k, l.length ? l.join(" ") : "none");
  };
  oneLine("canonicaldomains");
  for (const p of o.lists.get("certificatefile") ?? []) put("certificatefile", p);
  oneLine("globalknownhostsfile");
  oneLine("userknownhostsfile");
  for (const p of o.lists.get("sendenv") ?? []) put("sendenv", p);
  for (const p of o.lists.get("setenv") ?? []) put("setenv", p);
  oneLine("logverbose");
  const pro = o.lists.get("permitremoteopen") ?? [];
  put("permitremoteopen", pro.length ? pro.join(" ") : "any");
  const life = n("addkeystoagent.lifespan");
  if (life <= 0) put("addkeystoagent", fmtInt("addkeystoagent", n("addkeystoagent")));
  else put("addkeystoagent", `${n("addkeystoagent") === 3 ? "confirm " : ""}${life}`);
  put("forwardagent", o.s.get("forwardagent.path") ?? fmtInt("forwardagent", n("forwardagent")));
  put("connecttimeout", o.n.has("connecttimeout") ? String(n("connecttimeout")) : "none");
  const tun = (v: number) => (v === 0x7fffffff ? "any" : String(v));
  put("tunneldevice", `${tun(n("tunneldevice"))}:${tun(n("tunneldevice.remote"))}`);
  const cn = o.lists.get("canonicalizepermittedcnames") ?? [];
  put("canonicalizepermittedcnames", cn.length ? cn.join(" ") : "none");
  const cp = n("controlpersist");
  const cpt = n("controlpersist.timeout");
  put("controlpersist", cp === 0 || cpt === 0 ? fmtInt("controlpersist", cp) : String(cpt));
  put("escapechar", n("escapechar") === -2 ? "none" : vis(n("escapechar")));
  put("ipqos", `${iptos2str(n("ipqos"))} ${iptos2str(n("ipqos.bulk"))}`);
  put("rekeylimit", `${n("rekeylimit")} ${n("rekeyinterval")}`);
  put("streamlocalbindmask", `0${n("streamlocalbindmask").toString(8)}`);
  put("syslogfacility", K.LOG_FACILITIES[n("syslogfacility")]);
  if (o.jump) put("proxyjump", formatJump(o.jump));
  else put("proxycommand", o.s.get("proxycommand"));
  return out;
}
