/**
 * The completion scripts in a real interactive bash and zsh (zsh with compinit),
 * driven through tmux as a user would: type, press TAB, read the screen.
 * Skipped when tmux or the shell is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const tmux = Bun.which("tmux");
let dir: string;
let serverPid: number | undefined;
let sessions = 0;

function tm(...args: string[]): string {
  const p = Bun.spawnSync([tmux!, "-S", join(dir, "tmux.sock"), "-f", "/dev/null", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${p.stderr}`);
  return p.stdout.toString();
}

/** Polls the pane until `want` matches (no fixed sleeps), or fails with the screen. */
async function screenUntil(pane: string, want: RegExp, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const screen = tm("capture-pane", "-p", "-t", pane);
    if (want.test(screen)) return screen;
    if (Date.now() > until) throw new Error(`screen never matched ${want}:\n${screen}`);
    await Bun.sleep(50);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fwd-completion-tty-"));
  const home = join(dir, "home");
  const bin = join(dir, "bin");
  mkdirSync(join(home, ".ssh"), { recursive: true });
  mkdirSync(bin);
  writeFileSync(
    join(home, ".ssh", "config"),
    "Host forward1\n  LocalForward 18080 web:80\nHost socks\n  DynamicForward 1080\nHost plain\n  HostName p\n",
  );
  writeFileSync(
    join(bin, "fwd"),
    `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "src", "main.ts")}" "$@"\n`,
  );
  chmodSync(join(bin, "fwd"), 0o755);
  for (const shell of ["bash", "zsh"]) {
    const p = Bun.spawnSync([join(bin, "fwd"), "completion", shell], { stdout: "pipe" });
    writeFileSync(join(dir, `fwd.${shell}`), p.stdout);
  }
});

afterAll(() => {
  if (serverPid) process.kill(serverPid, "SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

/** A window running `shell` in the temp HOME, the script loaded, at a fresh prompt. */
async function open(shell: "bash" | "zsh"): Promise<string> {
  const env = [
    `HOME=${join(dir, "home")}`,
    `PATH=${join(dir, "bin")}:/usr/bin:/bin`,
    "FWD_SYSTEM_CONFIG=none",
    `FWD_STATE_DIR=${join(dir, "state")}`,
    "TERM=xterm",
    "PS1='$ '",
    "PROMPT='$ '",
  ].join(" ");
  const cmd = shell === "bash" ? "bash --norc --noprofile -i" : "zsh -f -i";
  const name = `${shell}${sessions++}`;
  tm("new-session", "-d", "-s", name, "-x", "160", "-y", "40", `env -i ${env} ${cmd}`);
  const pane = name;
  serverPid ??= Number(tm("display-message", "-p", "#{pid}").trim());
  const load =
    shell === "zsh"
      ? `autoload -U compinit && compinit -u && source ${join(dir, "fwd.zsh")}`
      : `source ${join(dir, "fwd.bash")}`;
  tm("send-keys", "-t", pane, `${load} && clear && echo LOADED`, "Enter");
  await screenUntil(pane, /^LOADED$/m);
  return pane;
}

const cases: Array<["bash" | "zsh"]> = [["bash"], ["zsh"]];
describe.skipIf(!tmux)("interactive completion", () => {
  test.each(cases)(
    "%s: TAB completes a command, then a Host with forwards",
    async (shell) => {
      if (!Bun.which(shell)) return;
      const pane = await open(shell);
      tm("send-keys", "-t", pane, "fwd ru", "Tab");
      await screenUntil(pane, /\$ fwd run$/m); // capture-pane trims the trailing space
      tm("send-keys", "-t", pane, "f", "Tab");
      await screenUntil(pane, /\$ fwd run forward1$/m);
    },
    30_000,
  );

  test.each(cases)(
    "%s: TAB TAB lists the Hosts with forwards only",
    async (shell) => {
      if (!Bun.which(shell)) return;
      const pane = await open(shell);
      tm("send-keys", "-t", pane, "fwd check ", "Tab", "Tab");
      const screen = await screenUntil(pane, /forward1\s+socks/);
      expect(screen).not.toContain("plain");
    },
    30_000,
  );
});
