/**
 * How a background child tells the `run -d` that started it whether it came
 * up: one JSON file, NAME.start-<parent pid>-<n>, written once (atomically) by the
 * child and read and removed by the parent. The state file cannot carry this:
 * a child that loses the lock race must not touch the winner's state.
 */
import { readdirSync } from "node:fs";
import { basename } from "node:path";
import { type ErrorCode, FwdError } from "../errors.ts";
import { startTimeOf } from "./proc.ts";
import { type DaemonFiles, readJson, removeFile, writeFileAtomic } from "./state.ts";

export type StartReport =
  | { ok: true; pid: number }
  | {
      ok: false;
      pid: number;
      error: { code: ErrorCode; message: string; hint: string | null; exitCode: number };
    };

/** The environment variable that hands the report path to the child. */
export const REPORT_ENV = "FWD_DAEMON_REPORT";

let serial = 0;

/** A report path no other `run -d` uses: parent pid plus a serial (one process may start several). */
export function reportPath(files: DaemonFiles, parentPid: number): string {
  serial += 1;
  return `${files.stem}.start-${parentPid}-${serial}`;
}

export function writeReport(path: string, report: StartReport): void {
  writeFileAtomic(path, `${JSON.stringify(report)}\n`);
}

export function failureReport(pid: number, e: FwdError): StartReport {
  return {
    ok: false,
    pid,
    error: { code: e.code, message: e.message, hint: e.hint ?? null, exitCode: e.exitCode },
  };
}

export function readReport(path: string): StartReport | undefined {
  const v = readJson(path) as Partial<StartReport> | undefined;
  if (!v || typeof v.pid !== "number" || typeof v.ok !== "boolean") return undefined;
  if (v.ok) return { ok: true, pid: v.pid };
  const e = (v as { error?: Partial<Extract<StartReport, { ok: false }>["error"]> }).error;
  if (!e || typeof e.code !== "string" || typeof e.message !== "string") return undefined;
  return {
    ok: false,
    pid: v.pid,
    error: {
      code: e.code,
      message: e.message,
      hint: e.hint ?? null,
      exitCode: Number(e.exitCode ?? 1),
    },
  };
}

/** The error the child hit, as the foreground run would have thrown it (same code, so same exit code). */
export function errorOf(report: Extract<StartReport, { ok: false }>): FwdError {
  return new FwdError(report.error.code, report.error.message, report.error.hint ?? undefined);
}

/** Removes reports of `run -d` processes that died before reading them. */
export function sweepReports(files: DaemonFiles): void {
  const prefix = `${basename(files.stem)}.start-`;
  let entries: string[];
  try {
    entries = readdirSync(files.dir);
  } catch {
    return;
  }
  for (const f of entries) {
    if (!f.startsWith(prefix)) continue;
    const m = /^(\d+)-\d+$/.exec(f.slice(prefix.length));
    if (m && startTimeOf(Number(m[1])) === undefined) removeFile(`${files.dir}/${f}`);
  }
}
