/**
 * `fwd check` on the real topology (TESTING.md tier 4): network namespaces
 * for a laptop, a bastion running OpenSSH's sshd, and a target (HTTP server
 * and its own sshd) that only the bastion can reach. fwd runs inside the
 * laptop namespace; names resolve from per-namespace hosts files only.
 *
 *   laptop 198.51.100.1 ── 198.51.100.2 bastion 203.0.113.1 ── 203.0.113.2 target
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprint } from "../../src/knownhosts/key.ts";

const fingerprintOf = (line: string) => fingerprint(Buffer.from(line.split(" ")[1]!, "base64"));

const root = join(import.meta.dir, "../..");
/** The compiled binary when built (or $FWD_E2E_BIN), else the source through bun. */
const builtBinary = process.env.FWD_E2E_BIN ?? join(root, "dist/fwd-linux-x64");
const fwdCommand = existsSync(builtBinary)
  ? [builtBinary]
  : [process.execPath, join(root, "src/main.ts")];
const usable =
  process.getuid?.() === 0 &&
  existsSync("/usr/sbin/sshd") &&
  spawnSync("ip", ["netns", "list"]).status === 0;

const tag = `fwdchk${process.pid}`;
const ns = { laptop: `${tag}-l`, bastion: `${tag}-b`, target: `${tag}-t` };
const dir = mkdtempSync(join(tmpdir(), "fwd-check-netns-"));
const children: ChildProcess[] = [];
setDefaultTimeout(60_000);

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
const inNs = (n: string, ...cmd: string[]) => ip("netns", "exec", n, ...cmd);

function etc(n: string, hosts: string): void {
  const d = `/etc/netns/${n}`;
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "hosts"), `127.0.0.1 localhost\n${hosts}\n`);
  writeFileSync(join(d, "nsswitch.conf"), "hosts: files\n");
  writeFileSync(join(d, "resolv.conf"), "");
}

/** Starts cmd inside namespace n; returns a getter for its stderr so far (sshd -e logs there). */
function spawnIn(n: string, cmd: string[]): () => string {
  const c = spawn("ip", ["netns", "exec", n, ...cmd], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  c.stderr?.on("data", (b) => {
    log += b;
  });
  children.push(c);
  return () => log;
}

/** Waits until something listens on addr:port inside namespace n. */
async function listening(n: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const out = spawnSync("ip", ["netns", "exec", n, "ss", "-Hltn", `sport = :${port}`], {
      encoding: "utf8",
    });
    if (out.stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port} in ${n}`);
}

function keygen(path: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

function sshdConfig(name: string, listen: string, extra: string[]): string {
  const path = join(dir, `${name}.sshd_config`);
  writeFileSync(
    path,
    [
      `ListenAddress ${listen}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      `PidFile ${join(dir, `${name}.pid`)}`,
      ...extra,
      "",
    ].join("\n"),
  );
  return path;
}

let hostKeyLine = "";
let otherHostKeyLine = "";
/** Log of the sshd that only the host key tests talk to (LogLevel VERBOSE logs every key offered). */
let hkLog: () => string = () => "";

beforeAll(async () => {
  if (!usable) return;
  // Topology. No default routes anywhere: the laptop cannot reach 203.0.113.0/24.
  for (const n of Object.values(ns)) {
    ip("netns", "add", n);
    inNs(n, "ip", "link", "set", "lo", "up");
  }
  ip(
    "link",
    "add",
    `${tag}a`,
    "netns",
    ns.laptop,
    "type",
    "veth",
    "peer",
    "name",
    `${tag}b`,
    "netns",
    ns.bastion,
  );
  ip(
    "link",
    "add",
    `${tag}c`,
    "netns",
    ns.bastion,
    "type",
    "veth",
    "peer",
    "name",
    `${tag}d`,
    "netns",
    ns.target,
  );
  const addr = (n: string, dev: string, cidr: string) => {
    inNs(n, "ip", "addr", "add", cidr, "dev", dev);
    inNs(n, "ip", "link", "set", dev, "up");
  };
  addr(ns.laptop, `${tag}a`, "198.51.100.1/24");
  addr(ns.bastion, `${tag}b`, "198.51.100.2/24");
  addr(ns.bastion, `${tag}c`, "203.0.113.1/24");
  addr(ns.target, `${tag}d`, "203.0.113.2/24");
  // A blackholed address: frames go to a MAC nobody has, so a SYN is never answered.
  inNs(
    ns.laptop,
    "ip",
    "neigh",
    "add",
    "198.51.100.99",
    "lladdr",
    "02:00:00:00:00:99",
    "dev",
    `${tag}a`,
    "nud",
    "permanent",
  );
  etc(ns.laptop, "198.51.100.2 bastion-host\n198.51.100.99 dark-host");
  etc(ns.bastion, "203.0.113.2 target-host");
  etc(ns.target, "");

  hostKeyLine = keygen(join(dir, "host_ed25519"));
  writeFileSync(join(dir, "authorized_keys"), `${keygen(join(dir, "id_ed25519"))}\n`);
  keygen(join(dir, "id_other"));
  mkdirSync("/run/sshd", { recursive: true });
  spawnIn(ns.bastion, [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-f",
    sshdConfig("bastion", "198.51.100.2:22", ["AllowTcpForwarding yes"]),
  ]);
  spawnIn(ns.bastion, [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-f",
    sshdConfig("locked", "198.51.100.2:2222", ["AllowTcpForwarding no"]),
  ]);
  spawnIn(ns.bastion, [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-f",
    sshdConfig("chacha", "198.51.100.2:2023", ["Ciphers chacha20-poly1305@openssh.com"]),
  ]);
  spawnIn(ns.target, [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-f",
    sshdConfig("target", "203.0.113.2:22", []),
  ]);
  hkLog = spawnIn(ns.bastion, [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-f",
    sshdConfig("hk", "198.51.100.2:2022", ["LogLevel VERBOSE"]),
  ]);
  const web =
    "Bun.serve({ hostname: '203.0.113.2', port: 8080, fetch: () => new Response('Hello World, This server is target-host.') })";
  spawnIn(ns.target, [process.execPath, "-e", web]);
  await Promise.all([
    listening(ns.bastion, 22),
    listening(ns.bastion, 2222),
    listening(ns.bastion, 2022),
    listening(ns.bastion, 2023),
    listening(ns.target, 22),
    listening(ns.target, 8080),
  ]);

  otherHostKeyLine = keygen(join(dir, "other_host_ed25519"));
  writeFileSync(join(dir, "kh_empty"), "");
  writeFileSync(join(dir, "kh_changed"), `# rotated?\n[bastion-host]:2022 ${otherHostKeyLine}\n`);
  const kh = join(dir, "known_hosts");
  writeFileSync(
    kh,
    `bastion-host ${hostKeyLine}\n[bastion-host]:2222 ${hostKeyLine}\ntarget-host ${hostKeyLine}\n`,
  );
  const common = [
    "  User root",
    "  IdentitiesOnly yes",
    "  IdentityAgent none",
    `  UserKnownHostsFile ${kh}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "  ConnectTimeout 2",
  ];
  const key = (name: string) => `  IdentityFile ${join(dir, name)}`;
  const host = (name: string, ...lines: string[]) => [
    `Host ${name}`,
    ...lines,
    ...(lines.some((l) => l.includes("IdentityFile")) ? [] : [key("id_ed25519")]),
    ...common,
    "",
  ];
  writeFileSync(
    join(dir, "config"),
    [
      // The jump host is resolved with its own config, as ssh does.
      ...host("bastion-host"),
      ...host("web", "  HostName bastion-host", "  LocalForward 18080 target-host:8080"),
      ...host("ssh-target", "  HostName bastion-host", "  LocalForward 10022 target-host:22"),
      ...host(
        "jump",
        "  HostName target-host",
        "  ProxyJump root@bastion-host",
        "  LocalForward 18081 203.0.113.2:8080",
      ),
      ...host(
        "locked",
        "  HostName bastion-host",
        "  Port 2222",
        "  LocalForward 18082 target-host:8080",
      ),
      ...host(
        "unresolvable-target",
        "  HostName bastion-host",
        "  LocalForward 18083 nosuch-target:8080",
      ),
      ...host("closed-target", "  HostName bastion-host", "  LocalForward 18084 target-host:9"),
      ...host("dark", "  HostName dark-host", "  LocalForward 18085 target-host:8080"),
      ...host("nameless", "  HostName nosuch-bastion", "  LocalForward 18086 target-host:8080"),
      ...["unknown-key:kh_empty", "changed-key:kh_changed", "good-key:known_hosts"].flatMap(
        (spec) => {
          const [name, file] = spec.split(":") as [string, string];
          return [
            `Host ${name}`,
            "  HostName bastion-host",
            "  Port 2022",
            `  UserKnownHostsFile ${join(dir, file)}`,
            "  LocalForward 18090 target-host:8080",
            key("id_ed25519"),
            ...common,
            "",
          ];
        },
      ),
      ...host(
        "chacha-only",
        "  HostName bastion-host",
        "  Port 2023",
        "  LocalForward 18091 target-host:8080",
      ),
      ...host(
        "reverse",
        "  HostName bastion-host",
        "  RemoteForward 19000 localhost:80",
        "  DynamicForward 11080",
      ),
      ...host(
        "wrong-key",
        "  HostName bastion-host",
        key("id_other"),
        "  LocalForward 18087 target-host:8080",
      ),
    ].join("\n"),
  );
});

afterAll(() => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, "SIGKILL");
  for (const n of Object.values(ns)) {
    spawnSync("ip", ["netns", "del", n]);
    rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
});

/** `fwd check NAME` (binary or source), inside the laptop namespace, with a minimal environment. */
function check(name: string, ...flags: string[]) {
  const env = {
    HOME: dir,
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    USER: "root",
    FWD_SYSTEM_CONFIG: "none",
  };
  const r = spawnSync(
    "ip",
    ["netns", "exec", ns.laptop, ...fwdCommand, "check", name, "-F", join(dir, "config"), ...flags],
    { env, encoding: "utf8", timeout: 60_000 },
  );
  if (process.env.FWD_SHOW_CHECK) console.log(`exit ${r.status}\n${r.stdout}${r.stderr}`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!usable)("fwd check across namespaces (laptop → sshd bastion → target)", () => {
  test("happy path: the target's web page answers through the bastion", () => {
    const r = check("web");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^✔ dns +bastion-host resolves/m);
    expect(r.out).toMatch(/^✔ ssh +root@bastion-host speaks SSH/m);
    expect(r.out).toContain("SSH-2.0-OpenSSH_");
    expect(r.out).toContain("target-host:8080 is an HTTP server (HTTP/1.1 200 OK)");
    expect(r.out).not.toContain("✖");
  });

  test("an SSH target is recognised by its banner", () => {
    const r = check("ssh-target");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/target-host:22 is an SSH server \(SSH-2\.0-OpenSSH_/);
  });

  test("a ProxyJump chain: each hop checked, the second reached through the first", () => {
    const r = check("jump", "--json");
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { layer: string; ok: boolean; title: string }[];
    expect(rows.map((f) => f.layer)).toEqual([
      "config",
      "dns",
      "tcp",
      "ssh",
      "host-key",
      "auth",
      "tcp",
      "ssh",
      "host-key",
      "auth",
      "forward",
      "destination",
      "local",
    ]);
    expect(rows[6]!.title).toBe("root@bastion-host reaches target-host:22");
    expect(rows[11]!.title).toContain("HTTP server");
  });

  test("AllowTcpForwarding no on the bastion: forward refused (exit 5), the hint names it", () => {
    const r = check("locked");
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^✔ auth /m);
    expect(r.out).toMatch(
      /^✖ forward +root@bastion-host:2222 refuses to forward to target-host:8080/m,
    );
    expect(r.out).toContain("AllowTcpForwarding");
  });

  test("a target name the bastion cannot resolve (exit 5)", () => {
    const r = check("unresolvable-target");
    expect(r.code).toBe(5);
    expect(r.out).toMatch(/^✖ forward +root@bastion-host cannot connect to nosuch-target:8080/m);
    expect(r.out).toContain("cannot resolve the target name");
  });

  test("a closed port on the target (exit 5)", () => {
    const r = check("closed-target");
    expect(r.code).toBe(5);
    expect(r.out).toContain("Connection refused");
    expect(r.out).toContain("nothing listens on that port");
  });

  test("a blackholed bastion address times out at tcp (exit 1)", () => {
    const r = check("dark");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ tcp +connection to dark-host port 22 timed out/m);
    expect(r.out).toContain("firewall");
  });

  test("a bastion name that does not resolve fails at dns (exit 1)", () => {
    const r = check("nameless");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ dns +nosuch-bastion does not resolve/m);
  });

  test("a key the real sshd does not accept fails at auth (exit 4)", () => {
    const r = check("wrong-key");
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/^✖ auth +authentication as root failed/m);
    expect(r.out).toContain("id_other (ssh-ed25519)");
  });

  test("RemoteForward: the bastion lets fwd listen; DynamicForward: local port free", () => {
    const r = check("reverse");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^✔ forward +root@bastion-host can listen on localhost:19000/m);
    expect(r.out).toMatch(/^✔ forward +SOCKS on port 11080/m);
    expect(r.out).toMatch(/^✔ local +127\.0\.0\.1 port 11080 is free/m);
  });

  test("a bastion that allows only chacha20-poly1305: explained at ssh (Bun lacks it)", () => {
    const r = check("chacha-only");
    if (r.out.includes("✔ ssh ")) return; // a runtime with chacha20 (Node) connects: nothing to explain
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^✖ ssh +root@bastion-host:2023: no algorithm in common/m);
    expect(r.out).toContain("server offers: chacha20-poly1305@openssh.com");
    expect(r.out).toContain("Bun lacks it");
  });

  describe("host keys against real sshd: refused before any key is offered", () => {
    const count = (re: RegExp) => (hkLog().match(re) ?? []).length;
    const offered = () => count(/(Accepted|Failed|Postponed) publickey/g);
    const ended = () =>
      count(/Connection closed by|Connection reset by|Disconnected from|Received disconnect from/g);
    /** sshd logs asynchronously (and spawnSync blocked our reads): wait for the connection's last line. */
    async function afterConnection<T>(run: () => T): Promise<T> {
      const before = ended();
      const r = run();
      const deadline = Date.now() + 10_000;
      while (ended() === before && Date.now() < deadline)
        await new Promise((w) => setTimeout(w, 20));
      return r;
    }

    test("unknown key, no terminal (exit 3): fingerprint and how to accept, nothing offered", async () => {
      const before = offered();
      const r = await afterConnection(() => check("unknown-key"));
      expect(r.code).toBe(3);
      expect(r.out).toMatch(/^✖ host-key +host key for \[bastion-host\]:2022 is unknown/m);
      expect(r.out).toContain(fingerprintOf(hostKeyLine));
      expect(r.out).toContain("fwd run unknown-key --accept-new");
      expect(offered()).toBe(before);
    });

    test("changed key (exit 3): both fingerprints and file:line, nothing offered", async () => {
      const before = offered();
      const r = await afterConnection(() => check("changed-key"));
      expect(r.code).toBe(3);
      expect(r.out).toMatch(/^✖ host-key +host key for \[bastion-host\]:2022 has CHANGED/m);
      expect(r.out).toContain(fingerprintOf(hostKeyLine));
      expect(r.out).toContain(fingerprintOf(otherHostKeyLine));
      expect(r.out).toContain(`${join(dir, "kh_changed")}:2`);
      expect(offered()).toBe(before);
    });

    test("the right key: the same sshd logs the key being offered (the log would show it)", async () => {
      const before = offered();
      const r = await afterConnection(() => check("good-key"));
      expect(r.code).toBe(0);
      expect(offered()).toBeGreaterThan(before);
      if (process.env.FWD_SHOW_CHECK) console.log(hkLog());
    });
  });
});
