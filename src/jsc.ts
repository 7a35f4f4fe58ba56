/**
 * `fwd run` in the compiled binary runs with two JavaScriptCore options set
 * for a tunnel (issue 12).
 *
 * - BUN_JSC_useFTLJIT=0: the top JIT tier (FTL) off. A tunnel's hot path is
 *   short (ssh2's packet parser, the AES-GCM calls into libcrypto, the socket
 *   writes), and DFG code runs it about as fast as FTL code; but FTL compiles
 *   of that path keep coming for the first few hundred MiB (~90-120 ms of
 *   compile time per process), which is CPU the tunnel does not get back.
 *   Interleaved fresh tunnels, 3 x 100 MiB each: 2.05-2.43 CPU s/GiB with FTL
 *   off against 2.26-2.73 with it on (-11...16 %), peak RSS 80-82 MiB against
 *   86-89.
 * - BUN_JSC_numberOfGCMarkers=1: the collector marks on one thread. By
 *   default every collection also wakes a helper marker per core; a tunnel
 *   collects its young generation every 2 MiB moved (tunnel/transport.ts),
 *   and for so little to mark the hand-off costs more than it saves.
 *   Interleaved fresh tunnels, 3 x 100 MiB each (8 pairs): 2.04 and 2.16
 *   CPU s/GiB against 2.29 and 2.44 (-11 %); 64 KiB requests 137 against
 *   144 µs of CPU each, peak RSS level.
 *
 * JavaScriptCore reads its options once, from BUN_JSC_* in the environment at
 * start, so `fwd run` re-executes itself (process.execve: same pid, same
 * descriptors) with them before anything else is done; that second start
 * costs 5-8 ms of setup (0.58x -> 0.64x of ssh's in 12 interleaved rounds).
 * An option the user set is left as set (and not re-executed for). The
 * re-executed process takes the options it was given out of its environment
 * again (FWD_JSC_TUNED lists them), so nothing fwd starts (askpass,
 * ProxyCommand, `run -d`'s child) inherits them. `run -d` gives its child the
 * same options at spawn instead (whatever runs it). No re-exec when running
 * from source (`bun src/main.ts`) or under Deno, or where there is no execve.
 */

const MARK = "FWD_JSC_TUNED";
/** The options a tunnel wants. */
export const JSC_OPTIONS: Readonly<Record<string, string>> = {
  BUN_JSC_useFTLJIT: "0",
  BUN_JSC_numberOfGCMarkers: "1",
};

type Env = Record<string, string | undefined>;

/** What to add to `env` for a tunnel: the options not already set there, and the mark listing them. */
export function tunedEnv(env: Env): Record<string, string> {
  const add = Object.entries(JSC_OPTIONS).filter(([k]) => env[k] === undefined);
  if (add.length === 0) return {};
  return { ...Object.fromEntries(add), [MARK]: add.map(([k]) => k).join(",") };
}

/** The command word: the first argument after the program that is not an option. */
export function commandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith("-"));
}

/** What to do at start: re-exec with the options, tidy the environment after one, or nothing. */
export function jscPlan(
  argv: readonly string[],
  env: Env,
  compiled: boolean,
): "reexec" | "tidy" | "none" {
  if (env[MARK] !== undefined) return "tidy";
  if (!compiled || Object.keys(tunedEnv(env)).length === 0) return "none";
  if (commandOf(argv) !== "run") return "none";
  // `run -d` only starts the tunnel's process, which gets the options at spawn.
  return argv.includes("-d") || argv.includes("--background") ? "none" : "reexec";
}

/** Takes out of `env` what tunedEnv added (the options the mark lists, and the mark). */
export function tidy(env: Env): void {
  for (const k of (env[MARK] ?? "").split(",")) if (k in JSC_OPTIONS) delete env[k];
  delete env[MARK];
}

type Execve = (file: string, args: string[], env: Env) => never;

/** Call first thing in main; returns only when this process is the one to carry on. */
export function tuneJsc(compiled: boolean): void {
  const env = process.env;
  const plan = jscPlan(process.argv, env, compiled);
  if (plan === "tidy") {
    tidy(env);
    return;
  }
  const execve = (process as { execve?: Execve }).execve;
  if (plan !== "reexec" || typeof execve !== "function") return;
  try {
    execve(process.execPath, [process.argv0 || process.execPath, ...process.argv.slice(2)], {
      ...env,
      ...tunedEnv(env),
    });
  } catch {
    // No execve here after all: carry on with the defaults.
  }
}
