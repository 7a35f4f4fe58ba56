/**
 * Before a new config replaces the old one: does OpenSSH accept it, and does
 * each written Host resolve to what was intended? The first obtained value
 * wins (readconf.c), so a global option or an earlier Host/Match block can
 * override what fwd writes; that is reported, and nothing is written.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { FwdError } from "../errors.ts";
import { bracket, type InitValues } from "./snippet.ts";

/** option -> values, lowercase keys, as `ssh -G` prints them. */
export type Options = Map<string, string[]>;

export interface Intent {
  host: string;
  /** Single-valued options that must resolve exactly to these values. */
  equal: Array<[key: string, value: string]>;
  /** LocalForward values that must all be present (the option accumulates). */
  forwards: string[];
}

export function intentsOf(v: InitValues): Intent[] {
  const out: Intent[] = [
    {
      host: v.name,
      equal: [
        ["hostname", v.bastion.host],
        ["user", v.bastion.user],
        ["port", String(v.bastion.port)],
      ],
      forwards: v.forwards.map(
        (f) => `${bracket(f.bind)}:${f.port} ${bracket(f.host)}:${f.hostPort}`,
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
      forwards: [],
    });
  }
  return out;
}

/** ssh -G prints `[127.0.0.1]:10022 [target-host]:22`; compare without brackets. */
const plain = (s: string) => s.replace(/[[\]]/g, "").toLowerCase();

/** What differs from the intent, one phrase per option (empty: all good). */
export function mismatches(
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
  const have = new Set((options.get("localforward") ?? []).map(plain));
  for (const f of intent.forwards) {
    if (!have.has(plain(f))) out.push(`LocalForward ${f} is missing${where("localforward")}`);
  }
  return out;
}

export function parseSshG(out: string): Options {
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
export function findSsh(path: string | undefined): string | undefined {
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
export function sshG(ssh: string, file: string, host: string): Promise<Options> {
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

export function overrideError(host: string, problems: string[]): FwdError {
  return new FwdError(
    "config",
    `Host ${host} would not get the intended values: ${problems.join("; ")}`,
    "an earlier global option or Host/Match block wins (first value wins): move it below fwd's block, or choose another --name; nothing was written",
  );
}
