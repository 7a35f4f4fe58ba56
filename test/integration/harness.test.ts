/**
 * The test helpers prove themselves: a real sshd that lets a key in, forwards
 * through it, dies with its sessions; a netns topology where only the bastion
 * reaches the target; fwd runnable from source.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { runFwd, spawnFwd } from "../helpers/fwd.ts";
import { genKey, tempHome } from "../helpers/home.ts";
import { canMakeNetns, makeTopology, TARGET_IP } from "../helpers/netns.ts";
import {
  freePort,
  portAccepts,
  waitFor,
  waitForPort,
  waitForPortClosed,
} from "../helpers/ports.ts";
import { isAlive } from "../helpers/procs.ts";
import { startSsh2Bastion } from "../helpers/ssh2-bastion.ts";
import { canRunSshd, ensureUser, renderSshdConfig, startSshd } from "../helpers/sshd.ts";
import { startEchoTarget, startHttpTarget, TARGET_BODY } from "../helpers/targets.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const USER = "fwdharness";
const hasSsh = existsSync("/usr/bin/ssh");

/** OpenSSH's ssh with nothing from ~/.ssh: only this key and this known_hosts. */
function sshArgs(key: string, knownHosts: string, port: number): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-p",
    String(port),
  ];
}

async function fetchText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.text();
}

/** One HTTP/1.0 request on a fresh connection (so, a fresh channel); the raw reply. */
function rawGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => {
      got += d.toString();
    });
    s.on("error", () => {});
    s.on("close", () => resolve(got));
    s.write("GET / HTTP/1.0\r\n\r\n");
  });
}

describe("ports", () => {
  test("freePort returns a port nothing listens on", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await portAccepts(port)).toBe(false);
  });

  test("waitFor resolves on the condition and names what timed out", async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { intervalMs: 1 });
    expect(n).toBe(3);
    await expect(waitFor(() => false, { timeoutMs: 30, what: "the moon" })).rejects.toThrow(
      /waiting for the moon/,
    );
  });

  test("echo target echoes, waitForPort sees it, waitForPortClosed sees it go", async () => {
    const echo = await startEchoTarget();
    await waitForPort(echo.port);
    const sock = connect(echo.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => {
      got += d.toString();
    });
    sock.write("ping");
    await waitFor(() => got === "ping", { what: "the echo" });
    sock.destroy();
    await echo.close();
    await waitForPortClosed(echo.port);
  });
});

describe("home", () => {
  test("tempHome has a 0700 ~/.ssh and a minimal env; genKey makes a key pair", () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    expect(statSync(home.sshDir).mode & 0o777).toBe(0o700);
    expect(home.env.HOME).toBe(home.dir);
    expect(home.env.FWD_STATE_DIR!.startsWith(home.dir)).toBe(true);
    expect(home.env.FWD_SYSTEM_CONFIG).toBe("none");
    const key = genKey(home.sshDir);
    expect(key.pub).toStartWith("ssh-ed25519 AAAA");
    expect(statSync(key.path).mode & 0o777).toBe(0o600);
  });
});

describe("sshd config", () => {
  test("extra overrides a default (first value wins in sshd) and arrays repeat", () => {
    const text = renderSshdConfig(
      { LogLevel: "VERBOSE", HostKey: ["/a", "/b"] },
      { loglevel: "DEBUG1", PermitOpen: ["x:1", "y:2"] },
      "Match User nobody\n  AllowTcpForwarding no",
    );
    expect(text).toBe(
      "loglevel DEBUG1\nHostKey /a\nHostKey /b\nPermitOpen x:1\nPermitOpen y:2\nMatch User nobody\n  AllowTcpForwarding no\n",
    );
  });
});

describe.skipIf(!canRunSshd)("real sshd", () => {
  test("lets a test user in with a key, pinned host key, and logs it", async () => {
    ensureUser(USER);
    const home = tempHome();
    cleanups.push(home.cleanup);
    const key = genKey(home.sshDir);
    const sshd = await startSshd({ authorized: { [USER]: [key.pub] } });
    cleanups.push(sshd.cleanup);
    const kh = join(home.sshDir, "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine()}\n`);
    expect(sshd.hostKeyPub).toMatch(/^ssh-ed25519 AAAA\S+$/);
    const r = spawnSync(
      "ssh",
      [...sshArgs(key.path, kh, sshd.port), `${USER}@127.0.0.1`, "echo", "in-$((40+2))"],
      { encoding: "utf8", timeout: 20_000 },
    );
    // The test user has no home directory; sshd says so on stderr and goes on.
    expect(r.stdout.trim()).toBe("in-42");
    expect(r.status).toBe(0);
    await sshd.waitForLog(new RegExp(`Accepted publickey for ${USER}`));
  });

  test("ssh -N -L forwards to an HTTP target; stop() kills the session too; restart() serves again", async () => {
    ensureUser(USER);
    const home = tempHome();
    cleanups.push(home.cleanup);
    const key = genKey(home.sshDir);
    const target = await startHttpTarget();
    cleanups.push(target.close);
    const sshd = await startSshd({
      authorized: { [USER]: [key.pub] },
      extra: { PermitOpen: `127.0.0.1:${target.port}` },
    });
    cleanups.push(sshd.cleanup);
    const kh = join(home.sshDir, "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine()}\n`);

    const local = await freePort();
    const args = [
      ...sshArgs(key.path, kh, sshd.port),
      "-o",
      "ExitOnForwardFailure=yes",
      "-N",
      "-L",
      `127.0.0.1:${local}:127.0.0.1:${target.port}`,
      `${USER}@127.0.0.1`,
    ];
    const ssh = Bun.spawn(["ssh", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    cleanups.push(() => ssh.kill("SIGKILL"));
    await waitForPort(local);
    expect(await fetchText(local)).toBe(TARGET_BODY);

    const listener = sshd.pid;
    await sshd.stop();
    expect(isAlive(listener)).toBe(false);
    // With the session process gone too, the client sees the connection drop.
    expect(await ssh.exited).not.toBe(0);
    expect(await portAccepts(sshd.port)).toBe(false);

    await sshd.restart();
    expect(sshd.pid).not.toBe(listener);
    expect(await portAccepts(sshd.port)).toBe(true);
  });
});

describe.skipIf(!canMakeNetns() || !canRunSshd)("netns topology", () => {
  test("the target is reachable from the bastion only; ssh -L from the laptop gets through", async () => {
    const topo = await makeTopology();
    cleanups.push(topo.cleanup);
    await topo.httpTarget(topo.target, 8080);

    // Name resolution: files only, and the laptop does not know target-host.
    expect(topo.exec(topo.bastion, ["getent", "hosts", "target-host"]).stdout).toContain(TARGET_IP);
    expect(topo.exec(topo.laptop, ["getent", "hosts", "target-host"]).code).not.toBe(0);
    expect(topo.exec(topo.laptop, ["getent", "hosts", "bastion-host"]).code).toBe(0);

    expect(topo.canConnect(topo.bastion, "target-host", 8080)).toBe(true);
    expect(topo.canConnect(topo.laptop, TARGET_IP, 8080, 1)).toBe(false);

    ensureUser(USER);
    const home = tempHome();
    cleanups.push(home.cleanup);
    const key = genKey(home.sshDir);
    const sshd = await startSshd({
      netns: topo.bastion,
      host: "0.0.0.0",
      authorized: { [USER]: [key.pub] },
    });
    cleanups.push(sshd.cleanup);
    const kh = join(home.sshDir, "known_hosts");
    writeFileSync(kh, `${sshd.knownHostsLine("bastion-host")}\n`);
    await topo.spawn(
      topo.laptop,
      [
        "ssh",
        ...sshArgs(key.path, kh, 22),
        "-o",
        "ExitOnForwardFailure=yes",
        "-N",
        "-L",
        "127.0.0.1:10080:target-host:8080",
        `${USER}@bastion-host`,
      ],
      {},
    );
    await waitFor(() => topo.canConnect(topo.laptop, "127.0.0.1", 10080), {
      timeoutMs: 15_000,
      what: "ssh -L to listen in the laptop namespace",
    });
    const got = topo.exec(topo.laptop, [
      "curl",
      "-sS",
      "--max-time",
      "10",
      "http://127.0.0.1:10080/",
    ]);
    expect(got.stdout).toBe(TARGET_BODY);
    await sshd.waitForLog(new RegExp(`Accepted publickey for ${USER} from 198\\.51\\.100\\.1`));
  });
});

describe.skipIf(!hasSsh)("in-process ssh2 bastion", () => {
  test("OpenSSH's ssh -L gets through; refused channels and dropped connections are faults on demand", async () => {
    const target = await startHttpTarget();
    cleanups.push(target.close);
    const bastion = await startSsh2Bastion({ hosts: { "target-host": "127.0.0.1" } });
    cleanups.push(bastion.close);
    const home = tempHome();
    cleanups.push(home.cleanup);
    const kh = join(home.sshDir, "known_hosts");
    writeFileSync(kh, `${bastion.knownHostsLine()}\n`);
    const local = await freePort();
    const ssh = Bun.spawn(
      [
        "ssh",
        ...sshArgs(bastion.identity.path, kh, bastion.port),
        "-N",
        "-L",
        `127.0.0.1:${local}:target-host:${target.port}`,
        `${bastion.user}@127.0.0.1`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    cleanups.push(() => ssh.kill("SIGKILL"));
    await waitForPort(local);
    expect(await fetchText(local)).toBe(TARGET_BODY);
    expect(bastion.requested).toContain(`target-host:${target.port}`);
    expect(bastion.authAttempts()).toBeGreaterThan(0);

    expect(await rawGet(local)).toEndWith(TARGET_BODY);
    bastion.channels = "refuse";
    // ssh accepted the local connection, the bastion refused the channel: closed, no reply.
    expect(await rawGet(local)).toBe("");

    bastion.dropConnections();
    expect(await ssh.exited).not.toBe(0);
    await waitFor(() => bastion.openConnections() === 0, { what: "the bastion to see it closed" });
  });
});

describe("fwd runner", () => {
  test("runFwd runs the source with a temp home and captures output", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    const r = await runFwd(["--version"], { env: home.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("fwd ");
  });

  test("spawnFwd can be killed by PID", async () => {
    const home = tempHome();
    cleanups.push(home.cleanup);
    const p = spawnFwd(["--help"], { env: home.env });
    await p.kill();
    expect(await p.exited).toBeGreaterThanOrEqual(0);
  });
});
