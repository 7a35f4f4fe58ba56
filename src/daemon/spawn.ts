/**
 * `fwd run -d NAME`: starts the same fwd again as a detached, supervised child
 * (`run NAME --daemon-child`, own session, stdio on the log) and waits until it
 * reports ready or failed. On success it prints the forwards; on failure it
 * throws the child's own error (so the exit code is the foreground one) and
 * makes sure the child is gone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, closeSync, openSync } from "node:fs";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import type { RunOptions } from "../commands/run.ts";
import type { Ctx } from "../context.ts";
import { FwdError, messageOf } from "../errors.ts";
import { childJitEnv } from "../jit.ts";
import { alreadyRunning, readLock } from "./lock.ts";
import { isSameProcess, startTimeOf } from "./proc.ts";
import { type Answerers, ASK_FD_ENV, serveRelay } from "./relay.ts";
import {
  errorOf,
  REPORT_ENV,
  readReport,
  reportPath,
  type StartReport,
  sweepReports,
} from "./report.ts";
import { daemonFiles, ensureStateDir, readState, removeFile } from "./state.ts";

/** The argv after the self command: the same run, as the background child. */
export function childArgs(ctx: Ctx, name: string, opts: RunOptions): string[] {
  const args = ["run", name, "--daemon-child"];
  if (ctx.configFile) args.push("-F", resolve(ctx.configFile));
  if (ctx.verbose) args.push("-v");
  if (opts.acceptNew) args.push("--accept-new");
  for (const o of opts.options) args.push("-o", o);
  for (const l of opts.local) args.push("-L", l);
  for (const r of opts.remote) args.push("-R", r);
  for (const d of opts.dynamic) args.push("-D", d);
  return args;
}

/**
 * How long `run -d` waits for "ready": every hop's ConnectTimeout plus 5 s.
 * Loading the plan here also fails a bad config at once, with the foreground's
 * error and exit code, before any process is started.
 */
export async function planDeadlineMs(ctx: Ctx, name: string, opts: RunOptions): Promise<number> {
  const { loadPlan } = await import("../tunnel/load.ts");
  const { effectiveOptions } = await import("../commands/run.ts");
  const plan = await loadPlan(ctx, name, { ...opts, options: effectiveOptions(opts) });
  return plan.hops.reduce((sum, h) => sum + h.connectTimeoutMs, 0) + 5_000;
}

export interface StartDeps {
  /** How long to wait for "ready" (default: from the plan). */
  deadlineMs?: (ctx: Ctx, name: string, opts: RunOptions) => Promise<number>;
  /** Who answers the child's questions (default: prompts, when this is a terminal). */
  answerers?: Answerers;
}

async function terminalAnswerers(ctx: Ctx): Promise<Answerers> {
  const { passphraseAsker, hostKeyAsker } = await import("../ui/ask.ts");
  return { passphrase: passphraseAsker(ctx), hostKey: hostKeyAsker(ctx) };
}

type Outcome =
  | StartReport
  | { exited: number | null }
  | { spawnError: string }
  | "timeout"
  | "interrupted";

export async function startBackground(
  ctx: Ctx,
  name: string,
  opts: RunOptions,
  deps: StartDeps = {},
): Promise<number> {
  const files = daemonFiles(ctx.paths.stateDir, name);
  ensureStateDir(files.dir);
  const holder = readLock(files.lock);
  if (holder && isSameProcess(holder)) throw alreadyRunning(name, holder);
  const deadlineMs = await (deps.deadlineMs ?? planDeadlineMs)(ctx, name, opts);
  sweepReports(files);

  const report = reportPath(files, process.pid);
  removeFile(report);
  const logFd = openSync(files.log, "a", 0o600);
  chmodSync(files.log, 0o600);
  const [cmd, ...pre] = ctx.selfCommand;
  if (!cmd) throw new FwdError("runtime", "cannot start fwd again: unknown executable");
  // On a terminal, the child's questions (host key, passphrase) come back here on fd 3.
  const relay = ctx.interactive || deps.answerers !== undefined;
  // The child is a tunnel: the JIT as `run` wants it, without a re-exec (jit.ts).
  const env: Record<string, string | undefined> = {
    ...ctx.env,
    ...childJitEnv(ctx.env),
    [REPORT_ENV]: report,
  };
  if (relay) env[ASK_FD_ENV] = "3";
  else delete env[ASK_FD_ENV];
  let child: ChildProcess;
  try {
    child = spawn(cmd, [...pre, ...childArgs(ctx, name, opts)], {
      detached: true, // setsid: no controlling terminal, no SIGHUP when it closes
      stdio: relay ? ["ignore", logFd, logFd, "pipe"] : ["ignore", logFd, logFd],
      env: env as NodeJS.ProcessEnv,
    });
  } catch (e) {
    // Bun throws at once where Node emits "error" (see waitFor).
    throw new FwdError("runtime", `could not start ${cmd}: ${messageOf(e)}`);
  } finally {
    closeSync(logFd);
  }
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    // Not started (ENOENT, EACCES): the reason arrives as an "error" event.
    const why = await new Promise<string>((r) => {
      child.once("error", (e) => r(e.message));
      setTimeout(() => r("unknown error"), 1_000).unref();
    });
    throw new FwdError("runtime", `could not start ${cmd}: ${why}`);
  }

  const asking = { now: false };
  const pipe = child.stdio[3] as Duplex | null | undefined;
  if (relay && pipe) {
    const answer = deps.answerers ?? (await terminalAnswerers(ctx));
    serveRelay(pipe, pipe, answer, (b) => {
      asking.now = b;
    });
  }
  const outcome = await waitFor(child, report, deadlineMs, () => asking.now);
  pipe?.destroy();
  removeFile(report);
  if (typeof outcome === "object" && "ok" in outcome && outcome.ok) {
    printStarted(ctx, name, files.state);
    return 0;
  }
  // A child that reported failure exits by itself; give it a moment before signalling.
  await ensureGone(pid, typeof outcome === "object" && "ok" in outcome ? 1_000 : 0);
  if (outcome === "interrupted")
    throw new FwdError("cancelled", `cancelled: ${name} was not started`);
  if (outcome === "timeout") {
    throw new FwdError(
      "timeout",
      `${name} did not come up within ${Math.round(deadlineMs / 1000)} s`,
      `see what it did: fwd logs ${name}`,
    );
  }
  if ("ok" in outcome) throw errorOf(outcome as Extract<StartReport, { ok: false }>);
  if ("spawnError" in outcome) {
    throw new FwdError("runtime", `could not start ${cmd}: ${outcome.spawnError}`);
  }
  // Exited without a word: perhaps it lost a race for the lock, perhaps it crashed.
  const now = readLock(files.lock);
  if (now && isSameProcess(now)) throw alreadyRunning(name, now);
  throw new FwdError(
    "runtime",
    `the background process for ${name} exited (code ${outcome.exited ?? "signal"}) before it was ready`,
    `see why: fwd logs ${name}`,
  );
}

/** Polls for the child's report; the deadline does not run while a person is being asked. */
function waitFor(
  child: ChildProcess,
  report: string,
  deadlineMs: number,
  asking: () => boolean,
): Promise<Outcome> {
  return new Promise((done) => {
    let exited: number | null | undefined;
    let left = deadlineMs;
    let last = Date.now();
    const finish = (o: Outcome) => {
      clearInterval(poll);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onInt);
      done(o);
    };
    child.once("exit", (code) => {
      exited = code;
    });
    // e.g. the executable vanished (a binary replaced by an upgrade mid-run).
    child.once("error", (e) => finish({ spawnError: e.message }));
    const poll = setInterval(() => {
      const now = Date.now();
      if (!asking()) left -= now - last;
      last = now;
      const r = readReport(report);
      if (r) finish(r);
      // The report is written before exiting; one more look after exit avoids losing it.
      else if (exited !== undefined) finish(readReport(report) ?? { exited });
      else if (left <= 0) finish("timeout");
    }, 25);
    const onInt = () => finish("interrupted");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onInt);
  });
}

/** Our own child: SIGTERM, up to 2 s, then SIGKILL. Nothing may be left behind by a failed run -d. */
async function ensureGone(pid: number, graceMs: number): Promise<void> {
  const start = startTimeOf(pid);
  if (start === undefined) return;
  const alive = () => isSameProcess({ pid, startTime: start });
  for (let waited = 0; waited < graceMs && alive(); waited += 25) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!alive()) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {}
  };
  signal("SIGTERM");
  for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive()) signal("SIGKILL");
  for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
}

function printStarted(ctx: Ctx, name: string, stateFile: string): void {
  if (ctx.quiet) return;
  const st = readState(stateFile);
  const lines = (st?.forwards ?? []).map((f) => `  ${f.description}`);
  const via = st?.via ? ` via ${st.via}` : "";
  ctx.stdout.write(`${name} running in the background (pid ${st?.pid ?? "?"})${via}\n`);
  if (lines.length > 0) ctx.stdout.write(`${lines.join("\n")}\n`);
  ctx.stdout.write(`stop with: fwd stop ${name}\n`);
}
