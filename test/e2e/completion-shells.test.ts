/**
 * `fwd completion bash|zsh|fish` loaded into the real shell and asked for
 * completions, with `fwd` on PATH (the compiled dist binary when it has
 * `__complete`, else the source through bun) and a temp HOME whose
 * ~/.ssh/config has Hosts with and without forwards.
 * bash: the completion function called with COMP_WORDS/COMP_CWORD set;
 * zsh: `_fwd` called with words/CURRENT set and compadd/_files shimmed;
 * fish: its own engine, `complete -C`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const DIST = join(process.env.FWD_DIST_DIR ?? join(ROOT, "dist"), "fwd-linux-x64");

let dir: string;
let env: Record<string, string>;
const scripts: Record<string, string> = {};

const CONFIG = `Host forward1
  HostName target.example
  LocalForward 127.0.0.1:18080 web.internal:80
Host plain
  HostName plain.example
Host socks
  DynamicForward 1080
Host *.wild
  LocalForward 9999 x:1
Host *
  ServerAliveInterval 15
`;

/** The fwd that completion scripts will call: dist when it knows __complete, else source. */
function fwdCommand(): string {
  if (!existsSync(DIST)) return `"${process.execPath}" "${join(ROOT, "src", "main.ts")}"`;
  const probe = Bun.spawnSync([DIST, "__complete", "--", "r"], { stdout: "pipe", stderr: "pipe" });
  if (probe.exitCode === 0 && probe.stdout.toString().startsWith(":words")) return `"${DIST}"`;
  return `"${process.execPath}" "${join(ROOT, "src", "main.ts")}"`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fwd-completion-"));
  const home = join(dir, "home");
  const bin = join(dir, "bin");
  const state = join(dir, "state");
  for (const d of [join(home, ".ssh"), bin, state]) mkdirSync(d, { recursive: true });
  writeFileSync(join(home, ".ssh", "config"), CONFIG, { mode: 0o600 });
  writeFileSync(join(dir, "other.conf"), "Host other1\n  LocalForward 1 a:1\n");
  // A background run of forward1, as the daemon records it.
  writeFileSync(join(state, "running1.lock"), JSON.stringify({ name: "running1", pid: 1 }));
  writeFileSync(join(bin, "fwd"), `#!/bin/sh\nexec ${fwdCommand()} "$@"\n`);
  chmodSync(join(bin, "fwd"), 0o755);
  env = {
    HOME: home,
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    FWD_SYSTEM_CONFIG: "none",
    FWD_STATE_DIR: state,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
  };
  for (const shell of ["bash", "zsh", "fish"]) {
    const p = Bun.spawnSync([join(bin, "fwd"), "completion", shell], { env, stdout: "pipe" });
    expect(p.exitCode).toBe(0);
    scripts[shell] = join(dir, `fwd.${shell}`);
    writeFileSync(scripts[shell]!, p.stdout);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(argv: string[]): string {
  const p = Bun.spawnSync(argv, { env, cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv[0]} exited ${p.exitCode}: ${p.stderr}`);
  return p.stdout.toString();
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");
const quoteAll = (words: string[]) => words.map((w) => `'${w}'`).join(" ");

/** COMPREPLY after completing the last of `words` (words after `fwd`). */
function bash(words: string[]): string[] {
  const code = `source '${scripts.bash}'
COMP_WORDS=(fwd ${quoteAll(words)}); COMP_CWORD=${words.length}
_fwd_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  return lines(sh(["bash", "--norc", "--noprofile", "-c", code]));
}

/** What `_fwd` hands to compadd (or FILES when it defers to _files). */
function zsh(words: string[]): string[] {
  const code = `compdef() { : }
compadd() { local name=\${@[-1]}; print -rl -- "\${(@P)name}" }
_files() { print FILES }
source '${scripts.zsh}'
words=(fwd ${quoteAll(words)}); CURRENT=${words.length + 1}
_fwd || true`;
  return lines(sh(["zsh", "-f", "-c", code]));
}

/** fish's own completion engine; values only (descriptions after a tab dropped). */
function fish(line: string): string[] {
  const code = `source '${scripts.fish}'; complete -C '${line}'`;
  return lines(sh(["fish", "--no-config", "-c", code])).map((l) => l.split("\t")[0]!);
}

const hasShell = (s: string) => Bun.which(s) !== null;

describe.skipIf(!hasShell("bash"))("bash completion", () => {
  test("completes commands", () => {
    expect(bash(["ru"])).toEqual(["run"]);
    expect(bash(["s"])).toEqual(["stop", "status", "service"]);
  });
  test("completes Host names that have forwards after run and check", () => {
    expect(bash(["run", ""])).toEqual(["forward1", "socks"]);
    expect(bash(["check", "f"])).toEqual(["forward1"]);
  });
  test("completes running forwards after stop, status and logs", () => {
    expect(bash(["stop", ""])).toEqual(["running1"]);
    expect(bash(["logs", "r"])).toEqual(["running1"]);
  });
  test("completes flags of the command", () => {
    expect(bash(["run", "--back"])).toEqual(["--background"]);
  });
  test("reads Hosts from the -F file typed on the line", () => {
    expect(bash(["-F", join(dir, "other.conf"), "run", ""])).toEqual(["other1"]);
  });
  test("completes file names after -F", () => {
    expect(bash(["-F", join(dir, "other.c")])).toEqual([join(dir, "other.conf")]);
  });
});

describe.skipIf(!hasShell("zsh"))("zsh completion", () => {
  test("completes commands", () => {
    expect(zsh(["ru"])).toEqual(["run"]);
    expect(zsh(["c"])).toEqual(["check", "config", "completion"]);
  });
  test("completes Host names that have forwards after run", () => {
    expect(zsh(["run", ""])).toEqual(["forward1", "socks"]);
  });
  test("completes running forwards after stop", () => {
    expect(zsh(["stop", ""])).toEqual(["running1"]);
  });
  test("completes flags, and defers to _files after -F", () => {
    expect(zsh(["run", "--acc"])).toEqual(["--accept-new"]);
    expect(zsh(["-F", ""])).toEqual(["FILES"]);
  });
});

describe.skipIf(!hasShell("fish"))("fish completion", () => {
  test("completes commands", () => {
    expect(fish("fwd ru")).toEqual(["run"]);
  });
  test("completes Host names that have forwards after run", () => {
    expect(fish("fwd run ")).toEqual(["forward1", "socks"]);
    expect(fish("fwd run so")).toEqual(["socks"]);
  });
  test("completes running forwards after stop", () => {
    expect(fish("fwd stop ")).toEqual(["running1"]);
  });
  test("completes the shells after completion", () => {
    expect(fish("fwd completion ").sort()).toEqual(["bash", "fish", "zsh"]);
  });
  test("completes file names after -F", () => {
    expect(fish(`fwd -F ${join(dir, "other.c")}`)).toEqual([join(dir, "other.conf")]);
  });
});

test("__complete does not load ssh2 (completion stays fast)", () => {
  // At exit, a preload looks for ssh2 among the modules this process loaded.
  const preload = join(dir, "no-ssh2.ts");
  writeFileSync(
    preload,
    `process.on("exit", () => {
  const registry = (globalThis as { Loader?: { registry: Map<string, unknown> } }).Loader?.registry;
  const loaded = [...Object.keys(require.cache), ...(registry ? registry.keys() : [])];
  const hit = loaded.find((k) => k.includes("/node_modules/ssh2/"));
  if (hit) { process.stderr.write(\`ssh2 loaded: \${hit}\\n\`); process.exitCode = 99; }
});\n`,
  );
  const run = (args: string[]) =>
    Bun.spawnSync([process.execPath, "--preload", preload, join(ROOT, "src", "main.ts"), ...args], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
  const p = run(["__complete", "--", "run", ""]);
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  expect(lines(p.stdout.toString())).toEqual([":words", "forward1\t", "socks\t"]);
});

test("__complete stays silent on a config it cannot read (no error in the prompt)", () => {
  const bad = join(dir, "bad.conf");
  writeFileSync(
    bad,
    "Host broken\n  LocalForward\n  Include /nonexistent/*\nHost ok1\n  BogusKeyword x\n",
  );
  for (const words of [
    ["-F", bad, "run", ""],
    ["-F", join(dir, "missing.conf"), "run", ""],
  ]) {
    const p = Bun.spawnSync([join(dir, "bin", "fwd"), "__complete", "--", ...words], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(p.exitCode).toBe(0);
    expect(p.stderr.toString()).toBe("");
    expect(lines(p.stdout.toString())[0]).toBe(":words");
  }
});
