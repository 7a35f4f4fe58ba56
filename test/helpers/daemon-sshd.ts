/**
 * A private OpenSSH sshd for the background-run e2e tests (until the shared
 * test/helpers/sshd.ts covers restart on the same port and "kill the bastion
 * and its session processes"). Runs `sshd -D -e -f CONFIG` as our child on a
 * loopback port; root logs in with a key from a temp authorized_keys.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";

export const hasSshd = existsSync("/usr/sbin/sshd") && process.getuid?.() === 0;

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export function keygen(path: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f", path]);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

/** Every descendant of `pid` (session processes of sshd), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(d), Number(f[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

export interface Sshd {
  port: number;
  dir: string;
  /** The user key that authorized_keys accepts. */
  userKey: string;
  /** Kills the listener and its session processes (a dead bastion), by PID. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same host key. */
  restart(): Promise<void>;
}

export async function startSshd(dir: string, opts: { passphrase?: string } = {}): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync("/run/sshd", { recursive: true });
  const hostKey = join(dir, "host_ed25519");
  const userKey = join(dir, "user_ed25519");
  keygen(hostKey);
  keygen(userKey, opts.passphrase ?? "");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${userKey}.pub`));
  const port = await freePort();
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "AllowTcpForwarding yes",
      `PidFile ${join(dir, "sshd.pid")}`,
      "",
    ].join("\n"),
  );
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    proc.stderr?.on("data", (b) => {
      log += b;
    });
    const deadline = Date.now() + 5000;
    while (!(await accepts(port))) {
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error(`sshd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const kill = async () => {
    const p = proc;
    if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
    const all = [p.pid, ...descendants(p.pid)];
    for (const pid of all) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await new Promise<void>((r) =>
      p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r()),
    );
  };
  await start();
  return { port, dir, userKey, kill, restart: start };
}
