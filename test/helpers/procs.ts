/**
 * Process-tree helpers: tests kill what they started by PID, including the
 * children those processes forked (sshd's per-connection sessions), found via
 * the ppid field of /proc/PID/stat. Never by name.
 */
import { readdirSync, readFileSync } from "node:fs";

function parentMap(): Map<number, number> {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after "(comm)": state ppid ...; comm may contain spaces and ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(entry), Number(fields[1]));
    } catch {
      // The process exited between readdir and read.
    }
  }
  return parent;
}

/** Every live descendant of the given PIDs (not the PIDs themselves). */
export function descendants(...pids: number[]): number[] {
  const parent = parentMap();
  const out: number[] = [];
  const queue = [...pids];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const [child, pp] of parent) {
      if (pp === p && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; treat it as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Kills `pids` and all their descendants (collected before signalling, since
 * orphans are re-parented to init), SIGTERM first, SIGKILL after `graceMs`.
 * Resolves once none of them is alive.
 */
export async function killTree(pids: number[], graceMs = 2000): Promise<void> {
  const all = [...pids, ...descendants(...pids)];
  for (const pid of all) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (all.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const pid of all) if (isAlive(pid)) signal(pid, "SIGKILL");
  const hard = Date.now() + 5000;
  while (all.some(isAlive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
}
