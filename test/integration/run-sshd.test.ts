/**
 * `fwd run` against a real OpenSSH sshd on loopback, driven through the CLI
 * (source, and the compiled binary when it is built): forwards of each kind,
 * each authentication path, each host-key verdict and the usual faults.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { type FwdMode, type FwdProcess, hasBinary, runFwd, spawnFwd } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { freePort, waitFor, waitForPort } from "../helpers/ports.ts";
import { drink, MiB, pour, poured } from "../helpers/pour.ts";
import { killTree } from "../helpers/procs.ts";
import { canRunSshd, type Sshd, startSshd, writeClientConfig } from "../helpers/sshd.ts";
import { startEchoTarget, startHttpTarget, TARGET_BODY, type Target } from "../helpers/targets.ts";

const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let sshd: Sshd;
let web: Target;
let home: TempHome;
let key: KeyPair;

beforeAll(async () => {
  if (!canRunSshd) return;
  home = tempHome();
  key = genKey(home.sshDir);
  sshd = await startSshd({ authorized: { root: [key.pub] } });
  web = await startHttpTarget();
});
afterAll(async () => {
  if (!canRunSshd) return;
  await sshd.cleanup();
  await web.close();
  home.cleanup();
});

/** A config with one Host; known_hosts pre-filled unless told otherwise. */
function config(lines: string[], opts: { known?: boolean; name?: string } = {}): string {
  return writeClientConfig(sshd, home.dir, { identity: key.path, lines, ...opts });
}

function started(p: FwdProcess, port: number): Promise<void> {
  cleanups.push(() => p.kill());
  return waitFor(
    async () => {
      if (p.child.exitCode !== null)
        throw new Error(`fwd exited ${p.child.exitCode}: ${p.stderr()}`);
      return p.stderr().includes("→") && (await portOpen(port));
    },
    { timeoutMs: 20_000, what: `fwd listening on ${port}` },
  );
}

function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function get(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/`)).text();
}

describe.skipIf(!canRunSshd).each(modes)("fwd run (%s) against real sshd", (mode) => {
  const env = () => home.env;

  test("LocalForward from the config serves the target; the listener is loopback only", async () => {
    const port = await freePort();
    const cfg = config([`LocalForward ${port} localhost:${web.port}`]);
    const p = spawnFwd(["run", "-F", cfg, "forward1"], { env: env(), mode });
    await started(p, port);
    expect(await get(port)).toBe(TARGET_BODY);
    expect(p.stderr()).toContain(
      `127.0.0.1:${port} → localhost:${web.port} via root@127.0.0.1:${sshd.port}`,
    );
    // bind audit: every listener of this port is on a loopback address
    const ss = execFileSync("ss", ["-Hltn", `sport = :${port}`], { encoding: "utf8" });
    const locals = ss
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[3]);
    expect(locals.length).toBeGreaterThan(0);
    for (const a of locals) expect(a).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+$/);
    await p.kill();
    expect(await portOpen(port)).toBe(false);
  });

  test("-L on the command line and -D SOCKS (curl --socks5-hostname) in one run", async () => {
    const [lport, dport] = [await freePort(), await freePort()];
    const cfg = config([]);
    const p = spawnFwd(
      ["run", "-F", cfg, "forward1", "-L", `${lport}:127.0.0.1:${web.port}`, "-D", String(dport)],
      { env: env(), mode },
    );
    await started(p, lport);
    await waitForPort(dport);
    expect(await get(lport)).toBe(TARGET_BODY);
    // async: the web target lives in this process and must keep serving while curl runs
    const curl = Bun.spawn([
      "curl",
      "-s",
      "--max-time",
      "10",
      "--socks5-hostname",
      `127.0.0.1:${dport}`,
      `http://localhost:${web.port}/`,
    ]);
    expect(await new Response(curl.stdout).text()).toBe(TARGET_BODY);
  });

  // The two backpressure tests: 64 MiB through the tunnel while one end reads nothing.
  const CHUNKS = 64;
  const WANT = poured(CHUNKS);

  /** Waits until the writer stops being able to hand over more, then checks it was held back. */
  async function heldBack(handed: () => number, what: string): Promise<void> {
    await waitFor(() => handed() > 0, { what: `${what} writing` });
    let last = -1;
    await waitFor(
      async () => {
        const before = handed();
        await Bun.sleep(300);
        const still = handed() === before && handed() === last;
        last = handed();
        return still;
      },
      { timeoutMs: 15_000, what: `${what} held back` },
    );
    expect(handed()).toBeLessThan(48 * MiB);
  }

  /** `fwd run` with a LocalForward to `target`; returns the local port once it listens. */
  async function forwardTo(target: Server): Promise<number> {
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => target.close(r)));
    const port = await freePort();
    const cfg = config([
      `LocalForward ${port} 127.0.0.1:${(target.address() as { port: number }).port}`,
    ]);
    await started(spawnFwd(["run", "-F", cfg, "forward1"], { env: env(), mode }), port);
    return port;
  }

  /** A target that pours the 64 MiB into every connection; returns its port. */
  async function pourTarget(): Promise<number> {
    const target = createServer((c) => {
      c.on("error", () => {});
      pour(c, CHUNKS);
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => target.close(r)));
    return (target.address() as { port: number }).port;
  }

  /** Reads everything the forward at `port` brings, as fast as it comes. */
  function download(port: number): Promise<{ n: number; sha: string }> {
    const c = connect(port, "127.0.0.1");
    cleanups.push(() => c.destroy());
    return drink(c);
  }

  test("64 MiB through key re-exchanges the server starts (RekeyLimit 1M): every byte in order", async () => {
    // Each re-exchange swaps the accelerated cipher and decipher (sshcrypto.ts)
    // in the middle of a socket chunk full of channel data, and ssh2 keeps a view
    // of the server's KEXINIT for the exchange hash while data keeps being
    // decrypted and joined in place around it.
    const rk = await startSshd({
      authorized: { root: [key.pub] },
      extra: { RekeyLimit: "1M", LogLevel: "DEBUG1" },
    });
    cleanups.push(() => rk.cleanup());
    const port = await freePort();
    const cfg = writeClientConfig(rk, home.dir, {
      identity: key.path,
      lines: [`LocalForward ${port} 127.0.0.1:${await pourTarget()}`],
    });
    await started(spawnFwd(["run", "-F", cfg, "forward1"], { env: env(), mode }), port);
    expect(await download(port)).toEqual(WANT);
    const kexinits = rk.log().match(/SSH2_MSG_KEXINIT sent/g)?.length ?? 0;
    expect(kexinits).toBeGreaterThan(10);
  });

  test("a local reader that stops reading holds the server back (the SSH window); every byte arrives in order", async () => {
    // The target writes 64 MiB as fast as its socket takes them; handed counts what the
    // kernel accepted. While the client reads nothing, only buffers along the path
    // (kernel socket buffers, sshd's channel buffer, the 2 MiB window) can fill: if
    // fwd kept reading without bound, the target would hand over all 64 MiB.
    // Counted for the newest connection only (started() probes the port once).
    let handed = 0;
    let conns = 0;
    const port = await forwardTo(
      createServer((c) => {
        c.on("error", () => {});
        const id = ++conns;
        handed = 0;
        pour(c, CHUNKS, () => {
          if (id === conns) handed += MiB;
        });
      }),
    );
    const c = connect(port, "127.0.0.1");
    c.pause();
    cleanups.push(() => c.destroy());
    await heldBack(() => handed, "the target");
    expect(await drink(c)).toEqual(WANT);
  });

  test("a target that stops reading holds the local writer back (the channel window); every byte arrives in order, then EOF", async () => {
    // The mirror of the test above, for the upload direction: the local client
    // writes 64 MiB as fast as its socket takes them while the target reads
    // nothing. If fwd kept reading the local socket without bound, the client
    // would hand over all 64 MiB.
    const readers: Socket[] = [];
    const port = await forwardTo(
      createServer((c) => {
        c.on("error", () => {});
        c.pause();
        readers.push(c);
      }),
    );
    const c = connect(port, "127.0.0.1");
    cleanups.push(() => c.destroy());
    let handed = 0;
    c.once("connect", () => pour(c, CHUNKS, () => (handed += MiB)));
    await heldBack(() => handed, "the client");
    // started()'s probe made a connection too (it carries nothing); ours is the other one.
    const never = new Promise<never>(() => {});
    const got = await Promise.race(readers.map((r) => drink(r).then((d) => (d.n ? d : never))));
    expect(got).toEqual(WANT);
  });

  test("-q prints nothing while serving; -v prints the connect steps before the forward lines", async () => {
    const qport = await freePort();
    const q = spawnFwd(
      ["run", "-q", "-F", config([`LocalForward ${qport} localhost:${web.port}`]), "forward1"],
      {
        env: env(),
        mode,
      },
    );
    cleanups.push(() => q.kill());
    await waitFor(() => portOpen(qport), { timeoutMs: 20_000, what: "quiet forward" });
    expect(await get(qport)).toBe(TARGET_BODY);
    expect(q.stderr()).toBe("");

    const vport = await freePort();
    const v = spawnFwd(
      ["run", "-v", "-F", config([`LocalForward ${vport} localhost:${web.port}`]), "forward1"],
      {
        env: env(),
        mode,
      },
    );
    await started(v, vport);
    const out = v.stderr();
    const connecting = out.indexOf("connecting to root@127.0.0.1");
    const forward = out.indexOf(`127.0.0.1:${vport} → localhost:${web.port}`);
    expect(connecting).toBeGreaterThanOrEqual(0);
    expect(forward).toBeGreaterThan(connecting);
  });

  test("-R: a port on the bastion reaches a service on this side", async () => {
    const echo = await startEchoTarget();
    cleanups.push(() => echo.close());
    const rport = await freePort();
    const cfg = config([`RemoteForward ${rport} 127.0.0.1:${echo.port}`]);
    const p = spawnFwd(["run", "-v", "-F", cfg, "forward1"], { env: env(), mode });
    cleanups.push(() => p.kill());
    // sshd listens on rport (same machine): wait for it, then echo through.
    await waitFor(() => portOpen(rport), { timeoutMs: 20_000, what: "remote forward port" });
    const s = connect(rport, "127.0.0.1");
    const got = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(new Error(`no echo; fwd said:\n${p.stderr()}\nsshd:\n${sshd.log().slice(-1500)}`)),
        10_000,
      );
      s.once("data", (b: Buffer) => {
        clearTimeout(t);
        resolve(b.toString());
      });
      s.write("ping through -R");
    });
    s.destroy();
    expect(got).toBe("ping through -R");
  });

  test("an unknown host key without a terminal: exit 3, fingerprint, the command to accept; nothing authenticated", async () => {
    const port = await freePort();
    const cfg = config([`LocalForward ${port} localhost:${web.port}`], { known: false });
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const r = await runFwd(["run", "-F", cfg, "forward1"], { env: env(), mode, timeoutMs: 20_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("host key");
    expect(r.stderr).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(r.stderr).toContain("--accept-new");
    expect((sshd.log().match(/Accepted publickey/g) ?? []).length).toBe(before);
  });

  test("--accept-new records the key under [host]:port and connects", async () => {
    const port = await freePort();
    const cfg = config([`LocalForward ${port} localhost:${web.port}`], { known: false });
    const kh = readFileSync(cfg, "utf8").match(/UserKnownHostsFile (\S+)/)![1]!;
    const p = spawnFwd(["run", "-F", cfg, "forward1", "--accept-new"], { env: env(), mode });
    await started(p, port);
    expect(readFileSync(kh, "utf8")).toContain(`[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}`);
  });

  test("a changed host key: exit 3 with both fingerprints and file:line, zero authentication attempts", async () => {
    const port = await freePort();
    const cfg = config([`LocalForward ${port} localhost:${web.port}`], { known: false });
    const kh = readFileSync(cfg, "utf8").match(/UserKnownHostsFile (\S+)/)![1]!;
    const other = genKey(home.dir, "ed25519", "", `fake_host_${mode}`);
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${other.pub.split(" ").slice(0, 2).join(" ")}\n`);
    const attempts = () =>
      (sshd.log().match(/(Accepted|Failed|Postponed) publickey/g) ?? []).length;
    const before = attempts();
    const r = await runFwd(["run", "-F", cfg, "forward1", "--accept-new"], {
      env: env(),
      mode,
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/host key/i);
    expect(r.stderr.match(/SHA256:[A-Za-z0-9+/]{43}/g)?.length).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toContain(`${kh}:1`);
    expect(attempts()).toBe(before);
  });

  test("a key the server does not accept: exit 4 naming the identities tried", async () => {
    const stranger = genKey(home.dir, "ed25519", "", `stranger_${mode}`);
    const cfg = config([`LocalForward ${await freePort()} localhost:${web.port}`]).replace(
      /.*/,
      (s) => s,
    );
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace(key.path, stranger.path));
    const r = await runFwd(["run", "-F", cfg, "forward1"], { env: env(), mode, timeoutMs: 20_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("authentication failed");
    expect(r.stderr).toContain(`stranger_${mode}`);
  });

  test("a local port already in use: exit 5 naming the port and its holder", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => busy.close(r)));
    const port = (busy.address() as { port: number }).port;
    const cfg = config([`LocalForward ${port} localhost:${web.port}`]);
    const r = await runFwd(["run", "-F", cfg, "forward1"], { env: env(), mode, timeoutMs: 20_000 });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`local port ${port} is already in use`);
    expect(r.stderr).toContain(`already in use by pid ${process.pid}`);
    expect(r.stderr).toContain(`hint: pick another local port, or stop pid ${process.pid} (`);
  });

  test("SIGTERM closes the listener and exits 0 within 2 s", async () => {
    const port = await freePort();
    const p = spawnFwd(
      ["run", "-F", config([`LocalForward ${port} localhost:${web.port}`]), "forward1"],
      { env: env(), mode },
    );
    await started(p, port);
    const t0 = Date.now();
    process.kill(p.pid, "SIGTERM");
    expect(await p.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await portOpen(port)).toBe(false);
  });
});

describe.skipIf(!canRunSshd).each(modes)(
  "fwd run (%s): authentication sources and server policy",
  (mode) => {
    test("keys from ssh-agent (no IdentityFile on disk needed)", async () => {
      const sock = join(home.dir, `agent-${mode}.sock`);
      const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
      cleanups.push(() => killTree([agent.pid!]));
      await waitFor(() => existsSync(sock), { timeoutMs: 5000, what: "ssh-agent socket" });
      const agentKey = genKey(home.dir, "ed25519", "", `agent_only_${mode}`);
      execFileSync("ssh-add", [agentKey.path], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: "ignore",
      });
      sshd.authorize("root", agentKey.pub);
      const port = await freePort();
      const cfg = config([`LocalForward ${port} localhost:${web.port}`]);
      writeFileSync(
        cfg,
        readFileSync(cfg, "utf8").replace(/ {2}IdentityFile .*\n {2}IdentitiesOnly yes\n/, ""),
      );
      const p = spawnFwd(["run", "-F", cfg, "forward1"], {
        env: { ...home.env, SSH_AUTH_SOCK: sock },
        mode,
      });
      await started(p, port);
      expect(await get(port)).toBe(TARGET_BODY);
      expect(sshd.log()).toContain("Accepted publickey");
    });

    test("a passphrase-protected key via SSH_ASKPASS (no terminal); the passphrase is never printed", async () => {
      const secret = "correct horse battery";
      const k = genKey(home.dir, "ed25519", secret, `with_pass_${mode}`);
      sshd.authorize("root", k.pub);
      const askpass = join(home.dir, "askpass.sh");
      const seen = join(home.dir, `askpass-env-${mode}`);
      writeFileSync(askpass, `#!/bin/sh\nenv > '${seen}'\necho '${secret}'\n`, { mode: 0o700 });
      const port = await freePort();
      const cfg = config([`LocalForward ${port} localhost:${web.port}`]);
      writeFileSync(cfg, readFileSync(cfg, "utf8").replace(key.path, k.path));
      const p = spawnFwd(["run", "-v", "-F", cfg, "forward1"], {
        env: { ...home.env, SSH_ASKPASS: askpass },
        mode,
      });
      await started(p, port);
      expect(await get(port)).toBe(TARGET_BODY);
      expect(p.stderr() + p.stdout()).not.toContain(secret);
      // The binary re-executed itself in place (same pid) with FTL off (src/jit.ts);
      // from source nothing changes. Either way the askpass it started does not inherit it.
      const environ = readFileSync(`/proc/${p.child.pid}/environ`, "utf8").split("\0");
      if (mode === "binary") expect(environ).toContain("BUN_JSC_useFTLJIT=0");
      else expect(environ.some((v) => v.startsWith("BUN_JSC_"))).toBe(false);
      expect(readFileSync(seen, "utf8")).not.toMatch(/BUN_JSC_|FWD_JIT_TUNED/);
      expect(readFileSync(seen, "utf8")).toContain("SSH_ASKPASS=");
    });

    test("AllowTcpForwarding no on the bastion: the connection is refused with what it means, the tunnel stays up", async () => {
      const strict = await startSshd({
        authorized: { root: [key.pub] },
        extra: { AllowTcpForwarding: "no" },
      });
      cleanups.push(() => strict.cleanup());
      const kh = join(home.dir, "kh_strict");
      writeFileSync(kh, `${strict.knownHostsLine()}\n`);
      const port = await freePort();
      const cfg = join(home.dir, "cfg_strict");
      writeFileSync(
        cfg,
        `Host strict\n  HostName 127.0.0.1\n  Port ${strict.port}\n  User root\n  IdentityFile ${key.path}\n  UserKnownHostsFile ${kh}\n  LocalForward ${port} localhost:${web.port}\n`,
      );
      const p = spawnFwd(["run", "-F", cfg, "strict"], { env: home.env, mode });
      await started(p, port);
      const s = connect(port, "127.0.0.1");
      await new Promise((r) => s.once("close", r));
      await waitFor(() => p.stderr().includes("administratively prohibited"), {
        timeoutMs: 5000,
        what: "refusal message",
      });
      expect(p.stderr()).toContain("AllowTcpForwarding");
      expect(p.child.exitCode).toBeNull();
    });

    test("ProxyJump through two bastions", async () => {
      const jump = await startSshd({ authorized: { root: [key.pub] } });
      cleanups.push(() => jump.cleanup());
      const kh = join(home.dir, "kh_jump");
      writeFileSync(kh, `${jump.knownHostsLine()}\n${sshd.knownHostsLine()}\n`);
      const port = await freePort();
      const cfg = join(home.dir, "cfg_jump");
      writeFileSync(
        cfg,
        [
          "Host jump1",
          "  HostName 127.0.0.1",
          `  Port ${jump.port}`,
          "Host forward1",
          "  HostName 127.0.0.1",
          `  Port ${sshd.port}`,
          "  ProxyJump jump1",
          `  LocalForward ${port} localhost:${web.port}`,
          "Host *",
          "  User root",
          `  IdentityFile ${key.path}`,
          `  UserKnownHostsFile ${kh}`,
          "",
        ].join("\n"),
      );
      const p = spawnFwd(["run", "-F", cfg, "forward1"], { env: home.env, mode });
      await started(p, port);
      expect(await get(port)).toBe(TARGET_BODY);
      // the second bastion saw a connection coming out of the first one
      expect(jump.log()).toMatch(/Accepted publickey/);
    });
  },
);
