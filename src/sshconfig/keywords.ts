/**
 * The keyword table of OpenSSH 9.2p1 readconf.c as Debian builds it (GSSAPI
 * and PKCS#11 on, plus Debian's GSSAPI key exchange and keepalive keywords).
 * Each keyword maps to its opcode, named by the first keyword of that opcode
 * in the table: that is the name `ssh -G` prints (readconf.c lookup_opcode_name).
 */

const aliases: Record<string, string> = {
  // Deprecated options: accepted and ignored (debug message only)
  protocol: "$ignore",
  cipher: "$deprecated",
  fallbacktorsh: "$deprecated",
  globalknownhostsfile2: "$deprecated",
  rhostsauthentication: "$deprecated",
  useblacklistedkeys: "$deprecated",
  userknownhostsfile2: "$deprecated",
  useroaming: "$deprecated",
  usersh: "$deprecated",
  useprivilegedport: "$deprecated",
  // Unsupported options: ssh prints an error but still accepts the file
  afstokenpassing: "$unsupported",
  kerberosauthentication: "$unsupported",
  kerberostgtpassing: "$unsupported",
  rsaauthentication: "$unsupported",
  rhostsrsaauthentication: "$unsupported",
  compressionlevel: "$unsupported",
  // Aliases
  smartcarddevice: "pkcs11provider",
  challengeresponseauthentication: "kbdinteractiveauthentication",
  skeyauthentication: "kbdinteractiveauthentication",
  tisauthentication: "kbdinteractiveauthentication",
  dsaauthentication: "pubkeyauthentication",
  identityfile2: "identityfile",
  keepalive: "tcpkeepalive",
  hostbasedkeytypes: "hostbasedacceptedalgorithms",
  pubkeyacceptedkeytypes: "pubkeyacceptedalgorithms",
  // Debian keepalive-extensions patch
  protocolkeepalives: "serveraliveinterval",
  setuptimeout: "serveraliveinterval",
};

const opcodes = [
  "gssapiauthentication",
  "gssapikeyexchange",
  "gssapidelegatecredentials",
  "gssapitrustdns",
  "gssapiclientidentity",
  "gssapiserveridentity",
  "gssapirenewalforcesrekey",
  "gssapikexalgorithms",
  "pkcs11provider",
  "forwardagent",
  "forwardx11",
  "forwardx11trusted",
  "forwardx11timeout",
  "exitonforwardfailure",
  "xauthlocation",
  "gatewayports",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "kbdinteractivedevices",
  "pubkeyauthentication",
  "hostbasedauthentication",
  "identityfile",
  "identitiesonly",
  "certificatefile",
  "addkeystoagent",
  "identityagent",
  "hostname",
  "hostkeyalias",
  "proxycommand",
  "port",
  "ciphers",
  "macs",
  "remoteforward",
  "localforward",
  "permitremoteopen",
  "user",
  "host",
  "match",
  "escapechar",
  "globalknownhostsfile",
  "userknownhostsfile",
  "connectionattempts",
  "batchmode",
  "checkhostip",
  "stricthostkeychecking",
  "compression",
  "tcpkeepalive",
  "numberofpasswordprompts",
  "syslogfacility",
  "loglevel",
  "logverbose",
  "dynamicforward",
  "preferredauthentications",
  "hostkeyalgorithms",
  "casignaturealgorithms",
  "bindaddress",
  "bindinterface",
  "clearallforwardings",
  "enablesshkeysign",
  "verifyhostkeydns",
  "nohostauthenticationforlocalhost",
  "rekeylimit",
  "connecttimeout",
  "addressfamily",
  "serveraliveinterval",
  "serveralivecountmax",
  "sendenv",
  "setenv",
  "controlpath",
  "controlmaster",
  "controlpersist",
  "hashknownhosts",
  "include",
  "tunnel",
  "tunneldevice",
  "localcommand",
  "permitlocalcommand",
  "remotecommand",
  "visualhostkey",
  "kexalgorithms",
  "ipqos",
  "requesttty",
  "sessiontype",
  "stdinnull",
  "forkafterauthentication",
  "proxyusefdpass",
  "canonicaldomains",
  "canonicalizefallbacklocal",
  "canonicalizehostname",
  "canonicalizemaxdots",
  "canonicalizepermittedcnames",
  "streamlocalbindmask",
  "streamlocalbindunlink",
  "revokedhostkeys",
  "fingerprinthash",
  "updatehostkeys",
  "hostbasedacceptedalgorithms",
  "pubkeyacceptedalgorithms",
  "ignoreunknown",
  "proxyjump",
  "securitykeyprovider",
  "knownhostscommand",
  "requiredrsasize",
  "enableescapecommandline",
] as const;

const table = new Map<string, string>([
  ...Object.entries(aliases),
  ...opcodes.map((o) => [o, o] as [string, string]),
]);

/** The opcode of a lower-cased keyword ("$ignore", "$deprecated", "$unsupported" for those), or undefined. */
export function opcodeOf(keyword: string): string | undefined {
  return table.get(keyword);
}

/** Multistate values (readconf.c multistate_*): the first key of a value is what ssh -G prints. */
export type Multistate = readonly (readonly [string, number])[];

export const FLAG: Multistate = [
  ["true", 1],
  ["false", 0],
  ["yes", 1],
  ["no", 0],
];
export const YESNOASK: Multistate = [...FLAG, ["ask", 2]];
export const STRICT_HOSTKEY: Multistate = [
  ["true", 2],
  ["false", 0],
  ["yes", 2],
  ["no", 0],
  ["ask", 3],
  ["off", 0],
  ["accept-new", 1],
];
export const YESNOASKCONFIRM: Multistate = [...YESNOASK, ["confirm", 3]];
export const ADDRESS_FAMILY: Multistate = [
  ["inet", 2],
  ["inet6", 10],
  ["any", 0],
];
export const CONTROL_MASTER: Multistate = [
  ["true", 1],
  ["yes", 1],
  ["false", 0],
  ["no", 0],
  ["auto", 2],
  ["ask", 3],
  ["autoask", 4],
];
export const TUNNEL: Multistate = [
  ["ethernet", 2],
  ["point-to-point", 1],
  ["true", 1],
  ["yes", 1],
  ["false", 0],
  ["no", 0],
];
export const REQUEST_TTY: Multistate = [
  ["true", 2],
  ["yes", 2],
  ["false", 1],
  ["no", 1],
  ["force", 3],
  ["auto", 0],
];
export const SESSION_TYPE: Multistate = [
  ["none", 0],
  ["subsystem", 1],
  ["default", 2],
];
export const CANONICALIZE_HOSTNAME: Multistate = [
  ["true", 1],
  ["false", 0],
  ["yes", 1],
  ["no", 0],
  ["always", 2],
];
export const PUBKEY_AUTH: Multistate = [
  ["true", 3],
  ["false", 0],
  ["yes", 3],
  ["no", 0],
  ["unbound", 1],
  ["host-bound", 2],
];
export const COMPRESSION: Multistate = [
  ["yes", 1],
  ["no", 0],
];

/** parse_multistate_value(): case-insensitive, -1 when not found. */
export function multistateValue(arg: string | undefined, m: Multistate): number {
  if (arg === undefined || arg === "") return -1;
  const a = arg.toLowerCase();
  return m.find(([k]) => k === a)?.[1] ?? -1;
}

/** fmt_multistate_int(): the first key with this value. */
export function multistateName(value: number, m: Multistate): string {
  return m.find(([, v]) => v === value)?.[0] ?? "UNKNOWN";
}

/** log.c: DEBUG and DEBUG1 are one level, printed as DEBUG. */
export const LOG_LEVELS = [
  "QUIET",
  "FATAL",
  "ERROR",
  "INFO",
  "VERBOSE",
  "DEBUG",
  "DEBUG2",
  "DEBUG3",
];
export const LOG_FACILITIES = [
  "DAEMON",
  "USER",
  "AUTH",
  "AUTHPRIV",
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => `LOCAL${n}`),
];

/** misc.c ipqos[] names and values. */
export const IPQOS: readonly (readonly [string, number])[] = [
  ["none", 0x7fffffff],
  ...([
    ["af11", 0x28],
    ["af12", 0x30],
    ["af13", 0x38],
    ["af21", 0x48],
    ["af22", 0x50],
    ["af23", 0x58],
    ["af31", 0x68],
    ["af32", 0x70],
    ["af33", 0x78],
    ["af41", 0x88],
    ["af42", 0x90],
    ["af43", 0x98],
  ] as const),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => [`cs${n}`, n * 0x20] as const),
  ["ef", 0xb8],
  ["le", 0x04],
  ["lowdelay", 0x10],
  ["throughput", 0x08],
  ["reliability", 0x04],
];
