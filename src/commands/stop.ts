import type { Ctx } from "../context.ts";
import { inspect } from "../daemon/inspect.ts";
import { clearStale } from "../daemon/lock.ts";
import { isSameProcess, type ProcessId } from "../daemon/proc.ts";
import { daemonFiles, knownNames } from "../daemon/state.ts";
import { FwdError, messageOf } from "../errors.ts";

export type StopResult =
  | { name: string; stopped: true; pid: number; killed: boolean }
  | { name: string; stopped: false };

const TERM_WAIT_MS = 2_000;
const KILL_WAIT_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(id: ProcessId, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isSameProcess(id)) {
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Sends `sig` only if `id` is still the recorded process: a pid the OS has
 * since given to someone else is never signalled.
 */
function signalIfSame(id: ProcessId, sig: NodeJS.Signals): boolean {
  if (!isSameProcess(id)) return false;
  try {
    process.kill(id.pid, sig);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    throw new FwdError(
      "runtime",
      `cannot signal pid ${id.pid}: ${messageOf(e)}`,
      "was it started by another user?",
    );
  }
}

/** SIGTERM, up to 2 s for a clean exit, then SIGKILL. Listeners close with the process. */
export async function stopOne(stateDir: string, name: string): Promise<StopResult> {
  const files = daemonFiles(stateDir, name);
  const found = inspect(files, name);
  if (found.kind === "stopped") {
    if (found.stale) clearStale(files);
    return { name, stopped: false };
  }
  const id: ProcessId = { pid: found.owner.pid, startTime: found.owner.startTime };
  if (!signalIfSame(id, "SIGTERM")) {
    clearStale(files);
    return { name, stopped: false };
  }
  let killed = false;
  if (!(await waitGone(id, TERM_WAIT_MS))) {
    killed = signalIfSame(id, "SIGKILL");
    if (!(await waitGone(id, KILL_WAIT_MS))) {
      throw new FwdError("runtime", `${name} (pid ${id.pid}) did not stop`, `kill -9 ${id.pid}`);
    }
  }
  // A killed process could not remove its own files.
  clearStale(files);
  return { name, stopped: true, pid: id.pid, killed };
}

/** Literal Host names of the config, or undefined when it cannot be read (stop must still work). */
async function configHosts(ctx: Ctx): Promise<Set<string> | undefined> {
  try {
    const { listHosts } = await import("../sshconfig/resolve.ts");
    const { resolveContext } = await import("../tunnel/load.ts");
    const hosts = await listHosts(resolveContext(ctx));
    return new Set(hosts.map((h) => h.name));
  } catch {
    return undefined;
  }
}

/**
 * `fwd stop NAME... | --all`. Idempotent: a NAME that is not running (never
 * started, already stopped, or not a Host at all) is reported and is not an
 * error (exit 0); a NAME that is no Host of the config is said to be so, as a
 * likely typo.
 */
export async function stopCommand(ctx: Ctx, names: string[], all: boolean): Promise<number> {
  if (names.length === 0 && !all) {
    throw new FwdError(
      "usage",
      "fwd stop needs a NAME or --all",
      "fwd stop forward1   or   fwd stop --all",
    );
  }
  if (names.length > 0 && all)
    throw new FwdError("usage", "give NAMEs or --all, not both", "fwd stop --all");
  const dir = ctx.paths.stateDir;
  const targets = all ? knownNames(dir) : [...new Set(names)];
  const results = await Promise.all(targets.map((n) => stopOne(dir, n)));
  if (ctx.json) {
    // {"stopped":[{"name","pid","killed"}],"notRunning":["name"]}
    const stopped = results
      .filter((r) => r.stopped)
      .map(({ name, pid, killed }) => ({ name, pid, killed }));
    const notRunning = results.filter((r) => !r.stopped).map((r) => r.name);
    ctx.stdout.write(`${JSON.stringify({ stopped, notRunning })}\n`);
    return 0;
  }
  const say = (s: string) => {
    if (!ctx.quiet) ctx.stdout.write(`${s}\n`);
  };
  if (all && !results.some((r) => r.stopped)) say("no background forwards were running");
  const idle = results.filter((r) => !r.stopped);
  const known = !all && idle.length > 0 ? await configHosts(ctx) : undefined;
  const where = ctx.configFile ?? ctx.paths.userConfig;
  for (const r of results) {
    if (r.stopped) say(`stopped ${r.name} (pid ${r.pid}${r.killed ? ", killed after 2 s" : ""})`);
    else if (all) continue;
    else if (known && !known.has(r.name))
      say(`${r.name} is not running (and no Host ${r.name} in ${where})`);
    else say(`${r.name} is not running`);
  }
  return 0;
}
