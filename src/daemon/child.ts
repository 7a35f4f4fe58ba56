/**
 * The supervised background process of `fwd run -d` (started by spawn.ts with
 * --daemon-child, in its own session, stdin /dev/null, stdout/stderr on the log).
 * It owns NAME's lock for its whole life, keeps NAME.state.json current,
 * reports "ready" or the failure to the `run -d` that started it, and cleans
 * up on SIGTERM/SIGINT. SIGHUP re-reads ssh_config (as the foreground run does);
 * it never stops the run.
 */
import { resolve } from "node:path";
import type { RunOptions } from "../commands/run.ts";
import type { Ctx } from "../context.ts";
import { FwdError, isFwdError, messageOf } from "../errors.ts";
import type { TunnelHandle } from "../tunnel/engine.ts";
import type { TunnelStatus } from "../tunnel/status.ts";
import { acquireLock, alreadyRunning } from "./lock.ts";
import { openLogFile } from "./logfile.ts";
import { selfId } from "./proc.ts";
import { childRelay } from "./relay.ts";
import { failureReport, REPORT_ENV, type StartReport, writeReport } from "./report.ts";
import {
  type DaemonState,
  daemonFiles,
  ensureStateDir,
  readState,
  removeFile,
  stateFrom,
  writeState,
} from "./state.ts";

/** After a stop request the process exits within this, whatever the engine does (stop contract: 2 s). */
const STOP_GRACE_MS = 1_500;

export async function runDaemonChild(
  ctx: Ctx,
  name: string,
  opts: RunOptions,
  open: () => Promise<TunnelHandle>,
): Promise<number> {
  const code = await serve(ctx, name, opts, open);
  // Lock and state are gone: nothing may outlive them, not even a socket still
  // saying goodbye to the bastion (ssh2's end() waits for the server's close).
  setTimeout(() => process.exit(code), 100).unref();
  return code;
}

async function serve(
  ctx: Ctx,
  name: string,
  opts: RunOptions,
  open: () => Promise<TunnelHandle>,
): Promise<number> {
  const files = daemonFiles(ctx.paths.stateDir, name);
  ensureStateDir(files.dir);
  const log = openLogFile(files.log);
  const me = selfId();
  const startedAt = new Date().toISOString();
  const reportTo = ctx.env[REPORT_ENV];
  const report = (r: StartReport) => {
    // Ready or failed: the `run -d` that could answer questions is leaving.
    childRelay(ctx.env)?.close();
    if (!reportTo) return;
    try {
      writeReport(reportTo, r);
    } catch (e) {
      log.write(`could not report to fwd run -d: ${messageOf(e)}`);
    }
  };

  const lock = acquireLock(files, { name, pid: me.pid, startTime: me.startTime, startedAt });
  if (!lock.ok) {
    const e = alreadyRunning(name, lock.holder);
    report(failureReport(me.pid, e));
    return e.exitCode;
  }

  const base = {
    name,
    pid: me.pid,
    startTime: me.startTime ?? null,
    startedAt,
    configFile: ctx.configFile ? resolve(ctx.configFile) : null,
    logFile: files.log,
  };
  const save = (s: TunnelStatus) => {
    try {
      writeState(files.state, stateFrom(base, s));
    } catch (e) {
      log.write(`could not write ${files.state}: ${messageOf(e)}`);
    }
  };
  let cleaned = false;
  /** Removes NAME's state (only if it is ours) and lock: a stopped run leaves nothing behind. */
  const cleanup = (keep?: DaemonState) => {
    if (cleaned) return;
    cleaned = true;
    const st = readState(files.state);
    if (st && st.pid === me.pid) {
      if (keep) writeState(files.state, keep);
      else removeFile(files.state);
    }
    lock.release();
  };
  process.on("exit", () => cleanup());

  let stopSignal: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((r) => {
    wake = r;
  });
  const onStop = (sig: NodeJS.Signals) => {
    if (stopSignal) return;
    stopSignal = sig;
    log.write(`${sig}: stopping`);
    // Whatever happens next, the process is gone within the stop contract.
    setTimeout(() => {
      cleanup();
      process.exit(0);
    }, STOP_GRACE_MS).unref();
    wake?.();
  };
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  // Closing a terminal never reaches this process (own session); a SIGHUP sent on
  // purpose means "re-read the config", never "stop".
  let current: TunnelHandle | undefined;
  process.on("SIGHUP", () => {
    if (!current) return log.write("SIGHUP ignored: not up yet");
    log.write("SIGHUP: re-reading the configuration");
    reloadFrom(ctx, name, opts, current).catch((e) =>
      log.write(`reload failed, keeping the running tunnel: ${messageOf(e)}`),
    );
  });

  log.write(`starting ${name} (pid ${me.pid})`);
  save({
    name,
    state: "connecting",
    since: startedAt,
    reconnects: 0,
    lastError: undefined,
    via: "",
    forwards: [],
  });

  let handle: TunnelHandle;
  try {
    handle = await Promise.race([
      open(),
      stopped.then(() =>
        Promise.reject(new FwdError("cancelled", `${name} was stopped before it was ready`)),
      ),
    ]);
  } catch (e) {
    const err = isFwdError(e) ? e : new FwdError("runtime", messageOf(e));
    log.write(`failed: ${err.message}${err.hint ? ` (hint: ${err.hint})` : ""}`);
    report(failureReport(me.pid, err));
    cleanup();
    return err.exitCode;
  }

  current = handle;
  handle.onLog((line) => log.write(line));
  handle.onChange(save);
  const first = handle.status();
  save(first);
  for (const f of first.forwards) log.write(`listening: ${f.description}`);
  report({ ok: true, pid: me.pid });

  const ended = await Promise.race([handle.done, stopped.then(() => "stop" as const)]);
  if (ended === "stop") {
    await Promise.race([
      handle.stop().catch(() => {}),
      new Promise((r) => setTimeout(r, STOP_GRACE_MS - 200)),
    ]);
    log.write("stopped");
    cleanup();
    return 0;
  }
  // Ended by itself (permanent failure): keep the last state, marked stopped, so
  // `fwd status` can say why once (it then removes it as stale).
  const why = ended ? ended.message : "the tunnel ended";
  log.write(`ended: ${why}`);
  cleanup({ ...stateFrom(base, handle.status()), state: "stopped", lastError: why });
  return ended ? ended.exitCode : 0;
}

async function reloadFrom(
  ctx: Ctx,
  name: string,
  opts: RunOptions,
  handle: TunnelHandle,
): Promise<void> {
  const { loadPlan } = await import("../tunnel/load.ts");
  const { effectiveOptions } = await import("../commands/run.ts");
  await handle.reload(await loadPlan(ctx, name, { ...opts, options: effectiveOptions(opts) }));
}
