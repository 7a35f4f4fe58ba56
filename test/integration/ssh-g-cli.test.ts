/**
 * `fwd config resolve` as a user runs it (the CLI in a child process), and
 * the default config files (no -F) against the live ssh.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Case } from "../fixtures/sshconfig/corpus.ts";
import {
  byKey,
  liveSshUsable,
  materialise,
  NSS_WRAPPER,
  normalise,
  USER,
} from "../fixtures/sshconfig/harness.ts";

const root = join(import.meta.dir, "..", "..");
const seed: Case = {
  name: "cli",
  config:
    "Host forward1\n  HostName bastion-host\n  User bastion_user\n  LocalForward 10022 target-host:22\n  LocalForward 10080 web:80\nHost forward2\n  HostName localhost\n  Port 10022\n  User target_user\n",
  hosts: [],
};
const sb = materialise(seed);
afterAll(() => sb.cleanup());

function fwd(args: string[], extraEnv: Record<string, string> = {}) {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: sb.home, USER, ...extraEnv };
  return spawnSync(process.execPath, [join(root, "src/main.ts"), ...args], {
    cwd: sb.dir,
    env,
    encoding: "utf8",
  });
}

function ssh(args: string[]) {
  const passwd = join(sb.dir, "passwd");
  const group = join(sb.dir, "group");
  writeFileSync(
    passwd,
    `${USER}:x:${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}::${sb.home}:/bin/sh\n`,
  );
  writeFileSync(group, `${USER}:x:${process.getgid?.() ?? 0}:\n`);
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: sb.home,
    USER,
    LD_PRELOAD: NSS_WRAPPER ?? "",
    NSS_WRAPPER_PASSWD: passwd,
    NSS_WRAPPER_GROUP: group,
  };
  return spawnSync("/usr/bin/ssh", ["-G", ...args], {
    cwd: sb.dir,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

test("config resolve -F prints ssh -G lines: seed host forward1", () => {
  const r = fwd(["config", "resolve", "-F", sb.config, "forward1"]);
  expect(r.status).toBe(0);
  const got = byKey(r.stdout);
  expect(got.get("hostname")).toEqual(["bastion-host"]);
  expect(got.get("user")).toEqual(["bastion_user"]);
  expect(got.get("port")).toEqual(["22"]);
  expect(got.get("localforward")).toEqual(["10022 [target-host]:22", "10080 [web]:80"]);
  expect(r.stdout.split("\n")[0]).toBe("host forward1");
}, 60_000);

test("config resolve --json prints one object; repeated keys are arrays", () => {
  const r = fwd(["config", "resolve", "--json", "-F", sb.config, "forward2"]);
  expect(r.status).toBe(0);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(o.hostname).toBe("localhost");
  expect(o.port).toBe("10022");
  expect(o.user).toBe("target_user");
  expect(Array.isArray(o.identityfile)).toBe(true);
  expect(o.userknownhostsfile).toBe(`${sb.home}/.ssh/known_hosts ${sb.home}/.ssh/known_hosts2`);
}, 60_000);

test("a config ssh rejects exits 2 with file:line on stderr", () => {
  const bad = join(sb.dir, "bad.conf");
  writeFileSync(bad, "Host a\n  Port 99999\n");
  const r = fwd(["config", "resolve", "-F", bad, "a"]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(`${bad}:2: Bad port '99999'.`);
  expect(r.stdout).toBe("");
}, 60_000);

test.skipIf(!liveSshUsable())(
  "without -F, ~/.ssh/config and the system config resolve as live ssh -G does",
  () => {
    writeFileSync(join(sb.home, ".ssh", "config"), seed.config, { mode: 0o600 });
    for (const host of ["forward1", "forward2", "elsewhere"]) {
      const want = ssh([host]);
      expect(want.status).toBe(0);
      const got = fwd(["config", "resolve", host], { FWD_SYSTEM_CONFIG: "/etc/ssh/ssh_config" });
      expect(got.stderr).toBe("");
      expect(normalise(got.stdout, sb)).toBe(normalise(want.stdout, sb));
    }
  },
);

test.skipIf(!liveSshUsable())(
  "the printed form is exactly ssh -G's for the seed config",
  () => {
    for (const host of ["forward1", "forward2"]) {
      expect(fwd(["config", "resolve", "-F", sb.config, host]).stdout).toBe(
        ssh(["-F", sb.config, host]).stdout,
      );
    }
  },
  60_000,
);
