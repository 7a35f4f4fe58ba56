/**
 * `fwd config resolve [-F file] HOST`: the options ssh would use, printed as
 * `ssh -G` prints them (one `key value` line per value, ssh's order).
 *
 * With --json: one object mapping each key to its value; a key with several
 * values (identityfile, localforward, sendenv, ...) maps to an array, every
 * other key to a string. Keys are lower-case, in ssh -G order. Stable.
 */
import type { Ctx } from "../context.ts";
import { PRINTED_AS } from "../sshconfig/dump.ts";
import { resolveName } from "../tunnel/load.ts";

/** Keys that may hold several values: always arrays in --json, even with one value. */
const MULTI = new Set([
  "identityfile",
  "certificatefile",
  "localforward",
  "remoteforward",
  "dynamicforward",
  "sendenv",
  "setenv",
]);

export function renderText(options: Map<string, string[]>): string {
  let out = "";
  for (const [k, vs] of options) for (const v of vs) out += `${PRINTED_AS[k] ?? k} ${v}\n`;
  return out;
}

export function renderJson(options: Map<string, string[]>): string {
  const obj: Record<string, string | string[]> = {};
  for (const [k, vs] of options) obj[k] = MULTI.has(k) ? vs : vs.join(" ");
  return `${JSON.stringify(obj, null, 2)}\n`;
}

export async function configResolveCommand(ctx: Ctx, host: string): Promise<number> {
  const resolved = await resolveName(ctx, host, []);
  ctx.stdout.write(ctx.json ? renderJson(resolved.options) : renderText(resolved.options));
  return 0;
}
