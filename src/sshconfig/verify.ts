/**
 * Before a new config replaces the old one: does OpenSSH accept it, and does
 * each written Host resolve to what was intended? The first obtained value
 * wins (readconf.c), so a global option or an earlier Host/Match block can
 * override what fwd writes; that is reported, and nothing is written.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";
import { FwdError } from "../errors.ts";
import type { Env, Paths } from "../paths.ts";
import { formatForward } from "./forward.ts";
import { resolveHost } from "./resolve.ts";
import type { InitValues } from "./snippet.ts";

/** option -> values, lowercase keys, as `ssh -G` prints them. */
type Options = Map<string, string[]>;

interface Intent {
  host: string;
  /** Single-valued options that must resolve exactly to these values. */
  equal: Array<[key: string, value: string]>;
  /** LocalForward values that must all be present (the option accumulates). */
  forwards: string[];
  /** Options whose override is only worth a warning (the forward still works). */
  soft: Array<[key: string, value: string]>;
}

function intentsOf(v: InitValues): Intent[] {
  const out: Intent[] = [
    {
      host: v.name,
      equal: [
        ["hostname", v.bastion.host],
        ["user", v.bastion.user],
        ["port", String(v.bastion.port)],
      ],
      soft: [
        ["serveraliveinterval", String(v.alive)],
        ["serveralivecountmax", "3"],
        ["identitiesonly", "yes"],
        ["exitonforwardfailure", "yes"],
      ],
      forwards: v.forwards.map((f) =>
        formatForward({
          kind: "local",
          listen: { bind: f.bind, port: f.port },
          connect: { host: f.host, port: f.hostPort },
        }),
      ),
    },
  ];
  const f = v.forwards[0];
  if (v.second && f) {
    out.push({
      host: v.second.name,
      equal: [
        ["port", String(f.port)],
        ["user", v.second.user],
        ["hostkeyalias", f.host],
      ],
      soft: [],
      forwards: [],
    });
  }
  return out;
}

/** What differs from the intent, one phrase per option (empty: all good). */
function mismatches(
  intent: Intent,
  options: Options,
  originOf?: (key: string) => string | undefined,
): string[] {
  const out: string[] = [];
  const where = (k: string) => {
    const o = originOf?.(k);
    return o ? ` (set at ${o})` : "";
  };
  for (const [key, want] of intent.equal) {
    const got = options.get(key)?.[0];
    if (got === undefined || got.toLowerCase() !== want.toLowerCase()) {
      out.push(`${key} is ${got ?? "unset"}${where(key)}, not ${want}`);
    }
  }
  const have = new Set(options.get("localforward") ?? []);
  for (const f of intent.forwards) {
    if (!have.has(f)) out.push(`LocalForward ${f} is missing${where("localforward")}`);
  }
  return out;
}

function parseSshG(out: string): Options {
  const options: Options = new Map();
  for (const line of out.split("\n")) {
    const m = /^(\S+) (.*)$/.exec(line);
    if (!m) continue;
    const list = options.get(m[1]!) ?? [];
    list.push(m[2]!);
    options.set(m[1]!, list);
  }
  return options;
}

/** The ssh binary on PATH, if any (validation with ssh -G is skipped without one). */
function findSsh(path: string | undefined): string | undefined {
  for (const dir of (path ?? "/usr/bin:/bin").split(":")) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "ssh"), constants.X_OK);
      return join(dir, "ssh");
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `ssh -G -F file host`: OpenSSH's own reading of the file; a syntax error rejects it. */
function sshG(ssh: string, file: string, host: string): Promise<Options> {
  return new Promise((resolve, reject) => {
    execFile(ssh, ["-G", "-F", file, "--", host], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim().split("\n")[0] || err.message;
        reject(
          new FwdError(
            "config",
            `ssh rejects the new config: ${why}`,
            "nothing was written; please report this as a bug of fwd",
          ),
        );
      } else {
        resolve(parseSshG(stdout));
      }
    });
  });
}

function overrideError(host: string, problems: string[]): FwdError {
  return new FwdError(
    "config",
    `Host ${host} would not get the intended values: ${problems.join("; ")}`,
    "an earlier global option or Host/Match block wins (first value wins): move it below fwd's block, or choose another --name; nothing was written",
  );
}

export interface VerifyInput {
  /** The complete new file, not yet renamed over the config. */
  temp: string;
  /** The config it will replace (named in messages instead of the temp file). */
  original: string;
  values: InitValues;
  env: Env;
  paths: Paths;
  localUser: string;
  localHostname: string;
  warn: (msg: string) => void;
}

/**
 * fwd's resolver first (it names the file:line that wins), then OpenSSH's
 * own `ssh -G` when installed. A file ssh already rejects (say, a BOM, which
 * OpenSSH does not skip) is not made worse by fwd's block: a warning only.
 */
export async function verifyNewConfig(v: VerifyInput): Promise<void> {
  const intents = intentsOf(v.values);
  for (const intent of intents) {
    let resolved: Awaited<ReturnType<typeof resolveHost>> | undefined;
    try {
      resolved = await resolveHost({
        host: intent.host,
        configFile: v.temp,
        env: v.env,
        paths: v.paths,
        localUser: v.localUser,
        localHostname: v.localHostname,
      });
    } catch {
      // fwd's resolver may refuse a line OpenSSH accepts; ssh -G below decides then.
    }
    if (resolved) {
      const origins = resolved.origins;
      const originOf = (key: string) => {
        const o = origins.get(key);
        return o ? `${o.file === v.temp ? v.original : o.file}:${o.line}` : undefined;
      };
      const problems = mismatches(intent, resolved.options, originOf);
      if (problems.length > 0) throw overrideError(intent.host, problems);
      const soft = mismatches(
        { ...intent, equal: intent.soft, forwards: [] },
        resolved.options,
        originOf,
      );
      if (soft.length > 0) v.warn(`Host ${intent.host}: ${soft.join("; ")} (an earlier line wins)`);
    }
  }
  const ssh = findSsh(v.env.PATH);
  if (!ssh) return;
  for (const intent of intents) {
    let options: Options;
    try {
      options = await sshG(ssh, v.temp, intent.host);
    } catch (e) {
      const before = existsSync(v.original)
        ? await sshG(ssh, v.original, intent.host).then(
            () => "ok",
            (b: Error) => b.message,
          )
        : "ok";
      if (before === "ok") throw e;
      v.warn(
        `${before.replace("ssh rejects the new config", `ssh already rejects ${v.original}`)}; skipped ssh's check of the new blocks`,
      );
      return;
    }
    const problems = mismatches(intent, options);
    if (problems.length > 0) throw overrideError(intent.host, problems);
  }
}
