import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  exactStrings,
  missingFlags,
  readFlags,
  validateFlags,
} from "../../src/commands/init-flags.ts";
import type { FwdError } from "../../src/errors.ts";

const home = mkdtempSync(join(tmpdir(), "fwd-flags-"));
const sshDir = join(home, ".ssh");
mkdirSync(sshDir);
writeFileSync(join(home, "key"), "k", { mode: 0o600 });
const env = { home, sshDir, cwd: home, user: "me" };
const base = { bastion: "u@b", identity: "~/key", target: "t:22" };
const values = (o: Record<string, unknown>) => validateFlags(readFlags({ ...base, ...o }), env);
const rejects = (o: Record<string, unknown>) => {
  try {
    values(o);
  } catch (e) {
    expect((e as FwdError).exitCode).toBe(2);
    return (e as FwdError).message;
  }
  throw new Error("accepted");
};

describe("values exactly as typed", () => {
  test.each([
    [{ sshTarget: 123 }, ["--ssh-target", "0123"], "0123"],
    [{ name: 1000 }, ["--name=1e3"], "1e3"],
    [{ alive: 60 }, ["--alive", "60"], "60"],
  ])("%o from %p is %p", (o, argv, want) => {
    const key = Object.keys(o)[0]!;
    expect(exactStrings(o, ["init", ...argv])[key]).toBe(want);
  });

  test("repeated flags keep their order; values after -- are ignored", () => {
    const o = { target: ["a:1", "b:2"] };
    expect(
      exactStrings(o, ["--target", "a:1", "--target", "b:2", "--", "--target", "c:3"]).target,
    ).toEqual(["a:1", "b:2"]);
  });

  test("without raw args the parsed values are kept", () => {
    expect(exactStrings({ name: 5 }, undefined)).toEqual({ name: 5 });
  });
});

describe("flags to values", () => {
  test("defaults: forward1, local port = target port + 10000 on loopback, alive 15, no second Host", () => {
    const { values: v } = values({});
    expect(v.name).toBe("forward1");
    expect(v.forwards).toEqual([{ bind: "127.0.0.1", port: 10022, host: "t", hostPort: 22 }]);
    expect(v.alive).toBe(15);
    expect(v.second).toBeUndefined();
  });

  test("--ssh-target adds the second Host named after the first", () => {
    expect(values({ name: "web7", sshTarget: "root" }).values.second).toEqual({
      name: "web8",
      user: "root",
    });
  });

  test("--target and --local pair up in order; --forward adds more", () => {
    const { values: v } = values({
      target: ["t:22", "t:8080"],
      local: ["2222", "8888"],
      forward: "9000:w:80",
    });
    expect(v.forwards.map((f) => `${f.port}>${f.host}:${f.hostPort}`)).toEqual([
      "2222>t:22",
      "8888>t:8080",
      "9000>w:80",
    ]);
  });

  test("a forward on a non-loopback address is accepted with a warning", () => {
    expect(values({ local: "0.0.0.0:10022" }).warnings[0]).toContain("not loopback");
  });

  test.each([
    [{ name: ["a", "b"] }, "more than once"],
    [{ local: ["1", "2"] }, "--local"],
    [{ target: ["t:22", "u:22"], local: undefined, forward: "10022:x:1" }, "used twice"],
    [{ sshName: "x" }, "--ssh-target"],
    [{ sshTarget: "u", sshName: "FORWARD1" }, "same as --name"],
    [{ target: "t:60000" }, "no default local port"],
    [{ bastion: true }, "needs a value"],
  ])("%o is refused", (o, why) => {
    expect(rejects(o)).toContain(why);
  });

  test("a missing --identity falls back to ~/.ssh/id_ed25519 when it exists", () => {
    const h = mkdtempSync(join(tmpdir(), "fwd-flags-"));
    mkdirSync(join(h, ".ssh"));
    const f = readFlags({ bastion: "u@b", target: "t:22" });
    expect(missingFlags(f, join(h, ".ssh"))).toEqual(["--identity PATH"]);
    writeFileSync(join(h, ".ssh/id_ed25519"), "k", { mode: 0o600 });
    expect(missingFlags(f, join(h, ".ssh"))).toEqual([]);
    const v = validateFlags(f, { home: h, sshDir: join(h, ".ssh"), cwd: h, user: "me" }).values;
    expect(v.identity.written).toBe("~/.ssh/id_ed25519");
  });
});
