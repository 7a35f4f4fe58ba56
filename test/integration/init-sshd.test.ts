/**
 * The snippet works without fwd: after `fwd init`, plain OpenSSH `ssh -N
 * forward1` opens the forward through a real sshd, and `ssh forward2` logs in
 * to the target through it (HostKeyAlias keeps the target's key under its name).
 */
import { afterEach, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { genKey } from "../helpers/home.ts";
import { fixture, fwd, type InitHome, initHome } from "../helpers/init-home.ts";
import { freePort } from "../helpers/ports.ts";
import { canRunSshd, type Sshd, startSshd } from "../helpers/sshd.ts";

let h: InitHome | undefined;
let sshd: Sshd | undefined;
let ssh: ChildProcess | undefined;
afterEach(async () => {
  if (ssh?.pid && ssh.exitCode === null) process.kill(ssh.pid, "SIGKILL");
  await sshd?.cleanup();
  h?.remove();
});

/** The first bytes a TCP server sends, or "" when the connection fails or says nothing. */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    const done = (v: string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(""));
    s.once("data", (b) => done(b.toString()));
    s.once("error", () => done(""));
    s.once("close", () => done(""));
  });
}

test.skipIf(!canRunSshd)(
  "plain ssh -N forward1 and ssh forward2 work with the written config",
  async () => {
    h = initHome();
    const key = genKey(join(h.home, "keys"), "ed25519", "", "bastion_key");
    sshd = await startSshd({ authorized: { root: [key.pub] } });
    copyFileSync(fixture("realistic.conf"), h.config);
    const local = await freePort();
    const r = fwd(
      [
        "init",
        "--bastion",
        `root@127.0.0.1:${sshd.port}`,
        "--identity",
        key.path,
        "--target",
        `localhost:${sshd.port}`,
        "--local",
        String(local),
        "--ssh-target",
        "root",
        "--yes",
      ],
      h.env,
    );
    expect(r.code).toBe(0);
    expect(readFileSync(h.config, "utf8")).toContain(
      `LocalForward 127.0.0.1:${local} localhost:${sshd.port}`,
    );

    // OpenSSH reads the passwd home, not $HOME: everything it needs is explicit.
    const common = [
      "-F",
      h.config,
      "-o",
      `UserKnownHostsFile=${join(h.home, "known_hosts")}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      "BatchMode=yes",
    ];
    let log = "";
    ssh = spawn("/usr/bin/ssh", [...common, "-N", "forward1"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    ssh.stderr?.on("data", (b) => {
      log += b;
    });
    const deadline = Date.now() + 15_000;
    let heard = "";
    while (!heard.startsWith("SSH-2.0-")) {
      if (Date.now() > deadline || ssh.exitCode !== null)
        throw new Error(`forward never worked: ${log}`);
      heard = await banner(local);
      if (!heard) await new Promise((res) => setTimeout(res, 50));
    }
    expect(heard).toStartWith("SSH-2.0-OpenSSH");

    const second = spawnSync(
      "/usr/bin/ssh",
      [
        ...common,
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        key.path,
        "forward2",
        "echo",
        "through-the-forward",
      ],
      { encoding: "utf8", timeout: 20_000 },
    );
    expect(second.stderr).not.toContain("Permission denied");
    expect(second.stdout.trim()).toBe("through-the-forward");
    expect(readFileSync(join(h.home, "known_hosts"), "utf8")).toMatch(/^localhost ssh-ed25519 /m);
  },
  60_000,
);
