/**
 * The questions the wizard asks, behind a small interface so the flow is
 * tested with scripted answers. The terminal implementation uses
 * @clack/prompts directly (consola's prompt wraps an older clack whose text
 * input misbehaves under Bun), with ctx's streams. Ctrl-C or Esc anywhere
 * throws FwdError("cancelled"): exit 130, nothing written.
 */
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";

/** A reason to re-ask, or undefined when the answer is acceptable. */
export type Check = (value: string) => string | undefined;

export interface Choice<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

export interface Prompter {
  text(q: {
    message: string;
    initial?: string;
    placeholder?: string;
    validate?: Check;
  }): Promise<string>;
  select<T extends string>(q: { message: string; options: Choice<T>[]; initial?: T }): Promise<T>;
  confirm(q: { message: string; initial?: boolean }): Promise<boolean>;
  /** A line of information between questions. */
  info(message: string): void;
}

export const cancelled = () => new FwdError("cancelled", "cancelled; nothing written");

export function clackPrompter(ctx: Pick<Ctx, "stdin" | "stderr">): Prompter {
  const io = { input: ctx.stdin, output: ctx.stderr };
  const load = () => import("@clack/prompts");
  const done = async <T>(v: unknown): Promise<T> => {
    const { isCancel } = await load();
    if (isCancel(v)) throw cancelled();
    return v as T;
  };
  return {
    async text(q) {
      const { text } = await load();
      const validate = q.validate;
      return done<string>(
        await text({
          message: q.message,
          ...(q.initial !== undefined ? { initialValue: q.initial } : {}),
          ...(q.placeholder !== undefined ? { placeholder: q.placeholder } : {}),
          ...(validate ? { validate: (v: string | undefined) => validate(v ?? "") } : {}),
          ...io,
        }),
      );
    },
    async select(q) {
      const { select } = await load();
      type Opt = { value: (typeof q.options)[number]["value"]; label: string; hint?: string };
      const options = q.options.map((o) => ({
        value: o.value,
        label: o.label,
        ...(o.hint ? { hint: o.hint } : {}),
      })) as Opt[];
      return done(
        await select({
          message: q.message,
          options: options as never,
          ...(q.initial !== undefined ? { initialValue: q.initial } : {}),
          ...io,
        }),
      ) as Promise<(typeof q.options)[number]["value"]>;
    },
    async confirm(q) {
      const { confirm } = await load();
      return done<boolean>(
        await confirm({ message: q.message, initialValue: q.initial ?? true, ...io }),
      );
    },
    info(message) {
      ctx.stderr.write(`│\n${message.replace(/^/gm, "│  ")}\n`);
    },
  };
}
