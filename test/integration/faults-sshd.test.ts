/**
 * Issue 7's fault matrix against a real OpenSSH sshd on loopback, driven
 * through the CLI from source and as the compiled binary (when built):
 *   1. bastion killed -> restarted: back within 60 s, listener never closed
 *   4. auth starts failing while reconnecting: stop, exit 4 / status stopped
 *   5. host key changed between connects: no auth attempted, exit 3 / status
 *   6. target port closed while up: clean close locally, tunnel stays up
 *   7. 200 concurrent 1 MiB echo connections: hashes match, no leaked channels
 *   8. a 1 GiB download: completes, peak RSS of fwd recorded (bounded)
 * Each test gets its own sshd (several of them damage it on purpose).
 * Timings measured here are printed (console.log) for the note; the
 * only time bound asserted is issue 7's "within 60 s" for fault 1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { type FwdMode, type FwdProcess, hasBinary, runFwd, spawnFwd } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { freePort, portAccepts, waitFor } from "../helpers/ports.ts";
import { isAlive, killTree } from "../helpers/procs.ts";
import {
  canRunSshd,
  type Sshd,
  type SshdOptions,
  startSshd,
  writeClientConfig,
} from "../helpers/sshd.ts";
import { startHttpTarget, TARGET_BODY, type Target } from "../helpers/targets.ts";

const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let home: TempHome;
let key: KeyPair;
let web: Target;

beforeAll(async () => {
  if (!canRunSshd) return;
  home = tempHome("fwd-faults-");
  key = genKey(home.sshDir);
  web = await startHttpTarget();
});
afterAll(async () => {
  if (!canRunSshd) return;
  await web.close();
  home.cleanup();
});

async function sshd(opts: SshdOptions = {}): Promise<Sshd> {
  const s = await startSshd({ authorized: { root: [key.pub] }, ...opts });
  cleanups.push(() => s.cleanup());
  return s;
}

/** A config with Host forward1 for `s`; short keepalive so a dead link is noticed fast. */
function config(s: Sshd, lines: string[]): string {
  const keepalive = ["ServerAliveInterval 1", "ServerAliveCountMax 2", "ConnectTimeout 5"];
  return writeClientConfig(s, home.dir, {
    identity: key.path,
    lines: ["StrictHostKeyChecking yes", ...keepalive, ...lines],
  });
}

/** A foreground `fwd run`, killed after the test; resolves once `port` listens and the link is up. */
async function foreground(mode: FwdMode, cfg: string, port: number): Promise<FwdProcess> {
  const p = spawnFwd(["run", "-F", cfg, "forward1"], { env: home.env, mode });
  cleanups.push(() => p.kill());
  await waitFor(
    async () => {
      if (p.child.exitCode !== null)
        throw new Error(`fwd exited ${p.child.exitCode}: ${p.stderr()}`);
      return p.stderr().includes("Ctrl-C") && (await portAccepts(port));
    },
    { timeoutMs: 20_000, what: `fwd listening on ${port}` },
  );
  return p;
}

interface Entry {
  name: string;
  state: string;
  pid: number | null;
  since: string | null;
  reconnects: number;
  lastError: string | null;
  logFile: string | null;
  forwards: { connections: number }[];
}

/** A background run in its own state dir; stopped (and killed by PID) after the test. */
async function background(mode: FwdMode, cfg: string) {
  const env = {
    ...home.env,
    FWD_STATE_DIR: join(home.dir, `state-${randomBytes(4).toString("hex")}`),
  };
  const r = await runFwd(["run", "-d", "-F", cfg, "forward1"], { env, mode, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`run -d exited ${r.code}: ${r.stderr}`);
  const status = async (): Promise<Entry> => {
    const s = await runFwd(["status", "forward1", "--json"], { env, mode });
    return JSON.parse(s.stdout).forwards[0] as Entry;
  };
  const first = await status();
  const pid = first.pid!;
  cleanups.push(async () => {
    await runFwd(["stop", "forward1"], { env, mode });
    if (isAlive(pid)) await killTree([pid]);
    rmSync(env.FWD_STATE_DIR, { recursive: true, force: true });
  });
  const log = () => (first.logFile ? readFileSync(first.logFile, "utf8") : "");
  return { pid, status, log, first };
}

async function get(port: number): Promise<string> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 5000);
  try {
    return await (await fetch(`http://127.0.0.1:${port}/`, { signal: ctl.signal })).text();
  } finally {
    clearTimeout(t);
  }
}

/** Replaces the host keys in `s`'s dir (sshd restarts with them). */
function newHostKeys(s: Sshd): void {
  for (const [name, type] of [
    ["ssh_host_ed25519_key", "ed25519"],
    ["ssh_host_rsa_key", "rsa"],
  ] as const) {
    const path = join(s.dir, name);
    rmSync(path, { force: true });
    rmSync(`${path}.pub`, { force: true });
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", path]);
  }
}

/** Everything sshd logged after `offset` characters. */
const logSince = (s: Sshd, offset: number) => s.log().slice(offset);

/** Live sockets of a TCP server, for counting what the bastion still has open to a target. */
function tracked(server: Server): Set<Socket> {
  const live = new Set<Socket>();
  server.on("connection", (c: Socket) => {
    live.add(c);
    c.once("close", () => live.delete(c));
  });
  return live;
}

function listen(server: Server): Promise<number> {
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)),
  );
}

describe.skipIf(!canRunSshd).each(modes)("fault matrix (%s) against real sshd", (mode) => {
  test("1: sshd killed and restarted: back without user action, the listener never closed (run -d)", async () => {
    const s = await sshd();
    const greeter = createServer((c) => {
      c.on("error", () => {});
      c.write("hello\n");
    });
    const greeterPort = await listen(greeter);
    cleanups.push(() => new Promise((r) => greeter.close(r)));
    const [port, gport] = [await freePort(), await freePort()];
    const cfg = config(s, [
      `LocalForward ${port} 127.0.0.1:${web.port}`,
      `LocalForward ${gport} 127.0.0.1:${greeterPort}`,
    ]);
    const bg = await background(mode, cfg);
    expect(bg.first).toMatchObject({ state: "up", reconnects: 0 });
    expect(await get(port)).toBe(TARGET_BODY);
    // A connection open when the link dies is closed cleanly (EOF, no reset).
    const open = connect(gport, "127.0.0.1");
    let greeting = "";
    let openError: Error | undefined;
    open.on("data", (b) => {
      greeting += b;
    });
    open.on("error", (e) => {
      openError = e;
    });
    const openEnded = new Promise<void>((r) => open.once("end", r));
    await waitFor(() => greeting === "hello\n", { what: "the greeting through the tunnel" });

    // Probe the listener all through the outage.
    let probes = 0;
    let refused = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        probes++;
        if (!(await portAccepts(port))) refused++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const killedAt = Date.now();
    await s.stop();
    let detectedAt = 0;
    await waitFor(
      async () => {
        const st = await bg.status();
        if (st.state === "reconnecting") detectedAt ||= Date.now();
        return st.state === "reconnecting" && /reconnect failed/.test(bg.log());
      },
      { timeoutMs: 20_000, what: "status reconnecting and a failed retry in the log" },
    );
    const down = await bg.status();
    expect(down.lastError).toBeTruthy();
    await openEnded;
    expect(openError).toBeUndefined();
    // A request made while the link is down waits for it and is served once it is back.
    const ctl = new AbortController();
    const abort = setTimeout(() => ctl.abort(), 40_000);
    const during = fetch(`http://127.0.0.1:${port}/`, { signal: ctl.signal })
      .then((r) => r.text())
      .finally(() => clearTimeout(abort));
    const restartedAt = Date.now();
    await s.restart();
    let okAt = 0;
    await waitFor(
      async () => {
        const body = await get(port).catch(() => "");
        if (body === TARGET_BODY) okAt = Date.now();
        return okAt > 0;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: "a new connection through the forward after restart",
      },
    );
    probing = false;
    await prober;
    expect(await during).toBe(TARGET_BODY);
    console.log(
      `[fault 1 ${mode}] loss seen in status after ${detectedAt - killedAt} ms; ` +
        `a new connection worked ${okAt - restartedAt} ms after sshd restarted; ${probes} probes, ${refused} refused`,
    );
    expect(okAt - restartedAt).toBeLessThan(60_000);
    expect(probes).toBeGreaterThan(0);
    expect(refused).toBe(0);
    await waitFor(async () => (await bg.status()).state === "up", {
      timeoutMs: 10_000,
      what: "status up again",
    });
    const up = await bg.status();
    expect(up.reconnects).toBeGreaterThanOrEqual(1);
    expect(Date.parse(up.since!)).toBeGreaterThanOrEqual(Date.parse(down.since!));
    // Every state change is in the log, each line with an ISO timestamp.
    const lines = bg.log().trim().split("\n");
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    const text = lines.join("\n");
    for (const re of [
      /connecting to root@127\.0\.0\.1/,
      /lost: /,
      /reconnecting in \d/,
      /up again after \d+ attempts?/,
    ])
      expect(text).toMatch(re);
  });

  test("4: auth starts failing while reconnecting: foreground stops with exit 4, not a retry loop", async () => {
    const s = await sshd();
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${web.port}`]);
    const p = await foreground(mode, cfg, port);
    writeFileSync(join(s.dir, "authorized_keys", "root"), "");
    const mark = s.log().length;
    await s.restart();
    const code = await Promise.race([
      p.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 30_000)),
    ]);
    expect(code).toBe(4);
    expect(p.stderr()).toContain("authentication failed");
    // One failed login, not a loop of them.
    const attempts = logSince(s, mark).match(/Connection from 127\.0\.0\.1/g) ?? [];
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.length).toBeLessThanOrEqual(2);
  });

  test("4: auth starts failing while reconnecting: background records stopped + authentication failed", async () => {
    const s = await sshd();
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${web.port}`]);
    const bg = await background(mode, cfg);
    writeFileSync(join(s.dir, "authorized_keys", "root"), "");
    await s.restart();
    await waitFor(() => !isAlive(bg.pid), { timeoutMs: 30_000, what: "the background run to end" });
    const st = await bg.status();
    expect(st.state).toBe("stopped");
    expect(st.lastError).toMatch(/^authentication failed/);
    expect(bg.log()).toMatch(/not retrying/);
    expect(await portAccepts(port)).toBe(false);
  });

  test("5: host key changed between connects: no authentication attempted, exit 3", async () => {
    const s = await sshd({ extra: { LogLevel: "DEBUG1" } });
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${web.port}`]);
    const p = await foreground(mode, cfg, port);
    expect(s.log()).toMatch(/userauth-request for user root/);
    await s.stop();
    newHostKeys(s);
    const mark = s.log().length;
    await s.restart();
    const code = await Promise.race([
      p.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 30_000)),
    ]);
    expect(code).toBe(3);
    expect(p.stderr()).toMatch(/host key for .* has changed/);
    expect(p.stderr()).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    const after = logSince(s, mark);
    expect(after).toMatch(/Connection from 127\.0\.0\.1/);
    expect(after).not.toMatch(/userauth-request|publickey|Accepted|Failed/);
  });

  test("5: host key changed: the background run records it and stops", async () => {
    const s = await sshd();
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${web.port}`]);
    const bg = await background(mode, cfg);
    await s.stop();
    newHostKeys(s);
    await s.restart();
    await waitFor(() => !isAlive(bg.pid), { timeoutMs: 30_000, what: "the background run to end" });
    const st = await bg.status();
    expect(st.state).toBe("stopped");
    expect(st.lastError).toMatch(/host key for .* has changed/);
    expect(st.lastError).toMatch(/SHA256:/);
  });

  test("6: target port closed while up: the local connection closes cleanly, the tunnel stays up", async () => {
    const s = await sshd();
    const target = createServer((c) => {
      c.on("error", () => {});
      c.write("hello\n");
    });
    const live = tracked(target);
    const tport = await listen(target);
    const [port, webPort] = [await freePort(), await freePort()];
    const cfg = config(s, [
      `LocalForward ${port} 127.0.0.1:${tport}`,
      `LocalForward ${webPort} 127.0.0.1:${web.port}`,
    ]);
    const p = await foreground(mode, cfg, port);
    const c = connect(port, "127.0.0.1");
    let got = "";
    let err: Error | undefined;
    c.on("data", (b) => {
      got += b;
    });
    c.on("error", (e) => {
      err = e;
    });
    const ended = new Promise<void>((r) => c.once("end", r));
    const closed = new Promise<boolean>((r) => c.once("close", r));
    await waitFor(() => got === "hello\n", { what: "the target's greeting through the tunnel" });
    // The target goes away: its listener and its open connection.
    await new Promise<void>((r) => {
      for (const x of live) x.destroy();
      target.close(() => r());
    });
    await ended;
    expect(await closed).toBe(false);
    expect(err).toBeUndefined();
    // A new connection to the closed port is closed too, without hanging.
    const again = connect(port, "127.0.0.1");
    again.on("error", () => {});
    let extra = "";
    again.on("data", (b) => {
      extra += b;
    });
    await new Promise((r) => again.once("close", r));
    expect(extra).toBe("");
    // The tunnel itself is fine.
    expect(await get(webPort)).toBe(TARGET_BODY);
    expect(p.child.exitCode).toBeNull();
    expect(p.stderr()).not.toMatch(/lost|reconnecting/);
  });

  test("7: 200 concurrent connections × 1 MiB echo: no corruption, no leaked channels (run -d)", async () => {
    const s = await sshd();
    const echo = createServer((c) => {
      c.on("error", () => {});
      c.pipe(c);
    });
    const live = tracked(echo);
    const tport = await listen(echo);
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${tport}`]);
    const bg = await background(mode, cfg);
    const sessionsBefore = sshdSessions(s).length;
    const one = () =>
      new Promise<boolean>((resolve, reject) => {
        const data = randomBytes(2 ** 20);
        const want = createHash("sha256").update(data).digest("hex");
        const got = createHash("sha256");
        let n = 0;
        const c = connect(port, "127.0.0.1", () => c.end(data));
        c.on("data", (b: Buffer) => {
          n += b.length;
          got.update(b);
        });
        c.on("error", reject);
        c.on("close", () => resolve(n === data.length && got.digest("hex") === want));
      });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, one));
    console.log(`[fault 7 ${mode}] 200 × 1 MiB echoed in ${Date.now() - started} ms`);
    expect(results.filter((ok) => !ok).length).toBe(0);
    // No channel left open: the bastion holds no connection to the target, fwd counts none.
    await waitFor(() => live.size === 0, {
      timeoutMs: 10_000,
      what: "the bastion's target connections to close",
    });
    await waitFor(async () => (await bg.status()).forwards[0]?.connections === 0, {
      timeoutMs: 10_000,
      what: "fwd status to count 0 open connections",
    });
    const st = await bg.status();
    expect(st).toMatchObject({ state: "up", reconnects: 0 });
    // Still one SSH session on the bastion (no reconnect happened underneath).
    expect(sshdSessions(s).length).toBe(sessionsBefore);
  });

  test("8: a 1 GiB download through the tunnel completes with bounded memory", async () => {
    const s = await sshd();
    const chunk = randomBytes(2 ** 20);
    const total = 1024; // × 1 MiB
    const source = createServer((c) => {
      c.on("error", () => {});
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent++;
          if (!c.write(chunk)) return void c.once("drain", pump);
        }
        c.end();
      };
      pump();
    });
    const tport = await listen(source);
    cleanups.push(() => new Promise((r) => source.close(r)));
    const port = await freePort();
    const cfg = config(s, [`LocalForward ${port} 127.0.0.1:${tport}`]);
    const p = await foreground(mode, cfg, port);
    const rss = (field: string) =>
      Number(
        readFileSync(`/proc/${p.pid}/status`, "utf8").match(
          new RegExp(`${field}:\\s+(\\d+)`),
        )?.[1] ?? 0,
      ) / 1024;
    const idle = rss("VmRSS");
    const chunkHash = createHash("sha256").update(chunk).digest("hex");
    let n = 0;
    let bad = 0;
    let pending: Buffer = Buffer.alloc(0);
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const c = connect(port, "127.0.0.1");
      c.on("data", (b: Buffer) => {
        n += b.length;
        // Check every whole 1 MiB as it arrives (a running hash of 1 GiB would be slower than the tunnel).
        pending = pending.length ? Buffer.concat([pending, b]) : b;
        while (pending.length >= chunk.length) {
          if (
            createHash("sha256").update(pending.subarray(0, chunk.length)).digest("hex") !==
            chunkHash
          )
            bad++;
          pending = pending.subarray(chunk.length);
        }
      });
      c.on("error", reject);
      c.on("close", () => resolve());
    });
    const ms = Date.now() - started;
    const peak = rss("VmHWM");
    console.log(
      `[fault 8 ${mode}] 1 GiB in ${ms} ms (${((1024 / ms) * 1000).toFixed(0)} MiB/s); fwd RSS idle ${idle.toFixed(0)} MiB, peak (VmHWM) ${peak.toFixed(0)} MiB`,
    );
    expect(n).toBe(total * chunk.length);
    expect(bad).toBe(0);
    expect(pending.length).toBe(0);
    // Generous: a copy of the whole transfer would be > 1 GiB; the bench sees ~100-200 MiB.
    expect(peak).toBeLessThan(512);
    expect(p.child.exitCode).toBeNull();
  });
});

/** sshd's per-connection processes (children of the listener). */
function sshdSessions(s: Sshd): number[] {
  const out = (
    spawnSync("ps", ["-o", "pid=", "--ppid", String(s.pid)], { encoding: "utf8" }).stdout ?? ""
  ).trim();
  return out ? out.split(/\s+/).map(Number) : [];
}
