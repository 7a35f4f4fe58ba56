/**
 * Value tables of readconf.c (multistate_*), log.c and misc.c: the spellings
 * ssh accepts and the one ssh -G prints for each value.
 */

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

/**
 * log.c level names by value, as printed: DEBUG and DEBUG1 are one level
 * (printed DEBUG); Debian adds SILENT for QUIET and prints that.
 */
export const LOG_LEVELS = [
  "SILENT",
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
