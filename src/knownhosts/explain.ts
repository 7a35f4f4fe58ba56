/**
 * The FwdErrors a refused host key turns into: one line saying what the
 * server presented and what known_hosts says, one hint saying what to do.
 */
import { FwdError } from "../errors.ts";
import { displayType, fingerprint, keyscanType } from "./key.ts";
import type { KnownHostEntry } from "./parse.ts";

export interface Presented {
  /** The name looked up in known_hosts (alias, host, or `[host]:port`). */
  name: string;
  host: string;
  port: number;
  keyType: string;
  fingerprint: string;
  /** Host alias in ssh_config, for `fwd run NAME` hints. */
  configName?: string | undefined;
  /** Where an accepted key would be recorded. */
  userFile?: string | undefined;
  aliased: boolean;
}

const shellQuote = (s: string) =>
  /^[\w@%+=:,./[\]-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
const where = (e: KnownHostEntry) => `${e.file}:${e.line}`;
const presented = (p: Presented) => `${displayType(p.keyType)} key ${p.fingerprint}`;

function howToTrust(p: Presented): string {
  const run = `fwd run ${p.configName ?? "<name>"} --accept-new`;
  const steps = [`if ${p.fingerprint} is the server's real key, trust it with \`${run}\``];
  if (p.userFile && !p.aliased) {
    const portFlag = p.port === 22 ? "" : ` -p ${p.port}`;
    steps.push(
      `or add it with \`ssh-keyscan${portFlag} -t ${keyscanType(p.keyType)} ${shellQuote(p.host)} >> ${shellQuote(p.userFile)}\``,
    );
  }
  return `${steps.join(", ")} (ask the server's admin for \`ssh-keygen -lf /etc/ssh/ssh_host_${keyscanType(p.keyType)}_key.pub\` to compare)`;
}

export function unknownKey(p: Presented, why: string): FwdError {
  return new FwdError(
    "host-key-unknown",
    `host key for ${p.name} is unknown (${why}): the server presented ${presented(p)}`,
    howToTrust(p),
  );
}

export function declinedKey(p: Presented): FwdError {
  return new FwdError(
    "host-key-unknown",
    `host key for ${p.name} was not accepted: the server presented ${presented(p)}`,
    "run again and answer yes only if the fingerprint is the server's real key",
  );
}

export function certAuthorityOnly(p: Presented, ca: KnownHostEntry[]): FwdError {
  return new FwdError(
    "host-key-unknown",
    `host key for ${p.name} is unknown: it is trusted only through @cert-authority (${ca.map(where).join(", ")}), and fwd cannot check host certificates; the server presented ${presented(p)}`,
    howToTrust(p),
  );
}

export function unrecordable(p: Presented, why: string): FwdError {
  return new FwdError(
    "host-key-unknown",
    `host key for ${p.name} is unknown and cannot be recorded (${why}): the server presented ${presented(p)}`,
    "set UserKnownHostsFile to a writable file, or add the key to a known_hosts file yourself",
  );
}

export function changedKey(p: Presented, expected: KnownHostEntry[]): FwdError {
  const was = expected
    .map((e) => `${displayType(e.keyType)} key ${fingerprint(e.key)} (${where(e)})`)
    .join(", ");
  const files = [...new Set(expected.map((e) => e.file))];
  const remove = files.map((f) => `ssh-keygen -f "${f}" -R "${p.name}"`).join(" && ");
  return new FwdError(
    "host-key-changed",
    `host key for ${p.name} has changed (possible man-in-the-middle): the server presented ${presented(p)}, known_hosts has ${was}`,
    `if the server's key really changed (ask its admin), remove the old entry with \`${remove}\` and connect again to record the new one; otherwise do not connect`,
  );
}

export function revokedKey(p: Presented, entry: KnownHostEntry): FwdError {
  return new FwdError(
    "host-key-revoked",
    `host key for ${p.name} is revoked (@revoked in ${where(entry)}): the server presented ${presented(p)}`,
    "a revoked key means it was compromised or retired: contact the server's admin; do not connect",
  );
}

export function malformedKey(p: Presented): FwdError {
  return new FwdError(
    "host-key-unknown",
    `host key for ${p.name} is not a valid SSH public key (${p.fingerprint})`,
    "the server is not speaking SSH correctly; check HostName and Port",
  );
}
