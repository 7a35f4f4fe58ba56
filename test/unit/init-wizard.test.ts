/** The wizard's flow with scripted answers: order, defaults, re-asking, cancel, flags skipping prompts. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InitFlags } from "../../src/commands/init-flags.ts";
import { FwdError } from "../../src/errors.ts";
import { cancelled, type Prompter } from "../../src/ui/prompts.ts";
import { runWizard, type WizardDeps } from "../../src/ui/wizard.ts";

const DEFAULT = Symbol("accept the default");
const CANCEL = Symbol("Ctrl-C");
type Answer = string | boolean | typeof DEFAULT | typeof CANCEL;

function scripted(answers: Answer[]) {
  const asked: string[] = [];
  const reasons: string[] = [];
  const infos: string[] = [];
  const next = (message: string): Answer => {
    asked.push(message);
    const a = answers.shift();
    if (a === undefined) throw new Error(`unexpected question: ${message}`);
    if (a === CANCEL) throw cancelled();
    return a;
  };
  const prompter: Prompter = {
    async text(q) {
      for (;;) {
        const a = next(q.message);
        const v = a === DEFAULT ? (q.initial ?? "") : String(a);
        const why = q.validate?.(v);
        if (!why) return v;
        reasons.push(why);
      }
    },
    async select(q) {
      const a = next(q.message);
      const v = a === DEFAULT ? (q.initial ?? q.options[0]!.value) : a;
      const opt = q.options.find((o) => o.value === v || o.label === v);
      if (!opt) throw new Error(`no option ${String(v)} in ${q.message}`);
      return opt.value;
    },
    async confirm(q) {
      const a = next(q.message);
      return a === DEFAULT ? (q.initial ?? true) : Boolean(a);
    },
    info(m) {
      infos.push(m);
    },
  };
  return { prompter, asked, reasons, infos, left: answers };
}

const home = mkdtempSync(join(tmpdir(), "fwd-wizard-"));
writeFileSync(join(home, "key"), "k", { mode: 0o600 });

const empty: InitFlags = {
  name: undefined,
  bastion: undefined,
  identity: undefined,
  target: [],
  local: [],
  forward: [],
  sshTarget: undefined,
  sshName: undefined,
  alive: undefined,
};

function deps(s: ReturnType<typeof scripted>, over: Partial<WizardDeps> = {}): WizardDeps {
  return {
    prompter: s.prompter,
    user: "me",
    home,
    cwd: home,
    knownHosts: [],
    keys: [],
    takenNames: [],
    portFree: async () => true,
    checkRoute: async () => true,
    ...over,
  };
}

describe("fwd init wizard", () => {
  test("the seed's happy path: bastion, key, ssh target and web target, second Host", async () => {
    const s = scripted([
      "bastion_user@bastion-host",
      "~/key",
      "target-host:22",
      DEFAULT, // local port 10022
      true, // another forward
      "target-host:8080",
      DEFAULT, // 18080
      false,
      true, // also a Host for ssh to the target
      "target_user",
      DEFAULT, // forward1
      DEFAULT, // forward2
    ]);
    const f = await runWizard(empty, deps(s));
    expect(f).toEqual({
      ...empty,
      bastion: "bastion_user@bastion-host",
      identity: "~/key",
      target: ["target-host:22", "target-host:8080"],
      local: ["10022", "18080"],
      sshTarget: "target_user",
      name: "forward1",
      sshName: "forward2",
    });
    expect(s.left).toEqual([]);
    expect(s.reasons).toEqual([]);
  });

  test("a bad answer is re-asked with the reason", async () => {
    const s = scripted([
      "bastion_user@bastion-host:22x",
      "bastion_user@bastion-host:2222",
      "~/missing",
      "~/key",
      "target-host",
      "target-host:22",
      "70000",
      "10022",
      false,
      false,
      "forward 1",
      "forward1",
    ]);
    const f = await runWizard(empty, deps(s));
    expect(f.bastion).toBe("bastion_user@bastion-host:2222");
    expect(f.local).toEqual(["10022"]);
    expect(s.reasons).toHaveLength(5);
    expect(s.reasons[0]).toContain("not a port");
    expect(s.reasons[1]).toContain("does not exist");
    expect(s.reasons[2]).toContain("has no port");
    expect(s.reasons[4]).toContain("not a valid name");
    expect(s.reasons.every((r) => !r.startsWith("--"))).toBe(true);
  });

  test("a busy local port is refused and the suggestion skips it", async () => {
    const s = scripted(["u@b", "~/key", "t:22", DEFAULT, false, false, DEFAULT]);
    const f = await runWizard(empty, deps(s, { portFree: async (p) => p !== 10022 }));
    expect(f.local).toEqual(["10023"]);
  });

  test("Ctrl-C in the middle cancels with exit 130", async () => {
    const s = scripted(["u@b", CANCEL]);
    const e = await runWizard(empty, deps(s)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FwdError);
    expect((e as FwdError).exitCode).toBe(130);
  });

  test("flags given on the command line skip their prompts", async () => {
    const s = scripted([false]);
    const f = await runWizard(
      { ...empty, bastion: "u@b", identity: "~/key", target: ["t:80"], name: "web" },
      deps(s),
    );
    expect(s.asked).toEqual(["Also create a Host to ssh to t:80 through the forward?"]);
    expect(f.target).toEqual(["t:80"]);
  });

  test("existing Hosts are offered as the bastion; names already taken are not suggested", async () => {
    const s = scripted(["u@jump:2200", "~/key", "t:22", DEFAULT, false, false, DEFAULT]);
    const f = await runWizard(
      empty,
      deps(s, {
        knownHosts: [{ name: "jump", target: "u@jump:2200" }],
        keys: ["~/key"],
        takenNames: ["forward1"],
      }),
    );
    expect(f.bastion).toBe("u@jump:2200");
    expect(f.name).toBe("forward2");
  });

  test("a failing route check lets the user change the target, then goes on", async () => {
    let checks = 0;
    const s = scripted([
      "u@b",
      "~/key",
      "wrong:22",
      DEFAULT,
      false,
      "target",
      "right:22",
      DEFAULT,
      false,
      false,
      DEFAULT,
    ]);
    const f = await runWizard(
      empty,
      deps(s, {
        checkRoute: async (d) => {
          checks++;
          return d.target[0] === "right:22";
        },
      }),
    );
    expect(checks).toBe(2);
    expect(f.target).toEqual(["right:22"]);
  });

  test("the bastion is checked before the targets; a failure lets the user fix it", async () => {
    const tried: string[] = [];
    const s = scripted([
      "u@wrong",
      "~/key",
      "retry",
      "u@right",
      "~/key",
      "t:22",
      DEFAULT,
      false,
      false,
      DEFAULT,
    ]);
    const f = await runWizard(
      empty,
      deps(s, {
        checkBastion: async (d) => {
          tried.push(d.bastion!);
          return d.bastion === "u@right";
        },
      }),
    );
    expect(tried).toEqual(["u@wrong", "u@right"]);
    expect(f.bastion).toBe("u@right");
    expect(s.infos).toContain("Connecting to u@wrong…");
    expect(s.asked.indexOf("The bastion does not work yet. What now?")).toBeLessThan(
      s.asked.indexOf("Target as host:port, as the bastion sees it"),
    );
  });

  test("bastion and key given as flags: no bastion check, straight to the target", async () => {
    let checked = false;
    const s = scripted(["t:22", DEFAULT, false, false, DEFAULT]);
    await runWizard(
      { ...empty, bastion: "u@b", identity: "~/key" },
      deps(s, {
        checkBastion: async () => {
          checked = true;
          return true;
        },
      }),
    );
    expect(checked).toBe(false);
  });

  test("quitting after a failed check cancels", async () => {
    const s = scripted(["u@b", "~/key", "t:22", DEFAULT, false, "quit"]);
    const e = await runWizard(empty, deps(s, { checkRoute: async () => false })).catch(
      (x: unknown) => x,
    );
    expect((e as FwdError).exitCode).toBe(130);
  });
});
