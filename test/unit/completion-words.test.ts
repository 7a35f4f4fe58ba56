import { describe, expect, test } from "bun:test";
import { buildCli } from "../../src/cli.ts";
import {
  type Completion,
  completeWords,
  configFlag,
  specFrom,
} from "../../src/commands/complete.ts";
import { completionCommand, completionScript, SHELLS } from "../../src/commands/completion.ts";
import type { Ctx } from "../../src/context.ts";
import { FwdError } from "../../src/errors.ts";

const spec = specFrom(buildCli(["fwd"]));

/** Values offered, or the dynamic source asked for. */
function offered(words: string[]): string[] | string {
  const c: Completion = completeWords(spec, words);
  return c.kind === "words" ? c.candidates.map((x) => x.value) : `${c.source.kind}:${c.prefix}`;
}

describe("completion model from the cac definitions", () => {
  test("lists every visible command, and no hidden one", () => {
    const names = spec.commands.map((c) => c.name);
    for (const n of ["init", "run", "stop", "status", "logs", "check", "config", "completion"]) {
      expect(names).toContain(n);
    }
    expect(names.some((n) => n.startsWith("__"))).toBe(false);
  });

  test("drops (internal) flags such as --daemon-child", () => {
    const run = spec.commands.find((c) => c.name === "run")!;
    const flags = run.flags.flatMap((f) => f.names);
    expect(flags).toContain("--background");
    expect(flags).toContain("-d");
    expect(flags).not.toContain("--daemon-child");
  });

  test("knows which flags take a value", () => {
    const F = spec.globalFlags.find((f) => f.names.includes("-F"))!;
    expect(F).toMatchObject({ names: ["-F", "--config"], takesValue: true });
    const q = spec.globalFlags.find((f) => f.names.includes("-q"))!;
    expect(q.takesValue).toBe(false);
  });
});

describe("completeWords", () => {
  test.each<[string[], string[] | string]>([
    [[""], spec.commands.map((c) => c.name)],
    [["r"], ["run"]],
    [["s"], ["stop", "status", "service"]],
    [["co"], ["config", "completion"]],
    [["nope", ""], []],
    // Host names: forwards for run/check/service, running ones for stop/status/logs.
    [["run", ""], "forwards:"],
    [["run", "fo"], "forwards:fo"],
    [["check", "x"], "forwards:x"],
    [["stop", ""], "running:"],
    [["stop", "a", "b", ""], "running:"],
    [["status", ""], "running:"],
    [["logs", "f"], "running:f"],
    [["config", ""], ["resolve"]],
    [["config", "resolve", ""], "hosts:"],
    [
      ["completion", ""],
      ["bash", "zsh", "fish"],
    ],
    [["completion", "f"], ["fish"]],
    [
      ["service", ""],
      ["install", "uninstall", "status"],
    ],
    [["service", "install", "f"], "forwards:f"],
    // A second positional where the command takes one: nothing.
    [["run", "forward1", ""], []],
    [["logs", "forward1", ""], []],
    // Flags and their values.
    [["run", "--b"], ["--background"]],
    [["run", "--acc"], ["--accept-new"]],
    [["--q"], ["--quiet"]],
    [["-F", ""], "files:"],
    [["--config", "~/"], "files:~/"],
    [["init", "--identity", ""], "files:"],
    [["run", "-L", ""], []],
    [["-F", "cfg", "run", ""], "forwards:"],
    [["run", "-o", "Port=1", "-d", ""], "forwards:"],
    [["--config=cfg", "run", "x"], "forwards:x"],
  ])("%j -> %j", (words, want) => {
    expect(offered(words)).toEqual(want);
  });

  test("a lone dash offers long flags, a letter after it offers short ones too", () => {
    const dash = offered(["run", "-"]) as string[];
    expect(dash).toContain("--background");
    expect(dash).not.toContain("-d");
    expect(offered(["run", "-d"])).toEqual(["-d"]);
  });

  test("descriptions come from the command definitions", () => {
    const c = completeWords(spec, ["ru"]);
    expect(c).toEqual({
      kind: "words",
      candidates: [
        { value: "run", description: spec.commands.find((x) => x.name === "run")!.description },
      ],
    });
  });
});

describe("configFlag", () => {
  test.each<[string[], string | undefined]>([
    [["run", ""], undefined],
    [["-F", "a", "run", ""], "a"],
    [["--config", "b", "run", ""], "b"],
    [["--config=c", "run", ""], "c"],
    // The word being completed is not a value yet.
    [["-F"], undefined],
  ])("%j -> %p", (words, want) => {
    expect(configFlag(words)).toBe(want);
  });
});

describe("completion scripts", () => {
  test.each([...SHELLS])("%s script calls the hidden entry and registers for fwd", (shell) => {
    const s = completionScript(shell);
    expect(s).toContain("fwd __complete --");
    expect(s).toMatch(/complete -F _fwd_complete fwd|compdef _fwd fwd|complete -c fwd/);
  });
});

test("an unknown shell is a usage error naming the supported ones", () => {
  const ctx = { stdout: { write: () => true } } as unknown as Ctx;
  expect(() => completionCommand(ctx, "powershell")).toThrow(FwdError);
  try {
    completionCommand(ctx, "powershell");
  } catch (e) {
    expect((e as FwdError).exitCode).toBe(2);
    expect((e as FwdError).hint).toContain("fwd completion zsh");
  }
});
