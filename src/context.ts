import type { Env, Paths } from "./paths.ts";
import { resolvePaths } from "./paths.ts";

/** Everything a command may touch, passed in so tests can supply their own. */
export interface Ctx {
  env: Env;
  paths: Paths;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** stdin and stdout are both terminals: prompts are allowed. */
  interactive: boolean;
  /** -F: ssh_config file given by the user (undefined: ~/.ssh/config + system). */
  configFile: string | undefined;
  /** How to name configFile in messages (init checks a temp copy of the file it will write). */
  configShownAs?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Absolute argv prefix to re-exec this same fwd (compiled binary, bun or deno). */
  selfCommand: string[];
}

export interface GlobalFlags {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function makeCtx(flags: GlobalFlags, selfCommand: string[]): Ctx {
  const env = process.env;
  return {
    env,
    paths: resolvePaths(env),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    configFile: flags.config,
    json: Boolean(flags.json),
    quiet: Boolean(flags.quiet),
    verbose: Boolean(flags.verbose),
    selfCommand,
  };
}

/** A repeatable flag arrives from cac as undefined, a value, or an array. */
export function list(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
