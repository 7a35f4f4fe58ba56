/** A Ctx for daemon/status tests: temp state dir, captured output, no terminal. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../../src/context.ts";
import { type Captured, capturedCtx } from "./sink.ts";

export type { Captured };

export function testCtx(stateDir: string, over: Partial<Ctx> = {}): Captured {
  const env = { HOME: join(stateDir, "home"), FWD_STATE_DIR: stateDir, PATH: process.env.PATH };
  return capturedCtx(env, over);
}

export function tempDir(prefix = "fwd-daemon-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A process standing in for a background fwd; killed by PID in afterEach. */
export function spawnSleeper(args: string[] = ["30"]): ChildProcess {
  return spawn("sleep", args, { stdio: "ignore" });
}

/** A process that ignores SIGTERM (so stop has to SIGKILL it); resolves once the trap is set. */
export function spawnTermIgnorer(): Promise<ChildProcess> {
  const p = spawn("sh", ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((res) => p.stdout?.once("data", () => res(p)));
}

export async function waitUntil(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function killQuietly(p: ChildProcess | undefined): void {
  if (p?.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(p.pid, "SIGKILL");
  } catch {}
}
