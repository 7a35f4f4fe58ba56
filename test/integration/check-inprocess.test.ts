/**
 * `fwd check` against an in-process ssh2 bastion (faults the test controls:
 * no common algorithm, wrong host key, wrong client key) and small targets
 * behind it (HTTP, an SSH banner, TLS).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  type AddressInfo,
  createServer,
  type Server as NetServer,
  connect as netConnect,
} from "node:net";
import { join } from "node:path";
import { type ParsedKey, Server, utils } from "ssh2";
import { checkCommand } from "../../src/commands/check.ts";
import { acquireLock } from "../../src/daemon/lock.ts";
import { selfId } from "../../src/daemon/proc.ts";
import { daemonFiles, ensureStateDir } from "../../src/daemon/state.ts";
import { fingerprint } from "../../src/knownhosts/key.ts";
import { resolvePaths } from "../../src/paths.ts";
import { initCtx, initHome } from "../helpers/init-home.ts";

setDefaultTimeout(30_000);
const h = initHome();
const env = { ...h.env, FWD_SYSTEM_CONFIG: "none" };
const keygen = (type: string, path: string) => {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", path]);
  const line = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return { path, line, priv: readFileSync(path), blob: Buffer.from(line.split(" ")[1]!, "base64") };
};
const hostKey = keygen("ed25519", join(h.home, "keys/host"));
const otherHostKey = keygen("ed25519", join(h.home, "keys/other_host"));
const userKey = keygen("ed25519", join(h.home, "keys/user"));
const strangerKey = keygen("ed25519", join(h.home, "keys/stranger"));

const servers: { close: () => void }[] = [];
const portOf = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
const listen = async <T extends NetServer>(s: T): Promise<T> => {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  servers.push(s);
  return s;
};

/** Names only the bastion knows, like target-host in the seed. */
const targets = new Map<string, number>();

function bastion(algorithms?: Record<string, string[]>): Server {
  const allowed = utils.parseKey(userKey.line) as ParsedKey;
  return new Server({ hostKeys: [hostKey.priv], ...(algorithms ? { algorithms } : {}) }, (conn) => {
    conn.on("error", () => {});
    conn.on("authentication", (ctx) => {
      if (ctx.method === "publickey" && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true)
          return ctx.accept();
      }
      ctx.reject(["publickey"]);
    });
    conn.on("tcpip", (accept, reject, info) => {
      const port = targets.get(info.destIP);
      if (port === undefined) return reject();
      const sock = netConnect({ host: "127.0.0.1", port });
      sock.once("error", () => reject());
      sock.once("connect", () => {
        const ch = accept();
        ch.on("error", () => {});
        sock.pipe(ch).pipe(sock);
      });
    });
  });
}

let good = 0;
let legacy = 0;
let web = 0;

beforeAll(async () => {
  good = portOf(await listen(bastion()));
  legacy = portOf(await listen(bastion({ kex: ["diffie-hellman-group1-sha1"] })));
  web = portOf(await listen(createHttpServer((_q, r) => r.end("Hello"))));
  targets.set("web", web);
  const banner = await listen(createServer((s) => s.end("SSH-2.0-OpenSSH_9.9 fake\r\n")));
  targets.set("sshbox", portOf(banner));
  targets.set("quiet", portOf(await listen(createServer(() => {}))));
  targets.set("slammer", portOf(await listen(createServer((s) => s.destroy()))));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(h.home, "keys/tls.key"),
      "-out",
      join(h.home, "keys/tls.crt"),
      "-subj",
      "/CN=tls",
      "-days",
      "1",
    ],
    { stdio: "ignore" },
  );
  const tls = createHttpsServer(
    {
      key: readFileSync(join(h.home, "keys/tls.key")),
      cert: readFileSync(join(h.home, "keys/tls.crt")),
    },
    (_q, r) => r.end(),
  );
  targets.set("tlsbox", portOf(await listen(tls)));
});
afterAll(() => {
  for (const s of servers) s.close();
  h.remove();
});

const freePort = async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
};

let n = 0;
/** Writes a config with one Host and returns what `fwd check` printed and exited with. */
async function check(opts: {
  port: number;
  forward?: string;
  identity?: string | string[];
  /** ssh-agent socket; without one no agent is used and only IdentityFile keys are offered. */
  agent?: string;
  knownHosts?: string;
  extra?: string[];
  json?: boolean;
  name?: string;
}) {
  const kh = join(h.home, `known_hosts.${n++}`);
  writeFileSync(kh, opts.knownHosts ?? `[127.0.0.1]:${opts.port} ${hostKey.line}\n`);
  const config = join(h.home, `config.${n}`);
  writeFileSync(
    config,
    [
      "Host fwdtest",
      "  HostName 127.0.0.1",
      `  Port ${opts.port}`,
      "  User tester",
      ...[opts.identity ?? userKey.path].flat().map((k) => `  IdentityFile ${k}`),
      `  IdentitiesOnly ${opts.agent ? "no" : "yes"}`,
      `  IdentityAgent ${opts.agent ?? "none"}`,
      `  UserKnownHostsFile ${kh}`,
      "  GlobalKnownHostsFile /dev/null",
      `  LocalForward ${opts.forward ?? `${await freePort()} web:80`}`,
      "  ConnectTimeout 5",
      ...(opts.extra ?? []),
      "",
    ].join("\n"),
  );
  const { ctx, out } = initCtx(h, { env, configFile: config, json: opts.json ?? false });
  const code = await checkCommand(ctx, opts.name ?? "fwdtest");
  if (process.env.FWD_SHOW_CHECK) console.log(`exit ${code}\n${out()}`);
  return { code, out: out(), kh };
}

describe("fwd check through an in-process bastion", () => {
  test("every layer passes and the HTTP target is recognised", async () => {
    const r = await check({ port: good });
    if (r.code !== 0) console.log(r.out);
    expect(r.code).toBe(0);
    for (const layer of [
      "config",
      "dns",
      "tcp",
      "ssh",
      "host-key",
      "auth",
      "forward",
      "destination",
    ]) {
      expect(r.out).toMatch(new RegExp(`^✔ ${layer} `, "m"));
    }
    expect(r.out).not.toContain("✖");
    expect(r.out).toContain("web:80 is an HTTP server (HTTP/1.1 200 OK)");
    expect(r.out).toContain(fingerprint(hostKey.blob));
  });

  test("--json prints the same findings as a stable array", async () => {
    const r = await check({ port: good, json: true });
    const rows = JSON.parse(r.out) as { layer: string; ok: boolean; ms: number }[];
    expect(r.code).toBe(0);
    expect(rows.map((f) => f.layer)).toEqual([
      "config",
      "dns",
      "tcp",
      "ssh",
      "host-key",
      "auth",
      "forward",
      "destination",
      "local",
    ]);
    expect(rows.every((f) => f.ok && typeof f.ms === "number")).toBe(true);
  });

  test.each([
    ["sshbox:22", "an SSH server (SSH-2.0-OpenSSH_9.9 fake)"],
    ["tlsbox:443", "a TLS server"],
  ])("the target behind %s is recognised", async (to, what) => {
    const r = await check({ port: good, forward: `${await freePort()} ${to}` });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${to} is ${what}`);
  });

  test("an unknown Host is a config failure (exit 2)", async () => {
    const r = await check({ port: good, name: "nosuchhost" });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^✖ config +no Host nosuchhost/m);
    expect(r.out).toContain("fwd init --name nosuchhost");
  });

  test("a refused port fails at tcp (exit 1) and says so", async () => {
    const r = await check({ port: await freePort() });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ tcp +connection to 127\.0\.0\.1 port \d+ refused/m);
    expect(r.out).toContain("nothing listens on that port");
  });

  test("a port that is not SSH fails at ssh", async () => {
    const r = await check({ port: web });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ ssh +tester@127\.0\.0\.1:\d+ does not speak SSH/m);
  });

  test("no common key exchange: both lists shown (exit 1)", async () => {
    const r = await check({ port: legacy });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ ssh +.*no algorithm in common/m);
    expect(r.out).toContain("no common key exchange (KexAlgorithms)");
    expect(r.out).toContain("server offers: diffie-hellman-group1-sha1");
  });

  test("unknown host key without a terminal (exit 3): fingerprint and how to accept", async () => {
    const r = await check({ port: good, knownHosts: "" });
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^✔ ssh /m);
    expect(r.out).toMatch(/^✖ host-key +host key for \[127\.0\.0\.1\]:\d+ is unknown/m);
    expect(r.out).toContain(fingerprint(hostKey.blob));
    expect(r.out).toContain("fwd run fwdtest --accept-new");
  });

  test("changed host key (exit 3): both fingerprints and the file:line", async () => {
    const r = await check({
      port: good,
      knownHosts: `# old\n[127.0.0.1]:${good} ${otherHostKey.line}\n`,
    });
    expect(r.code).toBe(3);
    expect(r.out).toContain(fingerprint(hostKey.blob));
    expect(r.out).toContain(fingerprint(otherHostKey.blob));
    expect(r.out).toContain(`${r.kh}:2`);
    expect(r.out).toContain("ssh-keygen -f");
  });

  test("accept-new records the key and goes on", async () => {
    const r = await check({
      port: good,
      knownHosts: "",
      extra: ["  StrictHostKeyChecking accept-new"],
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain("host key was new and is now trusted");
    expect(readFileSync(r.kh, "utf8")).toBe(`[127.0.0.1]:${good} ${hostKey.line}\n`);
  });

  test("a key the server does not accept fails at auth (exit 4), naming what was offered", async () => {
    const r = await check({ port: good, identity: strangerKey.path });
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/^✖ auth +authentication as tester failed/m);
    expect(r.out).toContain("~/keys/stranger (ssh-ed25519)");
    expect(r.out).toContain("authorized_keys");
  });

  test("a target the bastion cannot connect to fails at forward (exit 5)", async () => {
    const r = await check({ port: good, forward: `${await freePort()} nowhere:80` });
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^✖ forward +tester@127\.0\.0\.1:\d+ cannot connect to nowhere:80/m);
  });

  test("a local port held by another process fails at local (exit 5), naming the holder", async () => {
    const holder = await listen(createServer());
    const r = await check({ port: good, forward: `${portOf(holder)} web:80` });
    expect(r.code).toBe(5);
    expect(r.out).toMatch(
      new RegExp(`^✖ local +127\\.0\\.0\\.1 port ${portOf(holder)} is in use`, "m"),
    );
    expect(r.out).toContain(`held by pid ${process.pid}`);
  });

  test("a target that waits for the client to speak still passes", async () => {
    const r = await check({ port: good, forward: `${await freePort()} quiet:3306` });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^✔ destination quiet:3306 accepts connections/m);
  });

  test("a target that closes every connection at once fails at destination (exit 5)", async () => {
    const r = await check({ port: good, forward: `${await freePort()} slammer:80` });
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^✖ destination slammer:80 closes connections at once/m);
  });

  test("a local port held by this Host's own background run is fine", async () => {
    const files = daemonFiles(resolvePaths(env).stateDir, "fwdtest");
    ensureStateDir(files.dir);
    const lock = acquireLock(files, {
      ...selfId(),
      name: "fwdtest",
      startedAt: new Date().toISOString(),
    });
    expect(lock.ok).toBe(true);
    try {
      const holder = await listen(createServer());
      const r = await check({ port: good, forward: `${portOf(holder)} web:80` });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^✔ local +127\.0\.0\.1 port \d+ is held by this Host's own fwd run/m);
    } finally {
      if (lock.ok) lock.release();
    }
  });

  test("auth failure lists the facts: empty agent, encrypted key without passphrase, key readable by others", async () => {
    const sock = join(h.home, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 5000;
      while (!existsSync(sock) && Date.now() < deadline)
        await new Promise((w) => setTimeout(w, 20));
      const locked = join(h.home, "keys/locked");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-C", "", "-f", locked]);
      chmodSync(strangerKey.path, 0o644);
      const r = await check({ port: good, identity: [locked, strangerKey.path], agent: sock });
      expect(r.code).toBe(4);
      expect(r.out).toContain("agent ~/agent.sock holds 0 keys");
      expect(r.out).toContain("~/keys/locked (encrypted; no passphrase");
      expect(r.out).toContain("~/keys/stranger is mode 644");
    } finally {
      chmodSync(strangerKey.path, 0o600);
      if (agent.pid) process.kill(agent.pid, "SIGTERM");
    }
  });
});
