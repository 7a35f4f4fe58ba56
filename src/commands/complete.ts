/**
 * `fwd __complete -- WORD...`: the hidden entry the shell scripts of
 * `fwd completion` call on every TAB. It gets the words typed after `fwd` (the
 * last one is the word being completed, maybe empty) and prints one directive
 * line, `:words` or `:files`, then candidates as `value<TAB>description`.
 *
 * Commands and flags come from the cac definitions, so completion never goes
 * stale; Host names from the ssh_config (listHosts + resolveHost: no ssh2, no
 * network, no `Match exec`), running names from the state dir. Any error means
 * "no candidates": completion must never print an error into a prompt.
 */
import { hostname } from "node:os";
import type { Ctx } from "../context.ts";
import { localUser } from "../paths.ts";

export interface FlagSpec {
  /** "-d", "--background" */
  names: string[];
  takesValue: boolean;
  description: string;
}

export interface CommandSpec {
  name: string;
  description: string;
  flags: FlagSpec[];
}

export interface CliSpec {
  commands: CommandSpec[];
  globalFlags: FlagSpec[];
}

/** What each positional argument of a command completes to (index = position). */
export type ArgSource =
  | { kind: "hosts" }
  | { kind: "forwards" }
  | { kind: "running" }
  | { kind: "choices"; values: string[] }
  | { kind: "files" };

const FORWARDS: ArgSource = { kind: "forwards" };
const RUNNING: ArgSource = { kind: "running" };
const choices = (...values: string[]): ArgSource => ({ kind: "choices", values });

const ARGS: Record<string, { positional: ArgSource[]; variadic?: ArgSource }> = {
  run: { positional: [FORWARDS] },
  check: { positional: [FORWARDS] },
  stop: { positional: [], variadic: RUNNING },
  status: { positional: [RUNNING] },
  logs: { positional: [RUNNING] },
  config: { positional: [choices("resolve"), { kind: "hosts" }] },
  completion: { positional: [choices("bash", "zsh", "fish")] },
  service: { positional: [choices("install", "uninstall", "status"), FORWARDS] },
};

/** Flags whose value is a path: the shell completes file names. */
const FILE_FLAGS = new Set(["-F", "--config", "--identity"]);

interface CacOption {
  rawName: string;
  description: string;
}
interface CacCommand {
  name: string;
  description: string;
  options: CacOption[];
}
export interface CacLike {
  commands: CacCommand[];
  globalCommand: { options: CacOption[] };
}

/** "-d, --background" / "-L <spec>" -> names and whether a value follows. */
function flagOf(o: CacOption): FlagSpec {
  const head = o.rawName.split(/[<[]/)[0]!;
  const names = head
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("-"));
  return { names, takesValue: /[<[]/.test(o.rawName), description: o.description };
}

/** Commands and flags as cac defines them, without hidden ones (`__*`, "(internal)"). */
export function specFrom(cli: CacLike): CliSpec {
  const visible = (o: CacOption) => !o.description.startsWith("(internal)");
  return {
    commands: cli.commands
      .filter((c) => c.name !== "" && !c.name.startsWith("__"))
      .map((c) => ({
        name: c.name,
        description: c.description,
        flags: c.options.filter(visible).map(flagOf),
      })),
    globalFlags: cli.globalCommand.options.filter(visible).map(flagOf),
  };
}

export interface Candidate {
  value: string;
  description: string;
}

export type Completion =
  | { kind: "words"; candidates: Candidate[] }
  | { kind: "source"; source: ArgSource; prefix: string };

const filter = (items: Candidate[], prefix: string) => ({
  kind: "words" as const,
  candidates: items.filter((c) => c.value.startsWith(prefix)),
});

/** Pure: the words after `fwd` (last = the one being completed) -> what to offer. */
export function completeWords(spec: CliSpec, words: readonly string[]): Completion {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  let command: CommandSpec | undefined;
  let positional = 0;
  let pendingFlag: FlagSpec | undefined;
  const findFlag = (w: string) =>
    [...(command?.flags ?? []), ...spec.globalFlags].find((f) => f.names.includes(w));

  for (const w of before) {
    if (pendingFlag) {
      pendingFlag = undefined;
    } else if (w.startsWith("-") && w !== "-") {
      const f = findFlag(w.split("=")[0]!);
      if (f?.takesValue && !w.includes("=")) pendingFlag = f;
    } else if (!command) {
      command = spec.commands.find((c) => c.name === w);
      if (!command) return { kind: "words", candidates: [] };
    } else {
      positional++;
    }
  }

  if (pendingFlag) {
    const file = pendingFlag.names.some((n) => FILE_FLAGS.has(n));
    return file
      ? { kind: "source", source: { kind: "files" }, prefix: current }
      : { kind: "words", candidates: [] };
  }
  if (current.startsWith("-")) {
    const flags = [...(command?.flags ?? []), ...spec.globalFlags];
    const all = flags.flatMap((f) =>
      f.names.map((n) => ({ value: n, description: f.description })),
    );
    // Offer long names unless the user typed a single dash followed by nothing or a letter.
    const wanted = current === "-" ? all.filter((c) => c.value.startsWith("--")) : all;
    return filter(wanted, current);
  }
  if (!command) {
    return filter(
      spec.commands.map((c) => ({ value: c.name, description: c.description })),
      current,
    );
  }
  const args = ARGS[command.name];
  const source = args?.positional[positional] ?? args?.variadic;
  if (!source) return { kind: "words", candidates: [] };
  if (source.kind === "choices") {
    return filter(
      source.values.map((v) => ({ value: v, description: "" })),
      current,
    );
  }
  return { kind: "source", source, prefix: current };
}

/** The -F / --config value typed on the command line, so Hosts come from that file. */
export function configFlag(words: readonly string[]): string | undefined {
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i]!;
    if (w === "-F" || w === "--config") return words[i + 1];
    if (w.startsWith("--config=")) return w.slice("--config=".length);
  }
  return undefined;
}

/** Literal Host names of the config; with `forwardsOnly`, those that have a forward. */
export async function hostNames(ctx: Ctx, forwardsOnly: boolean): Promise<string[]> {
  const { listHosts, resolveHost } = await import("../sshconfig/resolve.ts");
  const base = {
    configFile: ctx.configFile,
    env: ctx.env,
    paths: ctx.paths,
    localUser: localUser(ctx.env),
    localHostname: hostname(),
  };
  const names = [...new Set((await listHosts(base)).map((h) => h.name))];
  if (!forwardsOnly) return names;
  const out: string[] = [];
  for (const name of names) {
    try {
      const { options } = await resolveHost({ ...base, host: name });
      if (["localforward", "remoteforward", "dynamicforward"].some((k) => options.has(k))) {
        out.push(name);
      }
    } catch {
      // A Host that does not resolve is not something `fwd run` can start.
    }
  }
  return out;
}

async function runningNames(ctx: Ctx): Promise<string[]> {
  const { knownNames } = await import("../daemon/state.ts");
  return knownNames(ctx.paths.stateDir);
}

async function expand(ctx: Ctx, source: ArgSource): Promise<string[] | "files"> {
  switch (source.kind) {
    case "files":
      return "files";
    case "hosts":
      return hostNames(ctx, false);
    case "forwards":
      return hostNames(ctx, true);
    case "running":
      return runningNames(ctx);
    case "choices":
      return source.values;
  }
}

/**
 * `fwd __complete -- WORD...` prints `:words`/`:files` then candidates;
 * `fwd __complete hosts|forwards|running` prints those names, one a line.
 */
export async function completeCommand(
  ctx: Ctx,
  cli: CacLike,
  what: string | undefined,
  words: string[],
): Promise<number> {
  let lines: string[];
  try {
    if (what === "hosts" || what === "forwards" || what === "running") {
      const got = await expand(ctx, { kind: what });
      lines = got === "files" ? [] : got;
    } else {
      const typed = configFlag(words);
      const c = completeWords(specFrom(cli), words);
      // The shell leaves `~` unexpanded in the words it hands over.
      const file = typed?.replace(/^~(?=\/|$)/, ctx.paths.home);
      const scoped = file === undefined ? ctx : { ...ctx, configFile: file };
      if (c.kind === "words") {
        lines = [":words", ...c.candidates.map((x) => `${x.value}\t${x.description}`)];
      } else {
        const got = await expand(scoped, c.source);
        lines =
          got === "files"
            ? [":files"]
            : [":words", ...got.filter((n) => n.startsWith(c.prefix)).map((n) => `${n}\t`)];
      }
    }
  } catch {
    lines = what === undefined ? [":words"] : [];
  }
  ctx.stdout.write(lines.length ? `${lines.join("\n")}\n` : "");
  return 0;
}
