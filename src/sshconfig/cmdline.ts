/**
 * The command-line side of ssh: -o options (read before any file, so they
 * win), the destination argument (user@host, ssh:// URIs, refused
 * characters), and running `Match exec` commands.
 */
import { spawnSync } from "node:child_process";
import { FwdError } from "../errors.ts";
import type { Env } from "../paths.ts";
import { applyLine } from "./apply.ts";
import { opcodeOf } from "./keywords.ts";
import { lexLine } from "./lexer.ts";
import { LineError } from "./line.ts";
import { validHostname, validRemoteUser } from "./names.ts";
import type { Options } from "./options.ts";
import { parseSshUri } from "./proxyjump.ts";

export function applyCommandLine(o: Options, text: string, env: Env): void {
  const where = "command-line:0";
  const lx = lexLine(text, 0);
  if (!lx) return;
  if (lx.kind === "error")
    throw new FwdError("usage", `${where}: ${lx.message}`, `-o takes "Key=value"`);
  const op = opcodeOf(lx.value.keyword);
  if (op === undefined)
    throw new FwdError("usage", `${where}: Bad configuration option: ${lx.value.keyword}`);
  if (op === "host" || op === "match" || op === "include") {
    throw new FwdError(
      "usage",
      `${lx.value.keyword} directive not supported as a command-line option`,
    );
  }
  try {
    applyLine(
      o,
      { active: true, origin: { file: "command-line", line: 0 }, userConf: true, env },
      op,
      lx.value,
    );
  } catch (e) {
    if (e instanceof LineError)
      throw new FwdError("usage", `${where}: ${e.message}`, `check -o ${text}`);
    throw e;
  }
}

export function runExec(env: Env): (cmd: string) => number {
  return (cmd) => {
    const shell = env.SHELL ?? "/bin/sh";
    const r = spawnSync(shell, ["-c", cmd], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...env },
    });
    if (r.error || r.status === null) throw new LineError(`match exec '${cmd}' error`);
    return r.status;
  };
}

/** ssh.c main(): the host argument, with a user@ prefix or ssh:// URI applied to the options. */
export function commandLineHost(o: Options, arg: string): string {
  let hostArg = arg;
  // ssh.c: "user@host" and ssh:// URIs on the command line set User (and Port)
  const uri = parseSshUri(hostArg);
  if (uri === undefined || hostArg.startsWith("@")) {
    throw new FwdError(
      "usage",
      `bad destination "${hostArg}"`,
      "give a Host name, user@host or ssh://[user@]host[:port]",
    );
  }
  if (uri !== 1) {
    hostArg = uri.host;
    if (uri.user !== undefined && !o.s.has("user")) o.s.set("user", uri.user);
    if (uri.port > 0 && !o.n.has("port")) o.n.set("port", uri.port);
  } else if (hostArg.includes("@")) {
    const at = hostArg.lastIndexOf("@");
    if (!o.s.has("user")) o.s.set("user", hostArg.slice(0, at));
    hostArg = hostArg.slice(at + 1);
  }

  // ssh.c (Debian's backport of the 2023 fix): shell metacharacters are refused on the command line
  if (!validHostname(hostArg))
    throw new FwdError(
      "usage",
      `hostname "${hostArg}" contains invalid characters`,
      "quotes, spaces, commas and ;&|<>(){}$` are refused, as by ssh",
    );
  const cliUser = o.s.get("user");
  if (cliUser !== undefined && !validRemoteUser(cliUser)) {
    throw new FwdError(
      "usage",
      `remote username "${cliUser}" contains invalid characters`,
      "quotes and ;&|<>(){}` are refused, as by ssh",
    );
  }

  return hostArg;
}
