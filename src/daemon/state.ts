/**
 * The files of background runs, all in the state dir (0700), all 0600:
 *   NAME.lock        who owns NAME: {name, pid, startTime, startedAt} (lock.ts)
 *   NAME.state.json  what that process reports (DaemonState), rewritten on every change
 *   NAME.log         its log (NAME.log.1 after rotation)
 *   NAME.start-PID-N the one-shot "ready or failed" report for the `run -d` with that pid
 * NAME is escaped so any Host alias makes one safe file name.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { ForwardStatus, LinkState, TunnelStatus } from "../tunnel/status.ts";

export interface DaemonFiles {
  dir: string;
  /** dir + escaped NAME: the prefix of every file of NAME. */
  stem: string;
  lock: string;
  /** Serialises lock creation and stale-file cleanup (lock.ts). */
  mutex: string;
  state: string;
  log: string;
}

/** What NAME.state.json holds: the process identity plus the tunnel's last TunnelStatus. */
export interface DaemonState {
  name: string;
  pid: number;
  startTime: string | null;
  /** ISO time the background process started. */
  startedAt: string;
  state: LinkState;
  /** ISO time of the last state change. */
  since: string;
  reconnects: number;
  lastError: string | null;
  via: string;
  forwards: ForwardStatus[];
  /** Local listen ports (local and dynamic forwards). */
  ports: number[];
  configFile: string | null;
  logFile: string;
}

/** "forward1" stays "forward1"; anything outside [A-Za-z0-9_.@+-] (and a leading dot) becomes %XX. */
export function fileStem(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.@+-]/g, (c) =>
    [...Buffer.from(c, "utf8")]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)
      .join(""),
  );
  return safe.startsWith(".") ? `%2E${safe.slice(1)}` : safe;
}

export function daemonFiles(dir: string, name: string): DaemonFiles {
  const stem = join(dir, fileStem(name));
  return {
    dir,
    stem,
    lock: `${stem}.lock`,
    mutex: `${stem}.mutex`,
    state: `${stem}.state.json`,
    log: `${stem}.log`,
  };
}

/** Creates the state dir 0700. An existing dir is left as it is (it may be one the user chose). */
export function ensureStateDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Writes a whole file or nothing: temp file 0600 in the same dir, then rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  try {
    renameSync(tmp, path);
  } catch (e) {
    removeFile(tmp);
    throw e;
  }
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** The local ports a tunnel listens on, in forward order, without duplicates. */
export function listenPorts(forwards: readonly ForwardStatus[]): number[] {
  const ports = forwards
    .filter((f) => f.kind !== "remote" && typeof f.port === "number")
    .map((f) => f.port as number);
  return [...new Set(ports)];
}

export function stateFrom(
  base: Pick<DaemonState, "name" | "pid" | "startTime" | "startedAt" | "configFile" | "logFile">,
  s: TunnelStatus,
): DaemonState {
  return {
    ...base,
    state: s.state,
    since: s.since,
    reconnects: s.reconnects,
    lastError: s.lastError ?? null,
    via: s.via,
    forwards: s.forwards,
    ports: listenPorts(s.forwards),
  };
}

export function writeState(path: string, state: DaemonState): void {
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

const STATES: readonly string[] = ["connecting", "up", "reconnecting", "stopped"];

/** A state file, or undefined when it is missing or not one fwd wrote. */
export function readState(path: string): DaemonState | undefined {
  const v = readJson(path) as Partial<DaemonState> | undefined;
  if (!v || typeof v !== "object") return undefined;
  if (typeof v.name !== "string" || typeof v.pid !== "number" || !STATES.includes(String(v.state)))
    return undefined;
  return {
    name: v.name,
    pid: v.pid,
    startTime: typeof v.startTime === "string" ? v.startTime : null,
    startedAt: typeof v.startedAt === "string" ? v.startedAt : "",
    state: v.state as LinkState,
    since: typeof v.since === "string" ? v.since : "",
    reconnects: typeof v.reconnects === "number" ? v.reconnects : 0,
    lastError: typeof v.lastError === "string" ? v.lastError : null,
    via: typeof v.via === "string" ? v.via : "",
    forwards: Array.isArray(v.forwards) ? v.forwards : [],
    ports: Array.isArray(v.ports) ? v.ports.filter((p): p is number => typeof p === "number") : [],
    configFile: typeof v.configFile === "string" ? v.configFile : null,
    logFile: typeof v.logFile === "string" ? v.logFile : "",
  };
}

/** Names with a lock or a state file in `dir`, sorted. Names come from the files' contents. */
export function knownNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const f of entries) {
    if (!f.endsWith(".state.json") && !f.endsWith(".lock")) continue;
    const v = readJson(join(dir, f)) as { name?: unknown } | undefined;
    if (typeof v?.name === "string") names.add(v.name);
  }
  return [...names].sort();
}
