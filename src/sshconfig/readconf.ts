/**
 * Reading config files into the option state: readconf.c
 * read_config_file_depth() with Host, Match and Include. File access goes
 * through ConfigFs so the logic stays testable; resolve.ts supplies the real one.
 */
import { FwdError } from "../errors.ts";
import type { Env } from "../paths.ts";
import { applyLine } from "./apply.ts";
import { opcodeOf } from "./keywords.ts";
import { type Line, lex } from "./lexer.ts";
import { type LineCtx, LineError } from "./line.ts";
import { matchPattern, matchPatternList } from "./match.ts";
import { evalMatch, type MatchCtx } from "./matchline.ts";
import type { Options } from "./options.ts";

export interface ConfigFs {
  /** File text, or undefined when it does not exist. Throws other errors. */
  read(path: string): string | undefined;
  /** Owner uid and mode bits (for the checks ssh makes on included and user files). */
  stat(path: string): { uid: number; mode: number };
  /** glob(3) with GLOB_TILDE: sorted matches, [] when none. */
  glob(pattern: string): string[];
}

export interface ReadCtx extends Omit<MatchCtx, "final"> {
  fs: ConfigFs;
  env: Env;
  uidNum: number;
  /** SSHCONF_FINAL: the second pass (Match final / canonicalisation). */
  final: boolean;
  wantFinal: boolean;
  hostBlocks: { file: string; line: number; patterns: string }[];
}

export interface FileFlags {
  userConf: boolean;
  checkPerm: boolean;
  neverMatch: boolean;
}

const MAX_DEPTH = 16; // readconf.c READCONF_MAX_DEPTH

function configError(file: string, line: number, message: string, hint?: string): FwdError {
  return new FwdError(
    "config",
    `${file}:${line}: ${message}`,
    hint ?? `fix line ${line} of ${file}; ssh -G rejects it too`,
  );
}

/** Returns false when the file does not exist (ssh's read_config_file() returning 0). */
export function readConfigFile(
  file: string,
  o: Options,
  r: ReadCtx,
  flags: FileFlags,
  active: { v: boolean },
  depth: number,
): boolean {
  if (depth > MAX_DEPTH) {
    throw new FwdError(
      "config",
      `${file}: Too many recursive configuration includes`,
      "an Include loops back on itself",
    );
  }
  const text = r.fs.read(file);
  if (text === undefined) return false;
  if (flags.checkPerm) {
    const st = r.fs.stat(file);
    // readconf.c refuses mode & 022; Debian's user-group-modes patch lets a group
    // write when that group holds only the owner, which needs the group database:
    // fwd lets group-writable files pass and refuses world-writable ones.
    if ((st.uid !== 0 && st.uid !== r.uidNum) || (st.mode & 0o002) !== 0) {
      throw new FwdError("config", `Bad owner or permissions on ${file}`, `chmod go-w ${file}`);
    }
  }
  for (const lx of lex(text)) {
    if (lx.kind === "error") throw configError(file, lx.line, lx.message);
    try {
      processLine(file, lx.value, o, r, flags, active, depth);
    } catch (e) {
      if (e instanceof LineError) throw configError(file, lx.value.line, e.message);
      throw e;
    }
  }
  return true;
}

function processLine(
  file: string,
  line: Line,
  o: Options,
  r: ReadCtx,
  flags: FileFlags,
  active: { v: boolean },
  depth: number,
): void {
  const op = opcodeOf(line.keyword);
  if (op === undefined) {
    const ign = o.s.get("ignoreunknown");
    if (ign !== undefined && matchPatternList(line.keyword, ign, true) === 1) return;
    throw new LineError(`Bad configuration option: ${line.keyword}`);
  }
  if (line.args === undefined) throw new LineError("invalid quotes");
  if (op === "host") {
    // readconf.c oHost: an empty pattern is an error up to where the loop stops
    active.v = false;
    for (const a of line.args) {
      if (a === "") throw new LineError("keyword host empty argument");
      if (flags.neverMatch) return;
      const neg = a.startsWith("!");
      if (matchPattern(r.host, neg ? a.slice(1) : a)) {
        if (neg) {
          active.v = false;
          return;
        }
        active.v = true;
      }
    }
    if (active.v)
      r.hostBlocks.push({ file, line: line.line, patterns: `Host ${line.args.join(" ")}` });
    return;
  }
  if (op === "match") {
    const m = evalMatch(line.rest, o, r);
    if (m.wantFinal) r.wantFinal = true;
    active.v = flags.neverMatch ? false : m.matched;
    if (active.v) r.hostBlocks.push({ file, line: line.line, patterns: `Match ${line.rest}` });
    return;
  }
  if (op === "include") {
    include(line, o, r, flags, active, depth);
    return;
  }
  const c: LineCtx = {
    active: active.v,
    origin: { file, line: line.line },
    userConf: flags.userConf,
    env: r.env,
  };
  applyLine(o, c, op, line);
}

function include(
  line: Line,
  o: Options,
  r: ReadCtx,
  flags: FileFlags,
  active: { v: boolean },
  depth: number,
): void {
  for (const arg of line.args ?? []) {
    if (arg === "") throw new LineError("keyword include empty argument");
    // Relative paths live in ~/.ssh (user config) or /etc/ssh (system config).
    if (arg.startsWith("~") && !flags.userConf) throw new LineError(`bad include path ${arg}.`);
    const pattern =
      arg.startsWith("/") || arg.startsWith("~")
        ? arg
        : `${flags.userConf ? "~/.ssh" : "/etc/ssh"}/${arg}`;
    const outer = active.v;
    for (const path of r.fs.glob(pattern)) {
      const found = readConfigFile(
        path,
        o,
        r,
        { userConf: flags.userConf, checkPerm: true, neverMatch: flags.neverMatch || !outer },
        active,
        depth + 1,
      );
      void found; // a file that vanished between glob and open is skipped, as ENOENT is by ssh
      // Match/Host inside the included file do not leak into the including one.
      active.v = outer;
    }
  }
}
