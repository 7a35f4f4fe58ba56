/**
 * IdentityFile naming a public key (`*.pub`) whose private key lives only in
 * ssh-agent, as `fwd init` writes it for an agent key with no key file in
 * ~/.ssh: `fwd run` authenticates through the agent against a real sshd, and
 * without the agent the .pub is skipped (never offered as a key) with a clear
 * "authentication failed" instead of a crash.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FwdMode, hasBinary, runFwd, spawnFwd } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { freePort, waitFor, waitForPort } from "../helpers/ports.ts";
import { killTree } from "../helpers/procs.ts";
import { canRunSshd, type Sshd, startSshd, writeClientConfig } from "../helpers/sshd.ts";
import { startHttpTarget, TARGET_BODY, type Target } from "../helpers/targets.ts";

const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let sshd: Sshd;
let web: Target;
let home: TempHome;
let key: KeyPair;
let sock: string;
let agentPid = 0;

beforeAll(async () => {
  if (!canRunSshd) return;
  home = tempHome();
  key = genKey(join(home.dir), "ed25519", "", "agent_only");
  // Only the public half stays on disk, in ~/.ssh; the private key is in the agent.
  const pub = join(home.sshDir, "agent_only.pub");
  writeFileSync(pub, `${key.pub}\n`, { mode: 0o644 });
  sock = join(home.dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
  agentPid = agent.pid ?? 0;
  await waitFor(() => existsSync(sock), { timeoutMs: 5000, what: "ssh-agent socket" });
  execFileSync("ssh-add", [key.path], {
    env: { ...process.env, SSH_AUTH_SOCK: sock },
    stdio: "ignore",
  });
  rmSync(key.path);
  sshd = await startSshd({ authorized: { root: [key.pub] } });
  web = await startHttpTarget();
});
afterAll(async () => {
  if (!canRunSshd) return;
  await killTree([agentPid].filter(Boolean));
  await sshd.cleanup();
  await web.close();
  home.cleanup();
});

const config = (port: number) =>
  writeClientConfig(sshd, home.dir, {
    identity: "~/.ssh/agent_only.pub",
    lines: [`LocalForward 127.0.0.1:${port} localhost:${web.port}`],
  });

describe.skipIf(!canRunSshd).each(modes)("fwd run (%s): IdentityFile is a .pub", (mode) => {
  test("the agent holds its private key: authenticated through the agent", async () => {
    const port = await freePort();
    const p = spawnFwd(["run", "-F", config(port), "forward1"], {
      env: { ...home.env, SSH_AUTH_SOCK: sock },
      mode,
    });
    cleanups.push(() => p.kill());
    await waitForPort(port, "127.0.0.1", 20_000);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(TARGET_BODY);
    expect(p.stderr()).not.toContain("not a usable key");
  });

  test("no agent: the .pub is not offered as a key; authentication fails and says why", async () => {
    const r = await runFwd(["run", "-F", config(await freePort()), "forward1"], {
      env: home.env,
      mode,
      timeoutMs: 20_000,
    });
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("authentication failed");
    expect(r.stderr).toContain(
      "~/.ssh/agent_only.pub (a public key: its private key must be in the agent)",
    );
  });
});
