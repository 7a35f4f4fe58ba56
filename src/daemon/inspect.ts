/**
 * What is NAME doing right now? Reads NAME's lock and state file and checks
 * that the recorded process is still the same one (pid + start time). Reads
 * only; a caller that finds stale files removes them with lock.ts clearStale.
 */
import { type LockHolder, readLock } from "./lock.ts";
import { isSameProcess, type ProcessId } from "./proc.ts";
import { type DaemonFiles, type DaemonState, readState } from "./state.ts";

export type Inspection =
  | {
      kind: "running";
      name: string;
      /** The live process serving NAME. */
      owner: ProcessId & { startedAt: string };
      /** Its last report; undefined in the instant between taking the lock and the first write. */
      state: DaemonState | undefined;
    }
  | {
      kind: "stopped";
      name: string;
      /** Files were left by a process that is gone (they should be cleared). */
      stale: boolean;
      /** The dead process's last state, if it left one (e.g. why it ended). */
      last: DaemonState | undefined;
    };

const idOf = (s: DaemonState): ProcessId => ({ pid: s.pid, startTime: s.startTime ?? undefined });

export function inspect(files: DaemonFiles, name: string): Inspection {
  const lock: LockHolder | undefined = readLock(files.lock);
  const state = readState(files.state);
  const lockLive = lock !== undefined && isSameProcess(lock);
  if (lockLive) {
    const mine =
      state && state.pid === lock.pid && state.startTime === (lock.startTime ?? null)
        ? state
        : undefined;
    return { kind: "running", name, owner: lock, state: mine };
  }
  // No live lock: a state file still counts if its own process is alive (lock removed by hand).
  if (state && isSameProcess(idOf(state))) {
    return { kind: "running", name, owner: { ...idOf(state), startedAt: state.startedAt }, state };
  }
  return { kind: "stopped", name, stale: lock !== undefined || state !== undefined, last: state };
}
