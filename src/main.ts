#!/usr/bin/env bun
import { ExitCode, isFwdError, messageOf } from "./errors.ts";
import { tuneJit } from "./jit.ts";

/** A compiled Bun binary runs its embedded entry from a virtual /$bunfs path. */
function compiled(): boolean {
  const script = process.argv[1];
  return !script || script.startsWith("/$bunfs") || script.includes("~BUN");
}

/** How to start this same fwd again (for `run -d`): compiled binary, bun or deno. */
function selfCommand(): string[] {
  const g = globalThis as { Deno?: unknown };
  const script = process.argv[1];
  const exe = process.execPath;
  if (!script || compiled()) return [exe];
  if (g.Deno) return [exe, "run", "-A", script];
  return [exe, script];
}

function printError(e: unknown): number {
  const color = process.stderr.isTTY && !process.env.NO_COLOR;
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  if (isFwdError(e)) {
    process.stderr.write(`${red("✖")} ${e.message}\n`);
    if (e.hint) process.stderr.write(`  ${dim(`hint: ${e.hint}`)}\n`);
    return e.exitCode;
  }
  if (e instanceof Error && e.name === "CACError") {
    process.stderr.write(`${red("✖")} ${e.message}\n  ${dim("hint: run `fwd --help`")}\n`);
    return ExitCode.usage;
  }
  process.stderr.write(`${red("✖")} unexpected error: ${messageOf(e)}\n`);
  if (process.env.FWD_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return ExitCode.runtime;
}

async function main(): Promise<void> {
  // `fwd status | head`: a closed pipe ends the output, not the program with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    });
  }
  // One switch for every colour decision below (consola, prompts, errors).
  if (process.argv.includes("--no-color") || process.env.TERM === "dumb")
    process.env.NO_COLOR = "1";
  let code: number;
  try {
    const { runCli } = await import("./cli.ts");
    code = await runCli(process.argv, selfCommand());
  } catch (e) {
    code = printError(e);
  }
  process.exitCode = code;
}

// `fwd run` in the compiled binary: re-executes itself with the JIT tuned for a tunnel (jit.ts).
tuneJit(compiled() && !("Deno" in globalThis));
// `fwd --version` is the startup benchmark: answer it before touching streams or cac.
const only = process.argv.length === 3 ? process.argv[2] : undefined;
if (only === "--version" || only === "-V") {
  const { versionLine } = await import("./version.ts");
  console.log(versionLine());
} else {
  await main();
}
