/**
 * What every option parser shares: the line's context, a cursor over its
 * arguments, the error type for a bad line, and first-wins storage of ints
 * (readconf.c: "only sets those values that have not already been set").
 */
import type { Env } from "../paths.ts";
import type { Options, Origin } from "./options.ts";
import { atoiErr } from "./services.ts";
import { convtime } from "./values.ts";

/** A line ssh rejects; resolve.ts adds file:line. */
export class LineError extends Error {}

export interface LineCtx {
  active: boolean;
  origin: Origin;
  /** User config (-F or ~/.ssh/config and what they include), not the system one. */
  userConf: boolean;
  env: Env;
  /** A command-line option (ssh -o): ProxyJump names are checked strictly. */
  strict?: boolean;
}

/** Cursor over a line's arguments (misc.c argv_next). */
export class Args {
  i = 0;
  constructor(readonly a: string[]) {}
  next(): string | undefined {
    return this.a[this.i++];
  }
  get left(): number {
    return Math.max(0, this.a.length - this.i);
  }
  consume(): void {
    this.i = this.a.length;
  }
}

/** Store an int option: first value wins; -1 (e.g. "none" times) leaves it unset, as in ssh. */
export function setN(o: Options, c: LineCtx, key: string, v: number, originKey = key): void {
  if (!c.active || o.n.has(key) || v === -1) return;
  o.n.set(key, v);
  if (!o.origins.has(originKey)) o.origins.set(originKey, c.origin);
}

export function parseTime(arg: string | undefined): number {
  if (arg === undefined || arg === "") throw new LineError("missing time value.");
  if (arg === "none") return -1;
  const v = convtime(arg);
  if (v === -1) throw new LineError("invalid time value.");
  return v;
}

export function parseInt_(arg: string | undefined): number {
  const v = atoiErr(arg);
  if (typeof v === "string") throw new LineError(`integer value ${v}.`);
  return v;
}

/** Remember where a key first got its value. */
export function addOrigin(o: Options, c: LineCtx, key: string): void {
  if (!o.origins.has(key)) o.origins.set(key, c.origin);
}
