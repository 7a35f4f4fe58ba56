/** A Ctx for daemon/status tests: temp state dir, captured output, no terminal. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../../src/context.ts";
import { resolvePaths } from "../../src/paths.ts";
import { sink } from "./sink.ts";

export interface Captured {
  ctx: Ctx;
  out: () => string;
  err: () => string;
}

export function testCtx(stateDir: string, over: Partial<Ctx> = {}): Captured {
  const env = { HOME: join(stateDir, "home"), FWD_STATE_DIR: stateDir, PATH: process.env.PATH };
  const out = sink();
  const err = sink();
  const ctx: Ctx = {
    env,
    paths: resolvePaths(env),
    stdin: process.stdin,
    stdout: out.stream,
    stderr: err.stream,
    interactive: false,
    configFile: undefined,
    json: false,
    quiet: false,
    verbose: false,
    selfCommand: [process.execPath, join(import.meta.dir, "../../src/main.ts")],
    ...over,
  };
  return { ctx, out: out.text, err: err.text };
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
