/**
 * The bench's world: a temp dir holding keys, a private sshd and an nginx
 * serving three bodies, all on 127.0.0.1, all our own children (killed by PID).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const HOST = "127.0.0.1";
/** The one algorithm set every row negotiates (sshd offers nothing else). */
export const ALGOS = {
  cipher: "aes128-gcm@openssh.com",
  kex: "curve25519-sha256",
  hostKey: "ssh-ed25519",
};
export const BODIES = { bulk: "/bulk", mid: "/64k", tiny: "/12b" } as const;
export const BULK_BYTES = 100 * 1024 * 1024;

export interface BenchEnv {
  dir: string;
  user: string;
  sshdPort: number;
  nginxPort: number;
  keyPath: string;
  knownHosts: string;
  children: ChildProcess[];
  /** Kill what we started (by PID) and remove the temp dir. */
  close(): Promise<void>;
}

/** A port the kernel just gave us on 127.0.0.1, then released; checked free again before use. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

/** True when nothing accepts on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: HOST, port });
    c.once("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.once("error", () => resolve(true));
  });
}

export async function assertFree(port: number): Promise<void> {
  if (!(await portIsFree(port))) throw new Error(`bench: 127.0.0.1:${port} is already in use`);
}

/** Resolves once 127.0.0.1:port accepts, or throws after `ms`. */
export async function waitListening(port: number, ms: number, child?: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child && child.exitCode !== null)
      throw new Error(`exited (${child.exitCode}) before listening`);
    if (!(await portIsFree(port))) return;
    await Bun.sleep(10);
  }
  throw new Error(`nothing listening on ${HOST}:${port} after ${ms} ms`);
}

export function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try {
        process.kill(c.pid!, "SIGKILL");
      } catch {}
    }, 2000);
    c.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(c.pid!, "SIGTERM");
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/** Descendants first (sshd's per-connection processes), then the child itself. */
function descendants(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
    return kids.filter(Boolean).flatMap((k) => [...descendants(Number(k)), Number(k)]);
  } catch {
    return [];
  }
}

function nginxConf(dir: string, port: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-tmp;
  proxy_temp_path ${dir}/nginx-tmp;
  fastcgi_temp_path ${dir}/nginx-tmp;
  uwsgi_temp_path ${dir}/nginx-tmp;
  scgi_temp_path ${dir}/nginx-tmp;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  server {
    listen ${HOST}:${port};
    root ${dir}/www;
    location = /bulk { try_files /bulk =404; }
    location = /64k { try_files /64k =404; }
    location = /12b { try_files /12b =404; }
  }
}
`;
}

function sshdConf(dir: string, port: number): string {
  return `Port ${port}
ListenAddress ${HOST}
HostKey ${dir}/ssh_host_ed25519_key
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${dir}/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowTcpForwarding yes
Ciphers ${ALGOS.cipher}
KexAlgorithms ${ALGOS.kex}
HostKeyAlgorithms ${ALGOS.hostKey}
MaxStartups 100:30:200
MaxSessions 100
LogLevel ERROR
`;
}

function startLogged(cmd: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, "a");
  return spawn(cmd, args, { stdio: ["ignore", fd, fd] });
}

export async function startEnv(): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), "fwd-bench-"));
  const children: ChildProcess[] = [];
  const env: BenchEnv = {
    dir,
    // Bun's os.userInfo() can say "unknown"; sshd wants the passwd name.
    user: execFileSync("id", ["-un"], { encoding: "utf8" }).trim(),
    sshdPort: 0,
    nginxPort: 0,
    keyPath: join(dir, "id_ed25519"),
    knownHosts: join(dir, "known_hosts"),
    children,
    close: async () => {
      for (const c of children.reverse()) {
        for (const pid of c.pid ? descendants(c.pid) : []) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        await killChild(c);
      }
      if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // Bodies: random bulk (incompressible), 64 KiB, 12 bytes.
    mkdirSync(join(dir, "www"));
    mkdirSync(join(dir, "nginx-tmp"));
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    const fd = openSync(join(dir, "www/bulk"), "w");
    for (let i = 0; i < BULK_BYTES / chunk.length; i++) {
      randomFillSync(chunk);
      writeFileSync(fd, chunk);
    }
    writeFileSync(join(dir, "www/64k"), randomFillSync(Buffer.alloc(64 * 1024)));
    writeFileSync(join(dir, "www/12b"), "Hello World\n");

    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      join(dir, "ssh_host_ed25519_key"),
    ]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", env.keyPath]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(`${env.keyPath}.pub`), {
      mode: 0o600,
    });

    env.nginxPort = await freePort();
    await assertFree(env.nginxPort);
    writeFileSync(join(dir, "nginx.conf"), nginxConf(dir, env.nginxPort));
    const nginx = startLogged(
      "nginx",
      ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "nginx.err")],
      join(dir, "nginx.log"),
    );
    children.push(nginx);
    await waitListening(env.nginxPort, 5000, nginx);

    env.sshdPort = await freePort();
    await assertFree(env.sshdPort);
    writeFileSync(join(dir, "sshd_config"), sshdConf(dir, env.sshdPort));
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const sshd = startLogged(
      "/usr/sbin/sshd",
      ["-D", "-e", "-f", join(dir, "sshd_config")],
      join(dir, "sshd.log"),
    );
    children.push(sshd);
    await waitListening(env.sshdPort, 5000, sshd);
    const hostPub = readFileSync(join(dir, "ssh_host_ed25519_key.pub"), "utf8").trim();
    const [type, key] = hostPub.split(/\s+/);
    writeFileSync(env.knownHosts, `[${HOST}]:${env.sshdPort} ${type} ${key}\n`);
    return env;
  } catch (e) {
    await env.close();
    throw e;
  }
}
