/**
 * Validation of every value `fwd init` writes into ssh_config. A value either
 * passes as something OpenSSH reads as one literal word, or is rejected with a
 * one-line reason (exit 2) before any file is touched: a newline in a value
 * could smuggle a directive such as ProxyCommand, which runs code.
 */
import { accessSync, constants, type Stats, statSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { FwdError } from "../errors.ts";
import { type ForwardSpec, parseForward } from "./forward.ts";

export interface LocalTcpForward {
  /** Listen address, always explicit (default 127.0.0.1) so ssh cannot fall back to another. */
  bind: string;
  port: number;
  /** Destination as seen from the bastion; handed to it unresolved. */
  host: string;
  hostPort: number;
}

/** Control characters, and Unicode characters that break or disguise lines. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\n/, "a newline"],
  [/\r/, "a carriage return"],
  [/\0/, "a NUL byte"],
  [/\t/, "a tab"],
  [/[\u0001-\u001f\u007f-\u009f]/, "a control character"],
  [/[\u2028\u2029]/, "a Unicode line separator"],
  [/[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/, "an invisible Unicode format character"],
  [/[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/, "a non-ASCII space"],
];

export function usage(flag: string, reason: string, hint?: string): FwdError {
  return new FwdError("usage", `${flag}: ${reason}`, hint);
}

/** The checks every value gets, whatever it is. */
export function checkText(flag: string, value: string, max = 255): void {
  if (value.length === 0) throw usage(flag, "is empty");
  if (value.length > max)
    throw usage(flag, `is too long (${value.length} characters, at most ${max})`);
  for (const [re, what] of FORBIDDEN) {
    const m = re.exec(value);
    if (m) {
      const cp = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      throw usage(flag, `contains ${what} (U+${cp})`, "values must be a single line of plain text");
    }
  }
}

/** Host alias: also the word typed after `ssh`, so no pattern or option characters. */
export function validateName(flag: string, value: string): string {
  checkText(flag, value, 64);
  if (!/^[A-Za-z0-9._-]+$/.test(value)) {
    throw usage(
      flag,
      `"${value}" is not a valid name`,
      "use letters, digits, '.', '_' and '-' only",
    );
  }
  if (value.startsWith("-"))
    throw usage(flag, `"${value}" starts with '-'`, "ssh would read it as an option");
  return value;
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const HOST_HINT = "use a name like bastion.example.com, an IPv4 or an IPv6 address";

/** A hostname, an IPv4 or an IPv6 literal (brackets removed). `%` is an ssh token, never allowed. */
export function validateHost(flag: string, value: string): string {
  checkText(flag, value, 253);
  if (value.includes("%")) {
    throw usage(
      flag,
      `"${value}" contains '%', which ssh expands as a token`,
      value.includes(":") ? "IPv6 zone ids are not supported; use a hostname" : HOST_HINT,
    );
  }
  const bare = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
  if (isIP(bare) !== 0) return bare;
  if (bare.includes(":")) throw usage(flag, `"${value}" is not a valid IPv6 address`);
  const name = bare.endsWith(".") ? bare.slice(0, -1) : bare;
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) {
    throw usage(flag, `"${value}" is not a valid host name or IP address`, HOST_HINT);
  }
  if (/^[0-9.]+$/.test(name)) throw usage(flag, `"${value}" is not a valid IPv4 address`);
  return name;
}

export function validatePort(flag: string, value: string): number {
  checkText(flag, value, 16);
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw usage(flag, `"${value}" is not a port (1-65535)`);
  }
  return Number(value);
}

export function validateUser(flag: string, value: string): string {
  checkText(flag, value, 64);
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(value)) {
    throw usage(
      flag,
      `"${value}" is not a valid user name`,
      "use letters, digits, '.', '_' and '-' only",
    );
  }
  return value;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 literal. */
export function splitHostPort(
  flag: string,
  value: string,
): { host: string; port: string | undefined } {
  checkText(flag, value, 260);
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  if (v6) return { host: `[${v6[1]}]`, port: v6[2] };
  const colons = value.split(":").length - 1;
  if (colons >= 2) return { host: value, port: undefined };
  const i = value.lastIndexOf(":");
  return i < 0
    ? { host: value, port: undefined }
    : { host: value.slice(0, i), port: value.slice(i + 1) };
}

/** `[user@]host[:port]`; the user defaults to the local one, as ssh does. */
export function parseBastion(
  value: string,
  defaultUser: string,
): { user: string; host: string; port: number } {
  const flag = "--bastion";
  checkText(flag, value, 320);
  const at = value.lastIndexOf("@");
  const user = validateUser(flag, at < 0 ? defaultUser : value.slice(0, at));
  const hp = splitHostPort(flag, value.slice(at + 1));
  return {
    user,
    host: validateHost(flag, hp.host),
    port: hp.port === undefined ? 22 : validatePort(flag, hp.port),
  };
}

/** `--target host:port` (port required: it is the service to reach). */
export function parseTarget(value: string): { host: string; port: number } {
  const hp = splitHostPort("--target", value);
  if (hp.port === undefined)
    throw usage("--target", `"${value}" has no port`, "write it as host:port, e.g. target-host:22");
  return { host: validateHost("--target", hp.host), port: validatePort("--target", hp.port) };
}

/** `--local [bind:]port`; the bind address defaults to 127.0.0.1. */
export function parseLocal(value: string): { bind: string; port: number } {
  const flag = "--local";
  checkText(flag, value, 270);
  if (/^[0-9]+$/.test(value)) return { bind: "127.0.0.1", port: validatePort(flag, value) };
  const hp = splitHostPort(flag, value);
  if (hp.port === undefined)
    throw usage(flag, `"${value}" has no port`, "write it as [bind:]port, e.g. 10022");
  return { bind: validateHost(flag, hp.host), port: validatePort(flag, hp.port) };
}

/**
 * `--forward [bind:]port:host:hostport` (ssh -L syntax, TCP only). The shape
 * is ssh's own parse_forward (forward.ts); each field is then validated here.
 */
export function parseForwardFlag(value: string): LocalTcpForward {
  const flag = "--forward";
  checkText(flag, value, 540);
  if (/[\s\\]/.test(value))
    throw usage(flag, `"${value}" contains a space or a backslash`, "e.g. 18080:target-host:8080");
  let spec: ForwardSpec;
  try {
    spec = parseForward("local", value, "cli");
  } catch {
    throw usage(flag, `"${value}" is not [bind:]port:host:hostport`, "e.g. 18080:target-host:8080");
  }
  if (spec.kind !== "local" || "socket" in spec.listen || "socket" in spec.connect) {
    throw usage(
      flag,
      `"${value}" is not a TCP forward`,
      "fwd init writes [bind:]port:host:hostport forwards; add others by hand",
    );
  }
  const port = (n: number) => validatePort(flag, String(n));
  return {
    bind: spec.listen.bind === undefined ? "127.0.0.1" : validateHost(flag, spec.listen.bind),
    port: port(spec.listen.port),
    host: validateHost(flag, spec.connect.host),
    hostPort: port(spec.connect.port),
  };
}

export function validateAlive(value: string): number {
  checkText("--alive", value, 16);
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 86400) {
    throw usage("--alive", `"${value}" is not a number of seconds (0-86400)`);
  }
  return Number(value);
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `forward1` -> `forward2`; a name without a trailing number gets `-target`. */
export function secondName(first: string): string {
  const m = /^(.*?)([0-9]+)$/.exec(first);
  if (!m) return `${first}-target`;
  const next = (BigInt(m[2]!) + 1n).toString().padStart(m[2]!.length, "0");
  return `${m[1]}${next}`;
}

/**
 * `--identity`: written as typed when it starts with `~/` (ssh expands it),
 * otherwise made absolute. The file must exist and be readable; a key other
 * users can read only warns here (ssh itself refuses it: "UNPROTECTED PRIVATE KEY FILE").
 */
export function validateIdentity(
  value: string,
  home: string,
  cwd: string,
): { written: string; path: string; warning: string | undefined } {
  const flag = "--identity";
  checkText(flag, value, 1024);
  if (/["\\]/.test(value))
    throw usage(
      flag,
      "contains a quote or a backslash",
      "rename the key file or use a symlink to it",
    );
  if (value.includes("%") || value.includes("${")) {
    throw usage(
      flag,
      "contains '%' or '${', which ssh expands as tokens",
      "rename the key file or use a symlink to it",
    );
  }
  if (value.startsWith("~") && !value.startsWith("~/")) {
    throw usage(flag, `"${value}": only ~/ is supported`, "write the absolute path");
  }
  const path = value.startsWith("~/") ? join(home, value.slice(2)) : resolve(cwd, value);
  const written = value.startsWith("~/") ? value : path;
  let st: Stats;
  try {
    st = statSync(path);
    accessSync(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "is not readable"
          : `cannot be read (${code})`;
    throw usage(flag, `${path} ${why}`, "pass the private key file you use for the bastion");
  }
  if (!st.isFile())
    throw usage(flag, `${path} is not a file`, "pass the private key file, not a directory");
  // A public key file (its private half in the agent) may be world-readable.
  const warning =
    (st.mode & 0o077) !== 0 && !path.endsWith(".pub")
      ? `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); ssh refuses such keys: chmod 600 ${path}`
      : undefined;
  return { written, path, warning };
}
