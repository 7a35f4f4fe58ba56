import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FwdError } from "../../src/errors.ts";
import { resolvePaths } from "../../src/paths.ts";
import { agentLabel, renderPlist } from "../../src/service/launchd.ts";
import { execWord, renderUnit, unitName } from "../../src/service/systemd.ts";
import { managerFor, serviceTarget } from "../../src/service/target.ts";

const work = mkdtempSync(join(tmpdir(), "fwd-service-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** [Section] -> key -> values, as systemd reads a unit (comments skipped, keys may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const s = line.match(/^\[(.+)\]$/);
    if (s) {
      section = s[1]!;
      out[section] = {};
      continue;
    }
    const eq = line.indexOf("=");
    const k = line.slice(0, eq);
    const values = out[section]![k] ?? [];
    values.push(line.slice(eq + 1));
    out[section]![k] = values;
  }
  return out;
}

/** The plist as Apple's format defines it, read by Python's plistlib (skipped without python3). */
const python = Bun.which("python3");
function readPlist(text: string): Record<string, unknown> {
  const file = join(work, `p${Math.random()}.plist`);
  writeFileSync(file, text);
  const code = "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))";
  const p = Bun.spawnSync([python!, "-c", code, file], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return JSON.parse(p.stdout.toString());
}

describe("systemd unit", () => {
  const argv = ["/home/u/.local/bin/fwd", "run", "forward1"];
  const unit = parseUnit(renderUnit({ name: "forward1", argv }));

  test("is named fwd-NAME.service", () => {
    expect(unitName("forward1")).toBe("fwd-forward1.service");
  });

  test("runs fwd run NAME in the foreground and restarts it on failure after 5 s", () => {
    expect(unit.Service).toEqual({
      Type: ["simple"],
      ExecStart: ["/home/u/.local/bin/fwd run forward1"],
      ExecReload: ["kill -HUP $MAINPID"],
      Restart: ["on-failure"],
      RestartSec: ["5"],
      RestartPreventExitStatus: ["2 3 4"],
    });
  });

  test("is wanted by the user's default target (starts at login)", () => {
    expect(unit.Install).toEqual({ WantedBy: ["default.target"] });
    expect(unit.Unit?.Description?.[0]).toContain("forward1");
  });

  test.each([
    ["/usr/bin/fwd", false, "/usr/bin/fwd"],
    ["forward1", false, "forward1"],
    ["/home/me/my tools/fwd", true, '"/home/me/my tools/fwd"'],
    ["/opt/100%/fwd", true, "/opt/100%%/fwd"],
    ["/opt/a$b/fwd", true, "/opt/a$b/fwd"],
    ["a$b", false, "a$$b"],
    ["%h", false, "%%h"],
    ['say "hi"', false, '"say \\"hi\\""'],
    ["back\\slash", false, '"back\\\\slash"'],
  ])("ExecStart word %p (executable: %p) -> %p", (arg, executable, want) => {
    expect(execWord(arg, executable)).toBe(want);
  });

  test.each([
    ["a\nExecStartPre=/bin/evil", false],
    ["tab\there", false],
    ['/opt/q"uote/fwd', true],
    ["/opt/back\\slash/fwd", true],
  ])("refuses %j (it would change the unit or systemd refuses it)", (arg, executable) => {
    expect(() => execWord(arg, executable)).toThrow(FwdError);
  });

  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)(
    "passes systemd-analyze verify, even with a space and % in the path",
    () => {
      const bin = join(work, "my tools 100%");
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, "fwd"), "#!/bin/sh\nexit 0\n");
      chmodSync(join(bin, "fwd"), 0o755);
      const file = join(work, "fwd-forward1.service");
      writeFileSync(file, renderUnit({ name: "forward1", argv: [join(bin, "fwd"), "run", "a$b"] }));
      const p = Bun.spawnSync([analyze!, "verify", file], { stdout: "pipe", stderr: "pipe" });
      // Unknown keys and unparsable lines are warnings on stderr with exit 0: require silence.
      expect(p.stderr.toString()).toBe("");
      expect(p.exitCode).toBe(0);
    },
  );
});

describe("launchd agent", () => {
  const argv = ["/Users/me/.local/bin/fwd", "-F", "/Users/me/a&b <c>.conf", "run", "forward1"];
  const text = renderPlist({
    name: "forward1",
    argv,
    logFile: "/Users/me/Library/Logs/fwd/forward1.log",
  });

  test("is labelled dev.fwd.NAME", () => {
    expect(agentLabel("forward1")).toBe("dev.fwd.forward1");
  });

  test("is well-formed XML whose root is a plist dict", () => {
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')).toBe(true);
    expect(text).toContain('<plist version="1.0">');
    // Every element closes, escaping held: no raw & or < inside text.
    expect(text).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
  });

  test.skipIf(!python)("parses as a plist with the expected keys", () => {
    expect(readPlist(text)).toEqual({
      Label: "dev.fwd.forward1",
      ProgramArguments: argv,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ProcessType: "Background",
      StandardOutPath: "/Users/me/Library/Logs/fwd/forward1.log",
      StandardErrorPath: "/Users/me/Library/Logs/fwd/forward1.log",
    });
  });
});

describe("service target", () => {
  const env = { HOME: "/home/u" };
  const base = {
    env,
    paths: resolvePaths(env),
    uid: 501,
    name: "forward1",
    argv: ["/f", "run", "forward1"],
  };

  test("Linux: a systemd user unit, enabled and (re)started", () => {
    const t = serviceTarget({ ...base, platform: "linux" });
    expect(t.file).toBe("/home/u/.config/systemd/user/fwd-forward1.service");
    expect(t.install(true).map((s) => s.argv.join(" "))).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable fwd-forward1.service",
      "systemctl --user restart fwd-forward1.service",
    ]);
    expect(t.install(false).map((s) => s.argv.at(-2))).toEqual(["--user", "enable"]);
    expect(t.uninstall.map((s) => s.argv.join(" "))).toEqual([
      "systemctl --user disable --now fwd-forward1.service",
    ]);
    expect(t.forget.map((s) => s.argv.join(" "))).toEqual(["systemctl --user daemon-reload"]);
  });

  test("Linux: honours XDG_CONFIG_HOME", () => {
    const t = serviceTarget({ ...base, env: { ...env, XDG_CONFIG_HOME: "/x" }, platform: "linux" });
    expect(t.file).toBe("/x/systemd/user/fwd-forward1.service");
  });

  test("macOS: a LaunchAgent, booted out then bootstrapped in the GUI domain", () => {
    const t = serviceTarget({ ...base, platform: "darwin" });
    expect(t.file).toBe("/home/u/Library/LaunchAgents/dev.fwd.forward1.plist");
    expect(t.install(true).map((s) => s.argv.join(" "))).toEqual([
      "launchctl bootout gui/501/dev.fwd.forward1",
      `launchctl bootstrap gui/501 ${t.file}`,
    ]);
    expect(t.uninstall.map((s) => s.argv.join(" "))).toEqual([
      "launchctl bootout gui/501/dev.fwd.forward1",
    ]);
  });

  test("other platforms are a usage error", () => {
    expect(() => managerFor("win32")).toThrow(/does not support win32/);
  });
});
