/**
 * A private, real OpenSSH sshd for tests (TESTING.md tier 3): own config, host
 * keys (ed25519 + rsa), per-user authorized_keys, pid file and log, running as
 * our child (`sshd -D -e -f CONFIG`) on a free loopback port, or on a given
 * address inside a network namespace. Stopped by PID together with its
 * per-connection session processes (killing only the listener leaves open
 * sessions, and their forwards, alive).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./ports.ts";
import { killTree } from "./procs.ts";

export const SSHD = "/usr/sbin/sshd";
/** Real-sshd tests need the binary and root (to log in as test users). */
export const canRunSshd = existsSync(SSHD) && process.getuid?.() === 0;

export type SshdConfigValue = string | number | readonly string[];

export interface SshdOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Default: a free loopback port, or 22 inside a netns. */
  port?: number;
  /** Run inside this network namespace (`ip netns exec NS sshd ...`). */
  netns?: string;
  /** Public keys allowed per user: { root: ["ssh-ed25519 AAAA..."] }. */
  authorized?: Record<string, readonly string[]>;
  /**
   * sshd_config keywords overriding the defaults (AllowTcpForwarding,
   * PermitOpen, GatewayPorts, LogLevel, Ciphers, ...). An array value writes
   * one line per element. sshd keeps the first value, so defaults for a key
   * given here are dropped.
   */
  extra?: Record<string, SshdConfigValue>;
  /** Raw text appended after everything (Match blocks must come last). */
  tail?: string;
  /** Directory to use instead of a fresh temp dir (kept on stop). */
  dir?: string;
}

export interface Sshd {
  host: string;
  port: number;
  /** PID of the listening sshd (changes on restart). */
  pid: number;
  dir: string;
  configPath: string;
  /** The ed25519 host key as "ssh-ed25519 AAAA..." (no comment). */
  hostKeyPub: string;
  /** The rsa host key as "ssh-rsa AAAA...". */
  hostKeyPubRsa: string;
  /** A known_hosts line for the ed25519 key; default host field is host or [host]:port. */
  knownHostsLine(hostField?: string): string;
  /** Adds a public key to `user`'s authorized_keys (takes effect on the next login). */
  authorize(user: string, pub: string): void;
  /** Everything sshd logged so far (all runs). */
  log(): string;
  /** Waits until the log matches `re`; returns the match. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Kills the listener and every session process (a dead bastion); idempotent. */
  stop(): Promise<void>;
  /** stop(), then start again on the same address, port and host keys. */
  restart(): Promise<void>;
  /** stop() and remove the temp dir (unless `dir` was given). */
  cleanup(): Promise<void>;
}

const DEFAULTS: Record<string, SshdConfigValue> = {
  UsePAM: "no",
  StrictModes: "no",
  PasswordAuthentication: "no",
  KbdInteractiveAuthentication: "no",
  PubkeyAuthentication: "yes",
  PermitRootLogin: "prohibit-password",
  AllowTcpForwarding: "yes",
  GatewayPorts: "no",
  LogLevel: "VERBOSE",
  PrintMotd: "no",
  UseDNS: "no",
  MaxStartups: "100:30:200",
};

/** Renders the config: extra first-wins over defaults; keys matched case-insensitively. */
export function renderSshdConfig(
  base: Record<string, SshdConfigValue>,
  extra: Record<string, SshdConfigValue> = {},
  tail = "",
): string {
  const merged = new Map<string, [string, SshdConfigValue]>();
  for (const [k, v] of Object.entries(base)) merged.set(k.toLowerCase(), [k, v]);
  for (const [k, v] of Object.entries(extra)) merged.set(k.toLowerCase(), [k, v]);
  const lines: string[] = [];
  for (const [key, value] of merged.values()) {
    const values = Array.isArray(value) ? value : [String(value)];
    for (const v of values) lines.push(`${key} ${v}`);
  }
  return `${lines.join("\n")}\n${tail ? `${tail.trimEnd()}\n` : ""}`;
}

function retry<T>(fn: () => T, attempts = 20): T {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (i >= attempts) throw e;
      // /etc/passwd lock held by a concurrent useradd: back off briefly.
      Bun.sleepSync(50 * i);
    }
  }
}

/**
 * Makes sure a system user exists that sshd will let in with a key: created
 * with `useradd -M -s /bin/sh` and password field `*` (a `!` locked account is
 * refused by sshd with UsePAM no, even for public keys). `home` sets the
 * passwd home (OpenSSH's ssh reads it instead of $HOME).
 */
export function ensureUser(name: string, opts: { home?: string } = {}): void {
  const exists = spawnSync("id", ["-u", name], { stdio: "ignore" }).status === 0;
  if (!exists) {
    const home = opts.home ? ["-d", opts.home] : [];
    retry(() =>
      execFileSync("useradd", ["-M", "-s", "/bin/sh", "-p", "*", ...home, name], {
        stdio: ["ignore", "ignore", "pipe"],
      }),
    );
    return;
  }
  const args = ["-p", "*", "-s", "/bin/sh", ...(opts.home ? ["-d", opts.home] : []), name];
  const shadow = spawnSync("getent", ["shadow", name], { encoding: "utf8" }).stdout ?? "";
  const [, pw = ""] = shadow.split(":");
  const passwd = spawnSync("getent", ["passwd", name], { encoding: "utf8" }).stdout ?? "";
  const currentHome = passwd.split(":")[5];
  if (pw.startsWith("!") || (opts.home && currentHome !== opts.home)) {
    retry(() => execFileSync("usermod", args, { stdio: ["ignore", "ignore", "pipe"] }));
  }
}

function keyPub(path: string): string {
  const [type, blob] = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/);
  return `${type} ${blob}`;
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found (apt-get install openssh-server)`);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "fwd-sshd-"));
  mkdirSync(dir, { recursive: true });
  // Test users other than root read their authorized_keys as themselves.
  chmodSync(dir, 0o755);
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (opts.netns ? 22 : await freePort(host));
  const hostKey = join(dir, "ssh_host_ed25519_key");
  const hostKeyRsa = join(dir, "ssh_host_rsa_key");
  for (const [path, type] of [
    [hostKey, "ed25519"],
    [hostKeyRsa, "rsa"],
  ] as const) {
    if (!existsSync(path)) {
      const bits = type === "rsa" ? ["-b", "2048"] : [];
      execFileSync("ssh-keygen", ["-q", "-t", type, ...bits, "-N", "", "-C", "", "-f", path]);
    }
  }
  const authDir = join(dir, "authorized_keys");
  mkdirSync(authDir, { recursive: true, mode: 0o755 });
  chmodSync(authDir, 0o755);
  const authorize = (user: string, pub: string) => {
    const file = join(authDir, user);
    appendFileSync(file, `${pub.trim()}\n`);
    chmodSync(file, 0o644);
  };
  for (const [user, keys] of Object.entries(opts.authorized ?? {})) {
    for (const k of keys) authorize(user, k);
  }
  const configPath = join(dir, "sshd_config");
  writeFileSync(
    configPath,
    renderSshdConfig(
      {
        Port: String(port),
        ListenAddress: host.includes(":") ? `[${host}]` : host,
        HostKey: [hostKey, hostKeyRsa],
        PidFile: join(dir, "sshd.pid"),
        AuthorizedKeysFile: join(authDir, "%u"),
        ...DEFAULTS,
      },
      opts.extra,
      opts.tail,
    ),
  );
  const logPath = join(dir, "sshd.log");
  writeFileSync(logPath, "");
  const log = () => readFileSync(logPath, "utf8");

  let child: ChildProcess | undefined;
  let pid = 0;
  const launch = async () => {
    const before = log().length;
    const fd = openSync(logPath, "a");
    const argv = [SSHD, "-D", "-e", "-f", configPath];
    const cmd = opts.netns ? ["ip", "netns", "exec", opts.netns, ...argv] : argv;
    const c = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    child = c;
    let exited: number | null = null;
    c.once("exit", (code, sig) => {
      exited = code ?? (sig ? 128 : 1);
    });
    if (!c.pid) throw new Error("could not spawn sshd");
    pid = c.pid;
    const listening = new RegExp(`Server listening on \\S+ port ${port}\\b`);
    await waitFor(
      () => {
        if (exited !== null) {
          throw new Error(`sshd exited with ${exited}:\n${log().slice(before)}`);
        }
        return listening.test(log().slice(before));
      },
      { timeoutMs: 15_000, what: `sshd to listen on ${host}:${port}` },
    ).catch((e) => {
      if (exited === null) void killTree([pid]);
      throw new Error(`${(e as Error).message}\n--- sshd log ---\n${log().slice(before)}`);
    });
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c?.pid) return;
    await killTree([c.pid]);
  };

  await launch();
  const hostKeyPub = keyPub(hostKey);
  const sshd: Sshd = {
    host,
    port,
    get pid() {
      return pid;
    },
    dir,
    configPath,
    hostKeyPub,
    hostKeyPubRsa: keyPub(hostKeyRsa),
    knownHostsLine: (hostField) =>
      `${hostField ?? (port === 22 ? host : `[${host}]:${port}`)} ${hostKeyPub}`,
    authorize,
    log,
    waitForLog: async (re, timeoutMs = 10_000) => {
      let m: RegExpMatchArray | null = null;
      await waitFor(
        () => {
          m = log().match(re);
          return m !== null;
        },
        { timeoutMs, what: `sshd log to match ${re}` },
      );
      return m!;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    cleanup: async () => {
      await stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

export interface ClientConfigOptions {
  /** IdentityFile for root (IdentitiesOnly yes). */
  identity: string;
  /** More lines for the Host block (indented here). */
  lines?: readonly string[];
  /** Host name; forward1 by default. */
  name?: string;
  /** Pre-fill the config's own known_hosts with sshd's key (default true). */
  known?: boolean;
}

/**
 * Writes a client ssh_config into `dir` with one Host for `sshd` (root, the
 * given identity, a known_hosts of its own) and returns its path; each call
 * gets fresh file names.
 */
export function writeClientConfig(sshd: Sshd, dir: string, o: ClientConfigOptions): string {
  const id = Math.random().toString(36).slice(2);
  const kh = join(dir, `known_hosts_${id}`);
  writeFileSync(kh, o.known === false ? "" : `${sshd.knownHostsLine()}\n`);
  const file = join(dir, `config_${id}`);
  writeFileSync(
    file,
    [
      `Host ${o.name ?? "forward1"}`,
      "  HostName 127.0.0.1",
      `  Port ${sshd.port}`,
      "  User root",
      `  IdentityFile ${o.identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${kh}`,
      ...(o.lines ?? []).map((l) => `  ${l}`),
      "",
    ].join("\n"),
  );
  return file;
}
