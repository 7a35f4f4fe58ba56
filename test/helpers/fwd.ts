/**
 * Runs fwd the way a user does: from source (`bun src/main.ts`) or as the
 * compiled binary (`$FWD_BIN`, else dist/fwd-linux-x64) with mode "binary".
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { killTree } from "./procs.ts";

export const ROOT = join(import.meta.dir, "../..");
/** $FWD_E2E_BIN or $FWD_BIN (the names other e2e tests read), else this machine's dist/ binary. */
export const BINARY =
  process.env.FWD_E2E_BIN ||
  process.env.FWD_BIN ||
  join(ROOT, "dist", `fwd-${process.platform}-${process.arch}`);
export const hasBinary = existsSync(BINARY);

export type FwdMode = "source" | "binary";

export interface FwdOptions {
  /** Full environment of the fwd process (e.g. tempHome().env). Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then closed. stdin is never a TTY. */
  input?: string;
  timeoutMs?: number;
  mode?: FwdMode;
  cwd?: string;
}

export interface FwdResult {
  code: number;
  /** Set when the process died of a signal (including our timeout). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The argv that starts fwd in `mode`. */
export function fwdCommand(mode: FwdMode = "source"): string[] {
  if (mode === "binary") {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} missing: run \`npm run build -- --host\``);
    return [BINARY];
  }
  return [process.execPath, join(ROOT, "src", "main.ts")];
}

function start(args: readonly string[], opts: FwdOptions): ChildProcess {
  const [cmd, ...pre] = fwdCommand(opts.mode);
  const child = spawn(cmd!, [...pre, ...args], {
    env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
    cwd: opts.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  return child;
}

/** Runs fwd to completion; kills it (and its children) after timeoutMs. */
export function runFwd(args: readonly string[], opts: FwdOptions = {}): Promise<FwdResult> {
  const child = start(args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setTimeout(
    () => void killTree([child.pid ?? 0].filter(Boolean)),
    opts.timeoutMs ?? 30_000,
  );
  return new Promise((resolve, reject) => {
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, stdout, stderr });
    });
  });
}

export interface FwdProcess {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (128 + n for a signal) once it has exited. */
  exited: Promise<number>;
  /** SIGTERM (then SIGKILL) to it and its descendants, by PID. */
  kill(): Promise<void>;
}

/** Starts a long-running fwd (e.g. `run NAME` in the foreground); kill it in afterEach. */
export function spawnFwd(args: readonly string[], opts: FwdOptions = {}): FwdProcess {
  const child = start(args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number>((resolve) => {
    child.once("close", (code, signal) =>
      resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)),
    );
  });
  return {
    pid: child.pid ?? 0,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: () => killTree([child.pid ?? 0].filter(Boolean)),
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}
