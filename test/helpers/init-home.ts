/** A temp HOME with a key for `fwd init` tests, a Ctx on it, and ssh -G as the oracle. */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../../src/context.ts";
import { capturedCtx } from "./sink.ts";

export const root = join(import.meta.dir, "../..");
export const fixture = (name: string) => join(root, "test/fixtures/edit", name);
export const hasSsh = existsSync("/usr/bin/ssh");

export interface InitHome {
  home: string;
  sshDir: string;
  config: string;
  env: Record<string, string>;
  remove: () => void;
}

export function initHome(opts: { withSshDir?: boolean } = {}): InitHome {
  const home = mkdtempSync(join(tmpdir(), "fwd-init-home-"));
  const sshDir = join(home, ".ssh");
  const keys = join(home, "keys");
  mkdirSync(keys, { mode: 0o700 });
  writeFileSync(join(keys, "id_test"), "not really a key\n", { mode: 0o600 });
  if (opts.withSshDir !== false) mkdirSync(sshDir, { mode: 0o700 });
  const env = { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", USER: "tester" };
  return {
    home,
    sshDir,
    config: join(sshDir, "config"),
    env,
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export function initCtx(
  h: InitHome,
  over: Partial<Ctx> = {},
): { ctx: Ctx; out: () => string; err: () => string } {
  return capturedCtx(h.env, over);
}

/** `ssh -G -F file host` output (the resolution OpenSSH would use). */
export function sshG(file: string, host: string): string {
  return execFileSync("/usr/bin/ssh", ["-G", "-F", file, host], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function sshGValues(file: string, host: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of sshG(file, host).split("\n")) {
    const i = line.indexOf(" ");
    if (i < 0) continue;
    m.set(line.slice(0, i), [...(m.get(line.slice(0, i)) ?? []), line.slice(i + 1)]);
  }
  return m;
}

/** `bun src/main.ts ARGS` with stdin closed-but-open (a pipe nobody writes). */
export function fwd(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, [join(root, "src/main.ts"), ...args], {
    env,
    input: input ?? "",
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The base flags of a valid `fwd init` in this home. */
export const baseFlags = (h: InitHome) => ({
  name: "forward1",
  bastion: "bastion_user@bastion-host:2222",
  identity: join(h.home, "keys/id_test"),
  target: "target-host:22",
  local: "10022",
  sshTarget: "target_user",
  yes: true,
});
