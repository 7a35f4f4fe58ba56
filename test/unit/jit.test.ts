import { describe, expect, test } from "bun:test";
import { childJitEnv, commandOf, JIT_ENV, jitPlan } from "../../src/jit.ts";

const argv = (...a: string[]) => ["/usr/local/bin/fwd", "/$bunfs/root/fwd", ...a];

describe("the JIT setting for `fwd run` (src/jit.ts)", () => {
  test("the command word skips options", () => {
    expect(commandOf(argv("run", "forward1"))).toBe("run");
    expect(commandOf(argv("-q", "run", "-d", "forward1"))).toBe("run");
    expect(commandOf(argv("--version"))).toBeUndefined();
    expect(commandOf(argv("status", "run"))).toBe("status");
  });

  test("only `run` in the compiled binary re-executes, and only once", () => {
    expect(jitPlan(argv("run", "forward1"), {}, true)).toBe("reexec");
    expect(jitPlan(argv("-v", "run", "forward1"), {}, true)).toBe("reexec");
    // run -d's own process only starts the tunnel's, which gets JIT_ENV at spawn.
    expect(jitPlan(argv("run", "-d", "forward1"), {}, true)).toBe("none");
    expect(jitPlan(argv("run", "forward1", "--background"), {}, true)).toBe("none");
    // From source or Deno: nothing.
    expect(jitPlan(argv("run", "forward1"), {}, false)).toBe("none");
    for (const cmd of ["status", "stop", "check", "init", "demo", "--version"]) {
      expect(jitPlan(argv(cmd), {}, true)).toBe("none");
    }
    // The re-executed process (or run -d's child, started with JIT_ENV) tidies up instead.
    expect(jitPlan(argv("run", "forward1"), { ...JIT_ENV }, true)).toBe("tidy");
    expect(jitPlan(argv("run", "forward1"), { ...JIT_ENV }, false)).toBe("tidy");
  });

  test("a BUN_JSC_useFTLJIT the user set is left alone", () => {
    expect(jitPlan(argv("run", "forward1"), { BUN_JSC_useFTLJIT: "1" }, true)).toBe("none");
    expect(jitPlan(argv("run", "forward1"), { BUN_JSC_useFTLJIT: "0" }, true)).toBe("none");
  });

  test("JIT_ENV turns FTL off and marks it as fwd's own; run -d's child gets it unless the user chose", () => {
    expect(JIT_ENV).toEqual({ BUN_JSC_useFTLJIT: "0", FWD_JIT_TUNED: "1" });
    expect(childJitEnv({ PATH: "/bin" })).toEqual(JIT_ENV);
    expect(childJitEnv({ BUN_JSC_useFTLJIT: "1" })).toEqual({});
  });
});
