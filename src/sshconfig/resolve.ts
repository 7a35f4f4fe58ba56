/**
 * Resolve a Host exactly as `ssh -G` does (ssh.c main + readconf.c):
 * command-line options first, then the config files (first value wins),
 * hostname expansion and canonicalisation, a final pass when `Match final`
 * or CanonicalizeHostname asks for it, defaults, then token expansion.
 *
 * Deliberate differences from ssh (documented in the tests too):
 * - no DNS: CanonicalizeHostname only triggers the final pass, CanonicalDomains
 *   and CanonicalizePermittedCNAMEs never change the name (ssh's lookups would);
 * - `Match exec` runs only with allowExec; otherwise the criterion is false;
 * - the first bad line stops resolution (ssh reports them all, then fails too).
 */
import { spawnSync } from "node:child_process";
import { FwdError } from "../errors.ts";
import type { Env, Paths } from "../paths.ts";
import { canonicalAddress, looksLikeAddress } from "./address.ts";
import { applyLine, LineError } from "./apply.ts";
import { dump } from "./dump.ts";
import { fillDefaults, finish } from "./finalize.ts";
import { nodeFs } from "./fs.ts";
import { opcodeOf } from "./keywords.ts";
import { lexLine } from "./lexer.ts";
import { expandHostname } from "./matchline.ts";
import { validHostname, validRemoteUser } from "./names.ts";
import { newOptions, type Options, type Origin } from "./options.ts";
import { parseSshUri } from "./proxyjump.ts";
import { type ConfigFs, type ReadCtx, readConfigFile } from "./readconf.ts";

export { listHosts } from "./hosts.ts";

export interface ResolveOptions {
  /** The name given on the command line. */
  host: string;
  /** -F file; undefined = paths.userConfig then paths.systemConfig (like ssh); "none" = no file. */
  configFile?: string | undefined;
  env: Env;
  paths: Paths;
  localUser: string;
  localHostname: string;
  /** ssh -o "Key=value" / "Key value" strings; they take precedence (ssh reads them first). */
  extraOptions?: string[];
  /** Match exec only when true. */
  allowExec?: boolean;
  /** %i and the ownership check of included files (default: this process's uid). */
  uid?: number | undefined;
  /** File access (default: the real file system). */
  fs?: ConfigFs | undefined;
}

export interface ResolvedHost {
  /** Lower-case keys -> values, exactly as `ssh -G` prints them (defaults included), in ssh -G order. */
  options: Map<string, string[]>;
  /** Where the winning value of each explicitly set key came from. */
  origins: Map<string, Origin>;
  /** The Host/Match lines that matched, for diagnosis. */
  hostBlocks: { file: string; line: number; patterns: string }[];
}

function applyCommandLine(o: Options, text: string, env: Env): void {
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

function runExec(env: Env): (cmd: string) => number {
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

export async function resolveHost(opts: ResolveOptions): Promise<ResolvedHost> {
  const fs = opts.fs ?? nodeFs(opts.paths.home);
  const uidNum = opts.uid ?? process.getuid?.() ?? 0;
  const o = newOptions();
  for (const x of opts.extraOptions ?? []) applyCommandLine(o, x, opts.env);

  // ssh.c: "user@host" and ssh:// URIs on the command line set User (and Port)
  let hostArg = opts.host;
  const uri = parseSshUri(hostArg);
  if (uri !== 1 && uri !== undefined) {
    hostArg = uri.host;
    if (uri.user !== undefined && !o.s.has("user")) o.s.set("user", uri.user);
    if (uri.port > 0 && !o.n.has("port")) o.n.set("port", uri.port);
  } else if (uri === 1 && hostArg.lastIndexOf("@") > 0) {
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

  const r: ReadCtx = {
    fs,
    env: opts.env,
    uidNum,
    uid: String(uidNum),
    host: hostArg,
    originalHost: hostArg,
    final: false,
    wantFinal: false,
    localUser: opts.localUser,
    home: opts.paths.home,
    localHostname: opts.localHostname,
    exec: opts.allowExec ? runExec(opts.env) : undefined,
    hostBlocks: [],
  };
  const readAll = () => {
    const active = { v: true };
    if (opts.configFile !== undefined) {
      if (opts.configFile.toLowerCase() === "none") return;
      const flags = { userConf: true, checkPerm: false, neverMatch: false };
      if (!readConfigFile(opts.configFile, o, r, flags, active, 0)) {
        throw new FwdError(
          "config",
          `Can't open user config file ${opts.configFile}: No such file or directory`,
          "check the -F path",
        );
      }
      return;
    }
    readConfigFile(
      opts.paths.userConfig,
      o,
      r,
      { userConf: true, checkPerm: true, neverMatch: false },
      active,
      0,
    );
    if (opts.paths.systemConfig) {
      active.v = true;
      readConfigFile(
        opts.paths.systemConfig,
        o,
        r,
        { userConf: false, checkPerm: false, neverMatch: false },
        active,
        0,
      );
    }
  };
  const where = (e: unknown) => {
    if (e instanceof LineError) {
      const at = o.origins.get("hostname");
      return new FwdError(
        "config",
        `${at ? `${at.file}:${at.line}: ` : ""}${e.message}`,
        "HostName knows only %h and %%",
      );
    }
    return e;
  };

  try {
    readAll();
    let host = hostArg;
    const hn = o.s.get("hostname");
    if (hn !== undefined) {
      host = expandHostname(hn, hostArg);
      o.s.set("hostname", host);
    }
    const fam = o.n.get("addressfamily");
    const family = fam === 2 ? "inet" : fam === 10 ? "inet6" : "any";
    const canonical = canonicalAddress(host, family);
    const wasAddr = looksLikeAddress(host) || canonical !== undefined;
    if (!wasAddr) host = host.toLowerCase();
    const canon = o.n.get("canonicalizehostname") ?? 0;
    if (
      (canon !== 0 || wasAddr) &&
      canonical !== undefined &&
      canonical.toLowerCase() !== host.toLowerCase()
    ) {
      host = canonical;
    }
    if (canon !== 0) r.wantFinal = true;
    if (r.wantFinal) {
      o.s.set("hostname", host);
      r.final = true;
      r.host = host;
      readAll();
    }
    fillDefaults(o);
    const f = {
      hostArg,
      host,
      localUser: opts.localUser,
      localHostname: opts.localHostname,
      home: opts.paths.home,
      uid: String(uidNum),
      env: opts.env,
    };
    finish(o, f);
    return { options: dump(o, hostArg, host), origins: o.origins, hostBlocks: r.hostBlocks };
  } catch (e) {
    throw where(e);
  }
}
