/**
 * DESIGN §4: fwd works as an unprivileged user with a minimal environment
 * (HOME, USER, PATH; no XDG_*, no SSH_AUTH_SOCK; stdin not a TTY; cwd /).
 * The compiled binary, run as a throwaway user, against a real sshd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, hasBinary } from "../helpers/fwd.ts";
import { genKey } from "../helpers/home.ts";
import { freePort } from "../helpers/ports.ts";
import { canRunSshd, ensureUser, type Sshd, startSshd } from "../helpers/sshd.ts";
import { startHttpTarget, TARGET_BODY, type Target } from "../helpers/targets.ts";

const USER = "fwd_plain_user";
const ready = canRunSshd && hasBinary && spawnSync("setpriv", ["--version"]).status === 0;

describe.skipIf(!ready)("the compiled binary as an unprivileged user, minimal environment", () => {
  let home: string;
  let sshd: Sshd;
  let web: Target;
  let uid: number;
  let gid: number;
  let port: number;

  const fwd = (...args: string[]) =>
    spawnSync(
      "setpriv",
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        "--clear-groups",
        "env",
        "-i",
        `HOME=${home}`,
        `USER=${USER}`,
        "PATH=/usr/bin:/bin",
        BINARY,
        ...args,
      ],
      { cwd: "/", encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
    );

  beforeAll(async () => {
    ensureUser(USER);
    uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }));
    gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }));
    home = mkdtempSync(join(tmpdir(), "fwd-plain-"));
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    const key = genKey(join(home, ".ssh"));
    web = await startHttpTarget();
    sshd = await startSshd({ authorized: { [USER]: [key.pub] } });
    port = await freePort();
    writeFileSync(
      join(home, ".ssh", "config"),
      `Host forward1\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${USER}\n  IdentityFile ~/.ssh/id_ed25519\n  LocalForward ${port} 127.0.0.1:${web.port}\n`,
    );
    writeFileSync(join(home, ".ssh", "known_hosts"), `${sshd.knownHostsLine()}\n`);
    for (const p of [
      home,
      join(home, ".ssh"),
      ...["config", "known_hosts", "id_ed25519", "id_ed25519.pub"].map((f) =>
        join(home, ".ssh", f),
      ),
    ]) {
      chownSync(p, uid, gid);
    }
  });

  afterAll(async () => {
    if (home) fwd("stop", "--all");
    await sshd?.cleanup();
    await web?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("demo", () => {
    const r = fwd("demo", "-q");
    expect(r.stdout.trim()).toBe(TARGET_BODY);
    expect(r.status).toBe(0);
  });

  test("run -d, the forward answers, status --json, stop; state lives under ~/.local/state/fwd", async () => {
    const up = fwd("run", "forward1", "-d");
    expect(up.stderr).not.toContain("✖");
    expect(up.status).toBe(0);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(TARGET_BODY);
    const st = JSON.parse(fwd("status", "--json").stdout);
    expect(st.forwards[0]).toMatchObject({ name: "forward1", state: "up", ports: [port] });
    expect(st.forwards[0].logFile).toBe(join(home, ".local/state/fwd/forward1.log"));
    expect(fwd("stop", "forward1").status).toBe(0);
  });
});
