/**
 * The two questions `fwd run` may have to ask: a key's passphrase and whether
 * to trust an unknown host key. On a terminal they are prompts; without one,
 * a passphrase comes from SSH_ASKPASS (as ssh does) or not at all.
 */
import { execFile } from "node:child_process";
import type { Ctx } from "../context.ts";
import { childRelay } from "../daemon/relay.ts";

export function passphraseAsker(
  ctx: Ctx,
): ((path: string) => Promise<string | undefined>) | undefined {
  // A background child asks through `run -d`'s terminal (like ssh -f).
  const relay = childRelay(ctx.env);
  if (relay) return (path) => relay.askPassphrase(path);
  if (ctx.interactive) {
    return async (path) => {
      const { password, isCancel } = await import("@clack/prompts");
      const v = await password({
        message: `Passphrase for ${path}`,
        input: ctx.stdin,
        output: ctx.stderr,
      });
      return isCancel(v) ? undefined : v;
    };
  }
  const askpass = ctx.env.SSH_ASKPASS;
  if (!askpass) return undefined;
  return (path) =>
    new Promise((resolve) => {
      execFile(
        askpass,
        [`Enter passphrase for ${path}: `],
        { env: { ...ctx.env } as NodeJS.ProcessEnv },
        (err, out) => resolve(err ? undefined : out.replace(/\r?\n$/, "")),
      );
    });
}

export function hostKeyAsker(
  ctx: Ctx,
): ((q: { host: string; fingerprint: string; keyType: string }) => Promise<boolean>) | undefined {
  const relay = childRelay(ctx.env);
  if (relay) return (q) => relay.askHostKey(q);
  if (!ctx.interactive) return undefined;
  return async (q) => {
    const { confirm, isCancel } = await import("@clack/prompts");
    const v = await confirm({
      message: `The authenticity of host ${q.host} can't be established.\n${q.keyType} key fingerprint is ${q.fingerprint}.\nTrust it and remember it?`,
      initialValue: false,
      input: ctx.stdin,
      output: ctx.stderr,
    });
    return !isCancel(v) && v === true;
  };
}
