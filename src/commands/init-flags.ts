/**
 * `fwd init` flags -> validated InitValues. Pure apart from the identity
 * file's existence check. Every rejection is a FwdError("usage") (exit 2).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FwdError } from "../errors.ts";
import type { InitValues } from "../sshconfig/snippet.ts";
import {
  isLoopback,
  type LocalTcpForward,
  parseBastion,
  parseForwardFlag,
  parseLocal,
  parseTarget,
  secondName,
  usage,
  validateAlive,
  validateIdentity,
  validateName,
  validateUser,
} from "../sshconfig/validate.ts";

/** The flags as strings (cac gives numbers for numeric values and arrays for repeats). */
export interface InitFlags {
  name: string | undefined;
  bastion: string | undefined;
  identity: string | undefined;
  target: string[];
  local: string[];
  forward: string[];
  sshTarget: string | undefined;
  sshName: string | undefined;
  alive: string | undefined;
}

function one(o: Record<string, unknown>, key: string, flag: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === false) return undefined;
  if (Array.isArray(v)) throw usage(flag, "given more than once");
  if (v === true) throw usage(flag, "needs a value");
  return String(v);
}

function many(o: Record<string, unknown>, key: string, flag: string): string[] {
  const v = o[key];
  if (v === undefined || v === false) return [];
  const list = (Array.isArray(v) ? v : [v]).map((x) => {
    if (x === true) throw usage(flag, "needs a value");
    return String(x);
  });
  return list;
}

const FLAG_OF: Record<string, string> = {
  name: "--name",
  bastion: "--bastion",
  identity: "--identity",
  target: "--target",
  local: "--local",
  forward: "--forward",
  sshTarget: "--ssh-target",
  sshName: "--ssh-name",
  alive: "--alive",
};

/**
 * cac (through mri) turns numeric-looking values into numbers: `--ssh-target
 * 0123` arrives as 123, `--name 1e3` as 1000. The values exactly as typed are
 * taken back from the raw argv when they line up one-to-one with cac's.
 */
export function exactStrings(
  o: Record<string, unknown>,
  rawArgs: readonly string[] | undefined,
): Record<string, unknown> {
  if (!rawArgs) return o;
  const end = rawArgs.indexOf("--");
  const args = end < 0 ? rawArgs : rawArgs.slice(0, end);
  const out = { ...o };
  for (const [key, flag] of Object.entries(FLAG_OF)) {
    const typed: string[] = [];
    args.forEach((a, i) => {
      if (a === flag && i + 1 < args.length) typed.push(args[i + 1]!);
      else if (a.startsWith(`${flag}=`)) typed.push(a.slice(flag.length + 1));
    });
    const parsed =
      o[key] === undefined ? [] : Array.isArray(o[key]) ? (o[key] as unknown[]) : [o[key]];
    if (typed.length === 0 || typed.length !== parsed.length) continue;
    if (!typed.every((t, i) => t === String(parsed[i]) || Number(t) === parsed[i])) continue;
    out[key] = typed.length === 1 ? typed[0] : typed;
  }
  return out;
}

export function readFlags(o: Record<string, unknown>): InitFlags {
  return {
    name: one(o, "name", "--name"),
    bastion: one(o, "bastion", "--bastion"),
    identity: one(o, "identity", "--identity"),
    target: many(o, "target", "--target"),
    local: many(o, "local", "--local"),
    forward: many(o, "forward", "--forward"),
    sshTarget: one(o, "sshTarget", "--ssh-target"),
    sshName: one(o, "sshName", "--ssh-name"),
    alive: one(o, "alive", "--alive"),
  };
}

/** ssh's default identity files, in its order; the first that exists is used when --identity is absent. */
const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];

export function defaultIdentity(sshDir: string): string | undefined {
  const found = DEFAULT_KEYS.find((k) => existsSync(join(sshDir, k)));
  return found ? `~/.ssh/${found}` : undefined;
}

/** Flags that must be given (or answered) before anything can be written. */
export function missingFlags(f: InitFlags, sshDir: string): string[] {
  const out: string[] = [];
  if (f.bastion === undefined) out.push("--bastion user@host[:port]");
  if (f.target.length === 0 && f.forward.length === 0)
    out.push("--target host:port (or --forward port:host:port)");
  if (f.identity === undefined && defaultIdentity(sshDir) === undefined)
    out.push("--identity PATH");
  return out;
}

export interface Validated {
  values: InitValues;
  warnings: string[];
}

export function validateFlags(
  f: InitFlags,
  env: { home: string; sshDir: string; cwd: string; user: string },
): Validated {
  const warnings: string[] = [];
  const name = validateName("--name", f.name ?? "forward1");
  const bastion = parseBastion(f.bastion ?? "", env.user);
  const identityArg = f.identity ?? defaultIdentity(env.sshDir);
  if (identityArg === undefined)
    throw usage("--identity", "is required (no ~/.ssh/id_* key found)");
  const identity = validateIdentity(identityArg, env.home, env.cwd);
  if (identity.warning) warnings.push(identity.warning);

  if (f.local.length > 0 && f.local.length !== f.target.length) {
    throw usage(
      "--local",
      `given ${f.local.length} time(s) for ${f.target.length} --target(s)`,
      "give one --local per --target, in the same order, or none",
    );
  }
  const forwards: LocalTcpForward[] = f.target.map((t, i) => {
    const target = parseTarget(t);
    const localArg = f.local[i];
    if (localArg === undefined && target.port + 10000 > 65535) {
      throw usage(
        "--local",
        `no default local port for ${t} (port + 10000 > 65535)`,
        "pass --local PORT",
      );
    }
    const local =
      localArg === undefined
        ? { bind: "127.0.0.1", port: target.port + 10000 }
        : parseLocal(localArg);
    return { bind: local.bind, port: local.port, host: target.host, hostPort: target.port };
  });
  forwards.push(...f.forward.map(parseForwardFlag));
  const seen = new Set<string>();
  for (const fw of forwards) {
    const key = `${fw.bind} ${fw.port}`;
    if (seen.has(key))
      throw usage(
        "--local",
        `local port ${fw.port} is used twice`,
        "give each forward its own local port",
      );
    seen.add(key);
    if (!isLoopback(fw.bind))
      warnings.push(
        `local port ${fw.port} listens on ${fw.bind}, not loopback: other machines can use it`,
      );
  }

  let second: InitValues["second"];
  if (f.sshTarget !== undefined) {
    const user = validateUser("--ssh-target", f.sshTarget);
    const secondN = validateName("--ssh-name", f.sshName ?? secondName(name));
    if (secondN.toLowerCase() === name.toLowerCase())
      throw usage("--ssh-name", `"${secondN}" is the same as --name`);
    second = { name: secondN, user };
  } else if (f.sshName !== undefined) {
    throw usage("--ssh-name", "only makes sense with --ssh-target USER");
  }
  const alive = f.alive === undefined ? 15 : validateAlive(f.alive);
  return {
    values: {
      name,
      bastion,
      identity: { written: identity.written, path: identity.path },
      forwards,
      alive,
      second,
    },
    warnings,
  };
}

export function missingError(missing: string[]): FwdError {
  return new FwdError(
    "usage",
    `missing ${missing.join(", ")} (no terminal to ask)`,
    "e.g. fwd init --bastion user@bastion-host --identity ~/.ssh/id_ed25519 --target target-host:22 --yes",
  );
}
