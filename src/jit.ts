/**
 * `fwd run` in the compiled binary runs with JavaScriptCore's top JIT tier
 * (FTL) off (issue 12).
 *
 * A tunnel's hot path is short (ssh2's packet parser, the AES-GCM calls into
 * libcrypto, the socket writes), and DFG code runs it about as fast as FTL
 * code; but FTL compiles of that path keep coming for the first few hundred
 * MiB (~90-120 ms of compile time per process), which is CPU the tunnel does
 * not get back. Interleaved fresh tunnels, 3 x 100 MiB each: 2.05-2.43 CPU
 * s/GiB with FTL off against 2.26-2.73 with it on (-11...16 %), peak RSS
 * 80-82 MiB against 86-89.
 *
 * JavaScriptCore reads its options once, from BUN_JSC_* in the environment at
 * start, so `fwd run` re-executes itself (process.execve: same pid, same
 * descriptors) with BUN_JSC_useFTLJIT=0 before anything else is done; that
 * second start costs 5-8 ms of setup (0.58x -> 0.64x of ssh's in 12
 * interleaved rounds).
 * The re-executed process takes the variable out of its environment again, so
 * nothing fwd starts (askpass, ProxyCommand, `run -d`'s child) inherits it.
 * `run -d` gives its child the same environment at spawn instead (whatever
 * runs it). No re-exec when the user set BUN_JSC_useFTLJIT, when running
 * from source (`bun src/main.ts`) or under Deno, or where there is no execve.
 */

const MARK = "FWD_JIT_TUNED";
/** The environment `run` wants; `run -d` starts its child with it directly. */
export const JIT_ENV: Readonly<Record<string, string>> = { BUN_JSC_useFTLJIT: "0", [MARK]: "1" };

/** What a tunnel process started by fwd (`run -d`'s child) gets added to `env`. */
export function childJitEnv(env: Record<string, string | undefined>): Record<string, string> {
  return env.BUN_JSC_useFTLJIT === undefined ? { ...JIT_ENV } : {};
}

/** The command word: the first argument after the program that is not an option. */
export function commandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith("-"));
}

/** What to do at start: re-exec with JIT_ENV, tidy the environment after one, or nothing. */
export function jitPlan(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  compiled: boolean,
): "reexec" | "tidy" | "none" {
  if (env[MARK] === "1") return "tidy";
  if (!compiled || env.BUN_JSC_useFTLJIT !== undefined) return "none";
  if (commandOf(argv) !== "run") return "none";
  // `run -d` only starts the tunnel's process, which gets JIT_ENV at spawn.
  return argv.includes("-d") || argv.includes("--background") ? "none" : "reexec";
}

type Execve = (file: string, args: string[], env: Record<string, string | undefined>) => never;

/** Call first thing in main; returns only when this process is the one to carry on. */
export function tuneJit(compiled: boolean): void {
  const env = process.env;
  const plan = jitPlan(process.argv, env, compiled);
  if (plan === "tidy") {
    delete env.BUN_JSC_useFTLJIT;
    delete env[MARK];
    return;
  }
  const execve = (process as { execve?: Execve }).execve;
  if (plan !== "reexec" || typeof execve !== "function") return;
  try {
    execve(process.execPath, [process.argv0 || process.execPath, ...process.argv.slice(2)], {
      ...env,
      ...JIT_ENV,
    });
  } catch {
    // No execve here after all: carry on as is, FTL and all.
  }
}
