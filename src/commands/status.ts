import type { Ctx } from "../context.ts";
import { type Inspection, inspect } from "../daemon/inspect.ts";
import { clearStale } from "../daemon/lock.ts";
import { daemonFiles, knownNames, listenPorts } from "../daemon/state.ts";
import type { ForwardStatus, LinkState } from "../tunnel/status.ts";

/**
 * One forward in `fwd status --json` (DESIGN.md §3; stable, more keys may be added):
 * `{"forwards":[StatusEntry, …]}`.
 */
export interface StatusEntry {
  name: string;
  state: LinkState;
  /** The live process serving the forward; null when stopped. */
  pid: number | null;
  /** Its local listen ports; [] when stopped. */
  ports: number[];
  /** ISO time of the last state change. */
  since: string | null;
  /** ISO time the background process started. */
  startedAt: string | null;
  reconnects: number;
  lastError: string | null;
  /** Last hop, "user@host:port". */
  via: string | null;
  forwards: ForwardStatus[];
  logFile: string | null;
}

export function statusEntry(i: Inspection): StatusEntry {
  if (i.kind === "stopped") {
    return {
      name: i.name,
      state: "stopped",
      pid: null,
      ports: [],
      since: null,
      startedAt: null,
      reconnects: i.last?.reconnects ?? 0,
      lastError: i.last?.lastError ?? null,
      via: i.last?.via || null,
      forwards: [],
      logFile: i.last?.logFile || null,
    };
  }
  const s = i.state;
  // A process that wrote "stopped" is in its last milliseconds: it serves nothing any more.
  if (s?.state === "stopped")
    return statusEntry({ kind: "stopped", name: i.name, stale: false, last: s });
  return {
    name: i.name,
    state: s?.state ?? "connecting",
    pid: i.owner.pid,
    ports: s ? listenPorts(s.forwards) : [],
    since: s?.since || i.owner.startedAt || null,
    startedAt: i.owner.startedAt || null,
    reconnects: s?.reconnects ?? 0,
    lastError: s?.lastError ?? null,
    via: s?.via || null,
    forwards: s?.forwards ?? [],
    logFile: s?.logFile || null,
  };
}

/** "42s", "3m12s", "2h05m", "3d04h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const p = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${p(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${p(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${p(Math.floor((s % 86400) / 3600))}h`;
}

/** The human table: name, state, forwards, uptime, reconnects, last error. */
export function renderStatusTable(entries: readonly StatusEntry[], now: Date): string {
  const rows = entries.map((e) => [
    e.name,
    e.pid === null ? e.state : `${e.state} (pid ${e.pid})`,
    e.forwards.map((f) => f.description).join(", ") || "-",
    e.startedAt && e.pid !== null ? duration(now.getTime() - Date.parse(e.startedAt)) : "-",
    String(e.reconnects),
    e.lastError ?? "-",
  ]);
  const table = [["NAME", "STATE", "FORWARDS", "UPTIME", "RECONNECTS", "LAST ERROR"], ...rows];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => [...r[c]!].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) =>
        c === r.length - 1 ? cell : cell + " ".repeat(widths[c]! - [...cell].length),
      )
      .join("  ");
  return `${table.map(line).join("\n")}\n`;
}

export async function statusCommand(ctx: Ctx, name?: string): Promise<number> {
  const dir = ctx.paths.stateDir;
  const names = name !== undefined ? [name] : knownNames(dir);
  const entries = names.map((n) => {
    const files = daemonFiles(dir, n);
    const found = inspect(files, n);
    // Shown once as stopped, then forgotten: a dead process's files must not linger.
    if (found.kind === "stopped" && found.stale) clearStale(files);
    return statusEntry(found);
  });
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify({ forwards: entries })}\n`);
    return 0;
  }
  if (entries.length === 0) {
    ctx.stdout.write("no background forwards (start one with: fwd run -d NAME)\n");
    return 0;
  }
  if (name !== undefined && entries[0]?.state === "stopped" && !entries[0].lastError) {
    ctx.stdout.write(`${name} is stopped\n`);
    return 0;
  }
  ctx.stdout.write(renderStatusTable(entries, new Date()));
  return 0;
}
