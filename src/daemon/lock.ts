/**
 * One background run per NAME. NAME.lock names its owner (pid + start time);
 * a lock whose owner is gone, or whose pid now belongs to another process
 * (different start time), is stale and may be taken over.
 *
 * Creating, taking over and cleaning up a lock all happen under NAME.mutex
 * (created with O_EXCL, held for milliseconds), so "is it stale? remove it,
 * create mine" is one step: of N processes racing for a NAME exactly one wins.
 * The lock itself is made by link(2) from a complete temp file, so a reader
 * never sees a half-written lock.
 */
import { closeSync, linkSync, openSync, statSync, writeSync } from "node:fs";
import { FwdError } from "../errors.ts";
import { isSameProcess, type ProcessId, sleepSync, startTimeOf } from "./proc.ts";
import { type DaemonFiles, readJson, readState, removeFile, writeFileAtomic } from "./state.ts";

export interface LockHolder extends ProcessId {
  name: string;
  /** ISO time the owner started. */
  startedAt: string;
}

/** A mutex older than this whose holder is gone was left by a crash mid-step. */
const MUTEX_STALE_MS = 5_000;
const MUTEX_WAIT_MS = 10_000;

export function readLock(path: string): LockHolder | undefined {
  const v = readJson(path) as Partial<{
    name: unknown;
    pid: unknown;
    startTime: unknown;
    startedAt: unknown;
  }>;
  if (!v || typeof v.name !== "string" || typeof v.pid !== "number") return undefined;
  return {
    name: v.name,
    pid: v.pid,
    startTime: typeof v.startTime === "string" ? v.startTime : undefined,
    startedAt: typeof v.startedAt === "string" ? v.startedAt : "",
  };
}

function mutexIsStale(path: string): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false; // gone already: just retry
  }
  if (age < MUTEX_STALE_MS) return false;
  const v = readJson(path) as { pid?: unknown; startTime?: unknown } | undefined;
  if (typeof v?.pid !== "number" || typeof v.startTime !== "string") return true;
  return !isSameProcess({ pid: v.pid, startTime: v.startTime });
}

/** Runs `fn` holding `files.mutex`. Waits for another holder; breaks a mutex left by a dead process. */
export function withMutex<T>(files: DaemonFiles, fn: () => T): T {
  const deadline = Date.now() + MUTEX_WAIT_MS;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(files.mutex, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid) }));
      } finally {
        closeSync(fd);
      }
      try {
        return fn();
      } finally {
        removeFile(files.mutex);
      }
    }
    if (mutexIsStale(files.mutex)) removeFile(files.mutex);
    else if (Date.now() > deadline) {
      throw new FwdError(
        "io",
        `could not lock ${files.mutex}`,
        "another fwd seems stuck; remove that file if no fwd is running",
      );
    } else sleepSync(2 + Math.floor(Math.random() * 8));
  }
}

/** Removes a lock and state file left by a process that is gone. False when NAME's owner is alive. */
export function clearStale(files: DaemonFiles): boolean {
  return withMutex(files, () => clearStaleLocked(files));
}

function clearStaleLocked(files: DaemonFiles): boolean {
  const holder = readLock(files.lock);
  if (holder && isSameProcess(holder)) return false;
  const state = readState(files.state);
  if (state && !isSameProcess({ pid: state.pid, startTime: state.startTime ?? undefined }))
    removeFile(files.state);
  removeFile(files.lock);
  return true;
}

export type LockResult = { ok: true; release: () => void } | { ok: false; holder: LockHolder };

/** Makes `me` the owner of NAME, unless a live process already is. */
export function acquireLock(files: DaemonFiles, holder: LockHolder): LockResult {
  return withMutex(files, (): LockResult => {
    const current = readLock(files.lock);
    if (current && isSameProcess(current)) return { ok: false, holder: current };
    clearStaleLocked(files);
    const tmp = `${files.lock}.${process.pid}.new`;
    writeFileAtomic(tmp, `${JSON.stringify(holder)}\n`);
    try {
      linkSync(tmp, files.lock);
    } finally {
      removeFile(tmp);
    }
    return { ok: true, release: () => releaseLock(files, holder) };
  });
}

/** Removes NAME.lock if it is still `holder`'s. Safe to call twice. */
function releaseLock(files: DaemonFiles, holder: ProcessId): void {
  const current = readLock(files.lock);
  if (current && current.pid === holder.pid && current.startTime === holder.startTime)
    removeFile(files.lock);
}

/** "06:30:12" today, "2026-11-26 06:30" before. Local time: it is for the person at the terminal. */
export function sinceText(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return "an unknown time";
  const p = (n: number) => String(n).padStart(2, "0");
  const day = `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}`;
  const today = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
  const clock = `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  return day === today ? clock : `${day} ${clock}`;
}

export function alreadyRunning(name: string, holder: LockHolder): FwdError {
  return new FwdError(
    "already-running",
    `${name} is already running (pid ${holder.pid} since ${sinceText(holder.startedAt)})`,
    `see it with: fwd status ${name}; stop it with: fwd stop ${name}`,
  );
}
