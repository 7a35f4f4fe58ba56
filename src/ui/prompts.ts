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

type Key = { name?: string; ctrl?: boolean } | undefined;

/**
 * Runs `work` under a @clack/prompts spinner when stdin and stderr are
 * terminals (otherwise just runs it). `work` writes through the ctx it is
 * given: each write first clears the spinner line and the spinner comes back
 * after it, so result lines print as without a spinner. A prompt starting
 * inside `work` (a keypress listener on stdin: host key, passphrase) stops it
 * before the prompt takes the terminal; it comes back after the prompt.
 * Ctrl-C or Esc while it spins exits 130 at once, writing nothing, as SIGINT
 * did before (clack's spinner would otherwise exit 0).
 */
export async function spinning<T>(
  ctx: Ctx,
  message: string,
  work: (c: Ctx) => Promise<T>,
): Promise<T> {
  const out = ctx.stderr;
  const input = ctx.stdin;
  if (!ctx.interactive || !out.isTTY || !input.isTTY) return work(ctx);
  const { spinner } = await import("@clack/prompts");
  const color = !ctx.env.NO_COLOR;
  let active = false;
  let done = false;
  let ours = false; // true while the spinner adds or removes its own listeners
  let pending = false;
  const cancel = () => {
    stop();
    done = true;
    out.write(`${color ? "\x1b[31m✖\x1b[0m" : "✖"} cancelled; nothing written\n`);
    // The check's connection may be in flight; stop here as SIGINT used to.
    process.exit(130);
  };
  const s = spinner({
    output: out,
    input,
    withGuide: false,
    styleFrame: (f) => (color ? `\x1b[35m${f}\x1b[39m` : f),
    onCancel: cancel,
  });
  const onKey = (_: unknown, key: Key) => {
    if ((key?.ctrl && key.name === "c") || key?.name === "escape") cancel();
  };
  const start = () => {
    if (active || done || input.listenerCount("keypress") > 0) return;
    ours = true;
    const before = new Set(input.listeners("keypress"));
    s.start(message);
    // clack's spinner reads keys itself and exits 0 on Ctrl-C: keys are ours instead.
    for (const l of input.listeners("keypress"))
      if (!before.has(l)) input.removeListener("keypress", l as (...a: unknown[]) => void);
    input.on("keypress", onKey);
    ours = false;
    active = true;
  };
  function stop() {
    if (!active) return;
    active = false;
    ours = true;
    input.removeListener("keypress", onKey);
    s.clear();
    ours = false;
  }
  const onNewListener = (event: string | symbol) => {
    if (event !== "keypress" || ours || !active) return;
    stop();
    input.resume(); // the spinner's readline paused stdin when it closed
  };
  const write = (...args: unknown[]) => {
    stop();
    const r = (out.write as (...a: unknown[]) => boolean)(...args);
    if (!pending && !done) {
      pending = true;
      setImmediate(() => {
        pending = false;
        start();
      });
    }
    return r;
  };
  const stderr = new Proxy(out, {
    get(t, p) {
      if (p === "write") return write;
      const v = Reflect.get(t, p, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  input.on("newListener", onNewListener);
  start();
  try {
    return await work({ ...ctx, stderr });
  } finally {
    done = true;
    stop();
    input.removeListener("newListener", onNewListener);
  }
}
