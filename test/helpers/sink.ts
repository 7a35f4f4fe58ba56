import { join } from "node:path";
import type { Ctx } from "../../src/context.ts";
import { type Env, resolvePaths } from "../../src/paths.ts";

/** A stand-in for stdout/stderr that keeps what was written (not a TTY). */
export function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = {
    write(chunk: string | Uint8Array) {
      text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    },
    isTTY: false,
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

export interface Captured {
  ctx: Ctx;
  out: () => string;
  err: () => string;
}

/** A command Ctx for in-process tests: this env, captured stdout/stderr, no terminal. */
export function capturedCtx(env: Env, over: Partial<Ctx> = {}): Captured {
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
