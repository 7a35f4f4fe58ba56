/**
 * Process identity: a pid alone is not enough, the OS reuses them. A process is
 * identified by its pid plus its start time, read from /proc/<pid>/stat
 * (field 22, clock ticks since boot) on Linux and from `ps -o lstart=` elsewhere.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** What a lock or state file records about the process that owns it. */
export interface ProcessId {
  pid: number;
  /** Opaque; only ever compared for equality. undefined: could not be read. */
  startTime: string | undefined;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may
 * contain spaces and ')', so fields are counted from the last ')'.
 * Returns undefined for a zombie or dead process: it serves nothing any more
 * (and where pid 1 does not reap, a zombie would otherwise look alive forever).
 */
export function parseProcStat(text: string): string | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const state = fields[0];
  const start = fields[19];
  if (!state || !start || state === "Z" || state === "X" || state === "x") return undefined;
  return start;
}

function linuxStartTime(pid: number): string | undefined | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (e) {
    // No /proc at all (macOS, BSD): let the caller fall back to ps.
    return (e as NodeJS.ErrnoException).code === "ENOENT" && !procMounted() ? null : undefined;
  }
  const start = parseProcStat(text);
  return start === undefined ? undefined : `linux:${start}`;
}

let procCache: boolean | undefined;
function procMounted(): boolean {
  if (procCache === undefined) {
    try {
      readFileSync("/proc/self/stat");
      procCache = true;
    } catch {
      procCache = false;
    }
  }
  return procCache;
}

function psStartTime(pid: number): string | undefined {
  const r = spawnSync("ps", ["-o", "stat=,lstart=", "-p", String(pid)], { encoding: "utf8" });
  const out = r.status === 0 ? r.stdout.trim() : "";
  const m = /^(\S+)\s+(.+)$/.exec(out);
  if (!m || m[1]!.startsWith("Z")) return undefined;
  return `ps:${m[2]!.replace(/\s+/g, " ")}`;
}

/** The start time of a live (non-zombie) process, or undefined when there is none. */
export function startTimeOf(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const linux = linuxStartTime(pid);
  if (linux !== null) return linux;
  return psStartTime(pid);
}

/** True when `id.pid` is still the very process that was recorded. */
export function isSameProcess(id: ProcessId): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  // A record without a start time cannot prove identity: never trust it.
  if (id.startTime === undefined) return false;
  return startTimeOf(id.pid) === id.startTime;
}

/** This process, as a lock or state file records it. */
export function selfId(): ProcessId {
  return { pid: process.pid, startTime: startTimeOf(process.pid) };
}

/** Blocks the thread for `ms` (lock contention only; never in the data path). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
