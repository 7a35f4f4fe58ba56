import { describe, expect, test } from "bun:test";
import { commandOf, JSC_OPTIONS, jscPlan, tidy, tunedEnv } from "../../src/jsc.ts";

const argv = (...a: string[]) => ["/usr/local/bin/fwd", "/$bunfs/root/fwd", ...a];
const BOTH = "BUN_JSC_useFTLJIT,BUN_JSC_numberOfGCMarkers";

describe("JavaScriptCore's options for `fwd run` (src/jsc.ts)", () => {
  test("the command word skips options", () => {
    expect(commandOf(argv("run", "forward1"))).toBe("run");
    expect(commandOf(argv("-q", "run", "-d", "forward1"))).toBe("run");
    expect(commandOf(argv("--version"))).toBeUndefined();
    expect(commandOf(argv("status", "run"))).toBe("status");
  });

  test("a tunnel gets FTL off and one GC marker, and a mark listing what fwd added", () => {
    expect(JSC_OPTIONS).toEqual({ BUN_JSC_useFTLJIT: "0", BUN_JSC_numberOfGCMarkers: "1" });
    expect(tunedEnv({ PATH: "/bin" })).toEqual({ ...JSC_OPTIONS, FWD_JSC_TUNED: BOTH });
  });

  test("an option the user set is left as set, and only the others are added", () => {
    expect(tunedEnv({ BUN_JSC_useFTLJIT: "1" })).toEqual({
      BUN_JSC_numberOfGCMarkers: "1",
      FWD_JSC_TUNED: "BUN_JSC_numberOfGCMarkers",
    });
    expect(tunedEnv({ BUN_JSC_useFTLJIT: "1", BUN_JSC_numberOfGCMarkers: "4" })).toEqual({});
  });

  test("only `run` in the compiled binary re-executes, and only once", () => {
    expect(jscPlan(argv("run", "forward1"), {}, true)).toBe("reexec");
    expect(jscPlan(argv("-v", "run", "forward1"), {}, true)).toBe("reexec");
    // One option left to add is reason enough; none is not.
    expect(jscPlan(argv("run", "forward1"), { BUN_JSC_useFTLJIT: "1" }, true)).toBe("reexec");
    expect(jscPlan(argv("run", "forward1"), { ...JSC_OPTIONS }, true)).toBe("none");
    // run -d's own process only starts the tunnel's, which gets the options at spawn.
    expect(jscPlan(argv("run", "-d", "forward1"), {}, true)).toBe("none");
    expect(jscPlan(argv("run", "forward1", "--background"), {}, true)).toBe("none");
    // From source or Deno: nothing.
    expect(jscPlan(argv("run", "forward1"), {}, false)).toBe("none");
    for (const cmd of ["status", "stop", "check", "init", "demo", "--version"]) {
      expect(jscPlan(argv(cmd), {}, true)).toBe("none");
    }
    // The re-executed process (or run -d's child) tidies up instead.
    expect(jscPlan(argv("run", "forward1"), tunedEnv({}), true)).toBe("tidy");
    expect(jscPlan(argv("run", "forward1"), tunedEnv({}), false)).toBe("tidy");
  });

  test("tidying takes out what fwd added and nothing the user set", () => {
    const user = { PATH: "/bin", BUN_JSC_useFTLJIT: "1" };
    const env: Record<string, string | undefined> = { ...user, ...tunedEnv(user) };
    expect(env.BUN_JSC_numberOfGCMarkers).toBe("1");
    tidy(env);
    expect(env).toEqual(user);
    // A mark naming anything but fwd's own options takes nothing else with it.
    const odd: Record<string, string | undefined> = {
      PATH: "/bin",
      HOME: "/h",
      FWD_JSC_TUNED: "PATH,HOME",
    };
    tidy(odd);
    expect(odd).toEqual({ PATH: "/bin", HOME: "/h" });
  });
});
