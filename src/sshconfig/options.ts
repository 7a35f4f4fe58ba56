/**
 * The option state ssh builds while reading config (readconf.h Options):
 * every value starts unset and the first obtained value wins
 * (readconf.c: "only sets those values that have not already been set").
 */
import type { RawForward } from "./fwdspec.ts";

export interface Origin {
  file: string;
  line: number;
}

export interface Jump {
  host: string;
  user: string | undefined;
  port: number;
  extra: string | undefined;
}

export interface Options {
  /** Integer-valued options (flags, multistates, times, counts) by opcode; absent = unset. */
  n: Map<string, number>;
  /** String options by opcode; absent = unset. */
  s: Map<string, string>;
  /** List options by opcode (identityfile, sendenv, ...). */
  lists: Map<string, string[]>;
  localForwards: RawForward[];
  remoteForwards: RawForward[];
  jump: Jump | undefined;
  /** Where each explicitly set option (by printed key) got its value. */
  origins: Map<string, Origin>;
}

export function newOptions(): Options {
  return {
    n: new Map(),
    s: new Map(),
    lists: new Map(),
    localForwards: [],
    remoteForwards: [],
    jump: undefined,
    origins: new Map(),
  };
}

export function list(o: Options, key: string): string[] {
  let l = o.lists.get(key);
  if (!l) {
    l = [];
    o.lists.set(key, l);
  }
  return l;
}

/** misc.c forward_equals(): every field but the allocated port. */
export function forwardEquals(a: RawForward, b: RawForward): boolean {
  return (
    a.listenHost === b.listenHost &&
    a.listenPort === b.listenPort &&
    a.listenPath === b.listenPath &&
    a.connectHost === b.connectHost &&
    a.connectPort === b.connectPort &&
    a.connectPath === b.connectPath
  );
}
