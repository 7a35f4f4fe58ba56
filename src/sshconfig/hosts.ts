/**
 * The Host names a config defines, for listings and completion: every literal
 * pattern (no `*`, `?` or `!`) of every Host line, in file order, following
 * Include wherever it appears (as ssh parses included files even when inactive).
 */
import { FwdError } from "../errors.ts";
import { nodeFs } from "./fs.ts";
import { lex } from "./lexer.ts";
import type { ConfigFs } from "./readconf.ts";
import type { ResolveOptions } from "./resolve.ts";

export interface HostName {
  name: string;
  file: string;
  line: number;
}

function walk(
  fs: ConfigFs,
  file: string,
  userConf: boolean,
  depth: number,
  out: HostName[],
): boolean {
  if (depth > 16)
    throw new FwdError(
      "config",
      `${file}: Too many recursive configuration includes`,
      "an Include loops back on itself",
    );
  const text = fs.read(file);
  if (text === undefined) return false;
  for (const lx of lex(text)) {
    if (lx.kind !== "line" || !lx.value.args) continue;
    const { keyword, args, line } = lx.value;
    if (keyword === "host") {
      for (const a of args) if (a !== "" && !/[*?!]/.test(a)) out.push({ name: a, file, line });
    } else if (keyword === "include") {
      for (const arg of args) {
        if (arg === "" || (arg.startsWith("~") && !userConf)) continue;
        const pattern =
          arg.startsWith("/") || arg.startsWith("~")
            ? arg
            : `${userConf ? "~/.ssh" : "/etc/ssh"}/${arg}`;
        for (const p of fs.glob(pattern)) walk(fs, p, userConf, depth + 1, out);
      }
    }
  }
  return true;
}

/** Literal (non-wildcard, non-negated) Host names in file order, following Include. */
export async function listHosts(opts: Omit<ResolveOptions, "host">): Promise<HostName[]> {
  const fs = opts.fs ?? nodeFs(opts.paths.home);
  const out: HostName[] = [];
  if (opts.configFile !== undefined) {
    if (opts.configFile.toLowerCase() !== "none" && !walk(fs, opts.configFile, true, 0, out)) {
      throw new FwdError(
        "config",
        `Can't open user config file ${opts.configFile}: No such file or directory`,
        "check the -F path",
      );
    }
    return out;
  }
  walk(fs, opts.paths.userConfig, true, 0, out);
  if (opts.paths.systemConfig) walk(fs, opts.paths.systemConfig, false, 0, out);
  return out;
}
