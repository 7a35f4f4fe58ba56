/**
 * Resolve a Host exactly as `ssh -G` does (OpenSSH 9.2p1 as Debian 12 ships
 * it; ssh.c main + readconf.c): command-line options first, then the config
 * files (first value wins), hostname expansion and numeric canonicalisation,
 * a final pass when `Match final` or CanonicalizeHostname asks for it,
 * defaults, then token expansion. Verified by test/integration/ssh-g-*.
 *
 * Deliberate differences from ssh:
 * - no DNS: CanonicalizeHostname only triggers the final pass; CanonicalDomains
 *   and CanonicalizePermittedCNAMEs never change the name, and
 *   CanonicalizeFallbackLocal=no never fails (ssh's answers depend on lookups);
 * - `Match exec` runs only with allowExec; otherwise the criterion is false;
 * - the first bad line stops resolution (ssh reports them all, then fails too);
 * - `~user/` paths stay as written (no passwd lookups); a group-writable
 *   included file is accepted (Debian accepts it when the group holds only its
 *   owner, which needs the group database), a world-writable one is refused.
 */
import { FwdError } from "../errors.ts";
import type { Env, Paths } from "../paths.ts";
import { canonicalAddress, looksLikeAddress } from "./address.ts";
import { applyCommandLine, commandLineHost, runExec } from "./cmdline.ts";
import { fillDefaults } from "./defaults.ts";
import { dump } from "./dump.ts";
import { finish } from "./finalize.ts";
import { type ForwardSpec, specOf } from "./forward.ts";
import { nodeFs } from "./fs.ts";
import { LineError } from "./line.ts";
import { expandHostname } from "./matchline.ts";
import { newOptions, type Origin } from "./options.ts";
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
  /**
   * The forwards ssh would open, parsed: Local/DynamicForward in config order,
   * then RemoteForward (after ClearAllForwardings, socket paths expanded).
   * Prefer this to re-parsing options: ssh -G also prints unix-socket local
   * forwards under "dynamicforward" (a quirk of readconf.c dump_cfg_forwards).
   */
  forwards: ForwardSpec[];
}

export async function resolveHost(opts: ResolveOptions): Promise<ResolvedHost> {
  const fs = opts.fs ?? nodeFs(opts.paths.home);
  const uidNum = opts.uid ?? process.getuid?.() ?? 0;
  const o = newOptions();
  for (const x of opts.extraOptions ?? []) applyCommandLine(o, x, opts.env);

  const hostArg = commandLineHost(o, opts.host);

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
    // ssh.c fill_default_options_for_canonicalization(): these three are
    // fixed before the final pass, so that pass can no longer set them
    for (const [k, v] of [
      ["canonicalizemaxdots", 1],
      ["canonicalizefallbacklocal", 1],
      ["canonicalizehostname", 0],
    ] as const) {
      if (!o.n.has(k)) o.n.set(k, v);
    }
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
    const forwards = [
      ...o.localForwards.map((x) => specOf("local", x)),
      ...o.remoteForwards.map((x) => specOf("remote", x)),
    ];
    return {
      options: dump(o, hostArg, host),
      origins: o.origins,
      hostBlocks: r.hostBlocks,
      forwards,
    };
  } catch (e) {
    throw where(e);
  }
}
