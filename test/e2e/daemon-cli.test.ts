/**
 * Background runs driven like a user: `fwd run -d`, `status --json`, `stop`,
 * `logs` against a real OpenSSH sshd on loopback. Uses the compiled binary
 * (dist/fwd-linux-x64) when it exists, else `bun src/main.ts`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTimeOf } from "../../src/daemon/proc.ts";
// test/helpers/daemon-sshd.ts until the shared test/helpers/sshd.ts is committed.
import { freePort, hasSshd, keygen, type Sshd, startSshd } from "../helpers/daemon-sshd.ts";
import { offSizeKey, pemEncryptedRsaKey } from "../helpers/keypem.ts";

const root = join(import.meta.dir, "../..");
const binary = process.env.FWD_E2E_BIN ?? join(root, "dist/fwd-linux-x64");
const viaBinary = existsSync(binary) && !process.env.FWD_E2E_SOURCE;
const fwdArgv = viaBinary ? [binary] : [process.execPath, join(root, "src/main.ts")];
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
/** run -d relays prompts to its terminal once ui/ask.ts consults the daemon relay (src/daemon/relay.ts). */
const relayWired = readFileSync(join(root, "src/ui/ask.ts"), "utf8").includes("childRelay");
const deno = join(root, "node_modules/.bin/deno");
const hasDeno = existsSync(deno) && spawnSync(deno, ["--version"]).status === 0;

interface Run {
  code: number;
  out: string;
  err: string;
}

let work: string;
let stateDir: string;
let home: string;
let sshd: Sshd;
/** The key root may log in with. */
let userKey: string;
let target: Server;
let targetPort: number;

const env = (extra: Record<string, string> = {}) => ({
  HOME: home,
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  USER: "root",
  FWD_STATE_DIR: stateDir,
  ...extra,
});

function fwd(args: string[], extra: Record<string, string> = {}, argv = fwdArgv): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(argv[0]!, [...argv.slice(1), ...args], {
      env: env(extra),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (b) => {
      out += b;
    });
    p.stderr.on("data", (b) => {
      err += b;
    });
    p.on("close", (code) => res({ code: code ?? -1, out, err }));
  });
}

/** Reads one line from a forwarded port: proves the whole path laptop -> bastion -> target works. */
function through(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    s.setTimeout(5000, () => s.destroy(new Error("timeout")));
    s.on("data", (b) => {
      text += b;
      if (text.includes("\n")) {
        s.destroy();
        res(text);
      }
    });
    s.on("error", rej);
    s.on("close", () => res(text));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

async function status(
  name?: string,
): Promise<
  { name: string; state: string; pid: number | null; ports: number[]; reconnects: number }[]
> {
  const r = await fwd(["status", ...(name ? [name] : []), "--json"]);
  expect(r.code).toBe(0);
  return JSON.parse(r.out).forwards;
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function config(name: string, lines: Record<string, string>): string {
  const path = join(work, `${name}.config`);
  const body = Object.entries(lines)
    .map(([k, v]) => `  ${k} ${v}`)
    .join("\n");
  writeFileSync(path, `Host ${name}\n${body}\n`, { mode: 0o600 });
  return path;
}

function baseConfig(name: string, localPort: number, over: Record<string, string> = {}): string {
  return config(name, {
    HostName: "127.0.0.1",
    Port: String(sshd.port),
    User: "root",
    IdentityFile: userKey,
    IdentitiesOnly: "yes",
    UserKnownHostsFile: join(work, "known_hosts"),
    StrictHostKeyChecking: "accept-new",
    ServerAliveInterval: "1",
    ServerAliveCountMax: "2",
    LocalForward: `${localPort} 127.0.0.1:${targetPort}`,
    ...over,
  });
}

/** The pids every background run wrote in its log ("starting NAME (pid N)"). */
function loggedPids(): number[] {
  const pids: number[] = [];
  for (const f of readdirSync(stateDir).filter((f) => f.includes(".log"))) {
    for (const m of readFileSync(join(stateDir, f), "utf8").matchAll(
      /starting .* \(pid (\d+)\)/g,
    )) {
      pids.push(Number(m[1]));
    }
  }
  return pids;
}

const liveLogged = () => loggedPids().filter((p) => startTimeOf(p) !== undefined);

describe.skipIf(!hasSshd)(
  `background runs e2e (${viaBinary ? "compiled binary" : "bun src/main.ts"})`,
  () => {
    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "fwd-daemon-e2e-"));
      home = join(work, "home");
      stateDir = join(home, ".local/state/fwd-test");
      sshd = await startSshd(join(work, "sshd"));
      userKey = sshd.userKey;
      target = createServer((s) => s.end("hello from target\n"));
      await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
      targetPort = (target.address() as { port: number }).port;
    });

    afterEach(async () => {
      await fwd(["stop", "--all"]);
      // Whatever a failed test left: by PID, from the logs.
      for (const pid of liveLogged()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      rmSync(stateDir, { recursive: true, force: true });
    });

    afterAll(async () => {
      await sshd?.kill();
      target?.close();
      rmSync(work, { recursive: true, force: true });
    });

    test("run -d returns once the forward works; status, stop, status again", async () => {
      const port = await freePort();
      const cfg = baseConfig("forward1", port);
      const r = await fwd(["run", "-d", "forward1", "-F", cfg]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      // No wait: it must work the moment run -d returns.
      expect(await through(port)).toBe("hello from target\n");
      expect(r.out).toContain(`127.0.0.1:${port}`);
      expect(r.out).toContain("stop with: fwd stop forward1");

      const [st] = await status();
      expect(st).toMatchObject({ name: "forward1", state: "up", ports: [port] });
      const pid = st!.pid!;
      expect(startTimeOf(pid)).toBeString();
      // The tunnel runs with the JIT tuned for it (src/jit.ts), given at spawn.
      expect(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")).toContain(
        "BUN_JSC_useFTLJIT=0",
      );

      const stop = await fwd(["stop", "forward1"]);
      expect(stop.code).toBe(0);
      expect(stop.out).toBe(`stopped forward1 (pid ${pid})\n`);
      // stop returns only when the process is gone; the port is free right away.
      expect(startTimeOf(pid)).toBeUndefined();
      expect(await portFree(port)).toBe(true);
      expect(await status("forward1")).toEqual([
        expect.objectContaining({ name: "forward1", state: "stopped", pid: null, ports: [] }),
      ]);
      const again = await fwd(["stop", "forward1", "-F", cfg]);
      expect(again).toMatchObject({ code: 0, out: "forward1 is not running\n" });
      const logs = await fwd(["logs", "forward1"]);
      expect(logs.code).toBe(0);
      expect(logs.out).toMatch(/^\d{4}-\d\d-\d\dT\S+Z starting forward1/m);
    }, 30_000);

    test.skipIf(!hasDeno)(
      "under deno run: run -d re-execs deno, status, stop",
      async () => {
        const port = await freePort();
        const cfg = baseConfig("forward1", port);
        const denoArgv = [deno, "run", "-A", join(root, "src/main.ts")];
        const r = await fwd(["run", "-d", "forward1", "-F", cfg], {}, denoArgv);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(await through(port)).toBe("hello from target\n");
        const [st] = await status();
        expect(readFileSync(`/proc/${st!.pid}/cmdline`, "utf8").split("\0")).toContain(
          "--daemon-child",
        );
        const stop = await fwd(["stop", "forward1"], {}, denoArgv);
        expect(stop.out).toBe(`stopped forward1 (pid ${st!.pid})\n`);
        expect(await portFree(port)).toBe(true);
      },
      60_000,
    );

    test.skipIf(!hasDeno)(
      "under deno run: an ECDSA key that ssh2 encodes off the curve's size authenticates",
      async () => {
        // Half of all P-256 keys: ssh2's SEC1 PEM carries 0x00 ‖ scalar, which
        // Deno's parser refused ("invalid SEC1 private key"); src/tunnel/keypem.ts.
        const key = offSizeKey(work, 256, 32);
        appendFileSync(join(work, "sshd", "authorized_keys"), readFileSync(`${key}.pub`));
        const port = await freePort();
        const cfg = baseConfig("forward1", port, { IdentityFile: key });
        const denoArgv = [deno, "run", "-A", join(root, "src/main.ts")];
        const r = await fwd(["run", "-d", "forward1", "-F", cfg], {}, denoArgv);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(await through(port)).toBe("hello from target\n");
        expect((await fwd(["stop", "forward1"], {}, denoArgv)).code).toBe(0);
      },
      60_000,
    );

    test.skipIf(!hasDeno)(
      "under deno run: a PEM-encrypted RSA key (ssh-keygen -m PEM) authenticates, its passphrase from SSH_ASKPASS",
      async () => {
        // ssh2 decrypts it and kept the CBC padding after the DER, which Deno's
        // decoder refused ("unsupported"); src/tunnel/keypem.ts.
        const key = join(work, "pem_rsa");
        pemEncryptedRsaKey(key, "pem-pass");
        appendFileSync(join(work, "sshd", "authorized_keys"), readFileSync(`${key}.pub`));
        const askpass = join(work, "askpass-pem.sh");
        writeFileSync(askpass, "#!/bin/sh\necho pem-pass\n", { mode: 0o700 });
        const port = await freePort();
        const cfg = baseConfig("forward1", port, { IdentityFile: key });
        const denoArgv = [deno, "run", "-A", join(root, "src/main.ts")];
        const r = await fwd(
          ["run", "-d", "forward1", "-F", cfg],
          { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" },
          denoArgv,
        );
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(await through(port)).toBe("hello from target\n");
        expect((await fwd(["stop", "forward1"], {}, denoArgv)).code).toBe(0);
      },
      60_000,
    );

    test("status follows the bastion: up, reconnecting while it is dead, up again", async () => {
      const port = await freePort();
      const cfg = baseConfig("forward1", port);
      expect((await fwd(["run", "-d", "forward1", "-F", cfg])).code).toBe(0);
      await sshd.kill();
      await until("reconnecting", 15_000, async () => {
        const [st] = await status();
        return st?.state === "reconnecting" ? st : undefined;
      });
      await sshd.restart();
      const st = await until("up again", 60_000, async () => {
        const [s] = await status();
        return s?.state === "up" ? s : undefined;
      });
      expect(st.reconnects).toBeGreaterThanOrEqual(1);
      expect(await through(port)).toBe("hello from target\n");
    }, 90_000);

    test("10 concurrent run -d of one NAME: exactly one survives, nine clear errors", async () => {
      const port = await freePort();
      const cfg = baseConfig("forward1", port);
      const runs = await Promise.all(
        Array.from({ length: 10 }, () => fwd(["run", "-d", "forward1", "-F", cfg])),
      );
      const ok = runs.filter((r) => r.code === 0);
      const failed = runs.filter((r) => r.code !== 0);
      expect(ok.length).toBe(1);
      expect(failed.length).toBe(9);
      for (const f of failed) {
        expect(f.code).toBe(1);
        expect(f.err).toMatch(/forward1 is already running \(pid \d+ since /);
      }
      const all = await status();
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ state: "up", ports: [port] });
      expect(liveLogged()).toEqual([all[0]!.pid!]);
      expect(await through(port)).toBe("hello from target\n");
    }, 60_000);

    test("a second run -d of a running NAME names the running one", async () => {
      const port = await freePort();
      const cfg = baseConfig("forward1", port);
      expect((await fwd(["run", "-d", "forward1", "-F", cfg])).code).toBe(0);
      const [st] = await status();
      const r = await fwd(["run", "-d", "forward1", "-F", cfg]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`forward1 is already running (pid ${st!.pid} since `);
    }, 30_000);

    test("unknown host key: exit 3 with the fingerprint, nothing left running", async () => {
      const port = await freePort();
      const cfg = baseConfig("strict1", port, {
        StrictHostKeyChecking: "yes",
        UserKnownHostsFile: join(work, "empty_known_hosts"),
      });
      const r = await fwd(["run", "-d", "strict1", "-F", cfg]);
      expect(r.code).toBe(3);
      expect(r.err).toContain("host key");
      expect(r.err).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
      expect(liveLogged()).toEqual([]);
      expect(await portFree(port)).toBe(true);
      expect(await status()).toEqual([]);
    }, 30_000);

    test("authentication refused: exit 4, nothing left running", async () => {
      const port = await freePort();
      const stranger = join(work, "stranger_ed25519");
      if (!existsSync(stranger)) keygen(stranger);
      const cfg = baseConfig("noauth", port, { IdentityFile: stranger });
      const r = await fwd(["run", "-d", "noauth", "-F", cfg]);
      expect(r.code).toBe(4);
      expect(liveLogged()).toEqual([]);
      expect(await status()).toEqual([]);
    }, 30_000);

    test("local port in use: exit 5, nothing left running", async () => {
      const busy = createServer();
      await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
      const port = (busy.address() as { port: number }).port;
      try {
        const cfg = baseConfig("busy", port);
        const r = await fwd(["run", "-d", "busy", "-F", cfg]);
        expect(r.code).toBe(5);
        expect(r.err).toContain(String(port));
        expect(liveLogged()).toEqual([]);
      } finally {
        busy.close();
      }
    }, 30_000);

    test.skipIf(!hasTmux)(
      "closing the terminal it was started from leaves it running",
      async () => {
        const port = await freePort();
        const cfg = baseConfig("forward1", port);
        const sock = `fwd-e2e-daemon-${process.pid}`;
        const cmd = [
          ...Object.entries(env()).map(([k, v]) => `${k}='${v}'`),
          ...fwdArgv.map((a) => `'${a}'`),
          "run -d forward1 -F",
          `'${cfg}'`,
          "; exec sleep 600",
        ].join(" ");
        const tmux = (...a: string[]) =>
          spawnSync("tmux", ["-L", sock, ...a], { encoding: "utf8" });
        try {
          expect(tmux("new-session", "-d", "-s", sock, "-x", "120", "-y", "30", cmd).status).toBe(
            0,
          );
          const st = await until("up", 20_000, async () => {
            const [s] = await status();
            return s?.state === "up" ? s : undefined;
          });
          expect(tmux("kill-session", "-t", sock).status).toBe(0);
          await new Promise((r) => setTimeout(r, 500));
          expect(startTimeOf(st.pid!)).toBeString();
          expect(await through(port)).toBe("hello from target\n");
          expect((await status())[0]).toMatchObject({ state: "up", pid: st.pid });
        } finally {
          tmux("kill-server");
        }
      },
      40_000,
    );

    test.skipIf(!hasTmux || !relayWired)(
      "on a terminal, run -d asks for an unknown host key and the passphrase like the foreground run",
      async () => {
        const pass = `tty-${process.pid}-secret`;
        const key = join(work, "tty_ed25519");
        if (!existsSync(key)) keygen(key, pass);
        writeFileSync(join(sshd.dir, "authorized_keys"), readFileSync(`${key}.pub`), { flag: "a" });
        const port = await freePort();
        const cfg = baseConfig("tty1", port, {
          IdentityFile: key,
          StrictHostKeyChecking: "ask",
          UserKnownHostsFile: join(work, `tty_known_hosts_${Date.now()}`),
        });
        const sock = `fwd-e2e-relay-${process.pid}`;
        const tmux = (...a: string[]) =>
          spawnSync("tmux", ["-L", sock, ...a], { encoding: "utf8" });
        const screen = () => tmux("capture-pane", "-p", "-t", sock).stdout;
        const shown = (text: string) =>
          until(`"${text}" on screen`, 30_000, async () =>
            screen().includes(text) ? true : undefined,
          );
        const cmd = [
          ...Object.entries(env()).map(([k, v]) => `${k}='${v}'`),
          ...fwdArgv.map((a) => `'${a}'`),
          `run -d tty1 -F '${cfg}'; echo EXIT=$?; exec sleep 600`,
        ].join(" ");
        try {
          expect(tmux("new-session", "-d", "-s", sock, "-x", "150", "-y", "40", cmd).status).toBe(
            0,
          );
          await shown("Trust it and remember it?");
          expect(screen()).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
          tmux("send-keys", "-t", sock, "Left", "Enter");
          await shown("Passphrase for");
          tmux("send-keys", "-t", sock, "-l", pass);
          tmux("send-keys", "-t", sock, "Enter");
          await shown("EXIT=");
          expect(screen()).toContain("EXIT=0");
          expect(await through(port)).toBe("hello from target\n");
          const grep = spawnSync("grep", ["-r", "-l", "-a", pass, stateDir], { encoding: "utf8" });
          expect(grep).toMatchObject({ stdout: "", status: 1 });
        } finally {
          tmux("kill-server");
        }
      },
      60_000,
    );

    test("a passphrase given through SSH_ASKPASS is never written under the state dir", async () => {
      const pass = `pw-${process.pid}-${Date.now()}-secret`;
      const key = join(work, "locked_ed25519");
      if (!existsSync(key)) keygen(key, pass);
      writeFileSync(join(sshd.dir, "authorized_keys"), readFileSync(`${key}.pub`), { flag: "a" });
      const askpass = join(work, "askpass.sh");
      writeFileSync(askpass, `#!/bin/sh\necho '${pass}'\n`);
      chmodSync(askpass, 0o700);
      const port = await freePort();
      const cfg = baseConfig("locked", port, { IdentityFile: key });
      // Without a way to ask, the locked key cannot be used: the passphrase really is needed.
      expect((await fwd(["run", "-d", "locked", "-F", cfg])).code).toBe(4);
      const r = await fwd(["run", "-d", "locked", "-F", cfg, "-v"], {
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: "force",
      });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(await through(port)).toBe("hello from target\n");
      const grep = () =>
        spawnSync("grep", ["-r", "-l", "-a", pass, stateDir], { encoding: "utf8" });
      // While it runs (state, lock, log) and after it stopped (log).
      expect(readdirSync(stateDir)).toContain("locked.state.json");
      expect(grep()).toMatchObject({ stdout: "", status: 1 }); // 1 = no match (2 would be an error)
      expect((await fwd(["stop", "locked"])).code).toBe(0);
      expect(grep()).toMatchObject({ stdout: "", status: 1 });
    }, 60_000);
  },
);
