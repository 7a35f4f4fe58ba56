import { type ConsolaInstance, createConsola } from "consola";
import type { Ctx } from "../context.ts";

/**
 * Messages go to stderr (stdout is for data), quiet shows only errors,
 * verbose adds connection steps. Colours follow the terminal and NO_COLOR.
 */
export function createLogger(
  ctx: Pick<Ctx, "stderr" | "quiet" | "verbose" | "env">,
): ConsolaInstance {
  const level = ctx.quiet ? 1 : ctx.verbose ? 4 : 3;
  return createConsola({
    level,
    stdout: ctx.stderr,
    stderr: ctx.stderr,
    formatOptions: { date: false, colors: Boolean(ctx.stderr.isTTY) && !ctx.env.NO_COLOR },
  });
}
