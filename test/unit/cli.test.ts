/**
 * CLI wiring, driven as a user would: `bun src/main.ts ...` with a temp HOME
 * and no TTY. Covers the DESIGN.md §3 surface that every command shares:
 * help, version, usage errors (exit 2, one line + hint, nothing on stdout).
 */
import { afterAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { runFwd } from "../helpers/fwd.ts";
import { tempHome } from "../helpers/home.ts";

const home = tempHome("fwd-cli-");
afterAll(() => home.cleanup());
const fwd = (...args: string[]) => runFwd(args, { env: home.env });

const COMMANDS = ["init", "run", "stop", "status", "logs", "check", "config", "demo", "version"];

describe("help", () => {
  test("--help lists every command of the contract and exits 0", async () => {
    const r = await fwd("--help");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, "m"));
    expect(r.stdout).not.toContain("__complete");
  });

  test("no arguments prints the same help and exits 0", async () => {
    const [bare, help] = await Promise.all([fwd(), fwd("--help")]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toBe(help.stdout);
  });

  test.each([
    ["run", ["--background", "--accept-new", "-L <spec>"]],
    [
      "init",
      ["--bastion", "--identity", "--target", "--local", "--ssh-target", "--print", "--yes"],
    ],
    ["stop", ["--all"]],
    ["status", ["--json"]],
  ])("%s --help shows its flags", async (cmd, flags) => {
    const r = await fwd(cmd, "--help");
    expect(r.code).toBe(0);
    for (const f of flags) expect(r.stdout).toContain(f);
  });

  test("--no-X flags are not shown as on by default (cac's `(default: true)`)", async () => {
    const [top, service] = await Promise.all([fwd("--help"), fwd("service", "--help")]);
    expect(top.stdout).toMatch(/^\s+--no-color\s+No colours/m);
    expect(service.stdout).toMatch(/^\s+--no-start\s+install: start it at next login, not now$/m);
    expect(top.stdout + service.stdout).not.toContain("(default: true)");
  });
});

describe("version", () => {
  test.each([["--version"], ["-V"], ["version"]])(
    "%s prints fwd, the package version and the runtime",
    async (flag) => {
      const r = await fwd(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`fwd ${pkg.version} (`);
      expect(r.stdout).toContain("source");
      expect(r.stdout).toContain(`bun ${Bun.version}`);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
    },
  );

  test("version --json prints one object with the documented keys", async () => {
    const r = await fwd("version", "--json");
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({
      version: pkg.version,
      commit: "source",
      target: `${process.platform}-${process.arch}`,
    });
    expect(Object.keys(v)).toEqual(
      expect.arrayContaining(["version", "commit", "date", "target", "runtime"]),
    );
  });
});

describe("usage errors exit 2 with a hint and nothing on stdout", () => {
  test.each([
    ["an unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["an unknown global flag", ["--frobnicate"], /unknown option/i],
    ["an unknown flag of a command", ["status", "--frobnicate"], /unknown option/i],
    ["a missing required argument", ["run"], /missing required arg/i],
    ["a missing option value", ["init", "--bastion"], /bastion/],
    ["an unknown config action", ["config", "explode", "host"], /unknown config action "explode"/],
  ])("%s", async (_what, args, message) => {
    const r = await fwd(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("hint:");
    // One message and one hint, never a stack trace.
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
