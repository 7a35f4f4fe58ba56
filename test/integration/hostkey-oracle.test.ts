/**
 * OpenSSH's own `ssh` is the oracle for known_hosts semantics: for each
 * known_hosts setup, ssh (StrictHostKeyChecking yes) and fwd's verifier
 * (inside a real ssh2 handshake) connect to the same private sshd, which has
 * an ed25519 and an ecdsa host key, and must reach the same verdict.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "ssh2";
import { createHostKeyVerifier, type HostKeyVerifier } from "../../src/knownhosts/verify.ts";

setDefaultTimeout(30_000);
const usable =
  process.getuid?.() === 0 && existsSync("/usr/sbin/sshd") && existsSync("/usr/bin/ssh");
const dir = mkdtempSync(join(tmpdir(), "fwd-hostkey-oracle-"));
let sshd: ChildProcess | undefined;
let port = 0;

const keygen = (type: string, name: string) => {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
};
const keys: Record<string, string> = {};

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
const accepts = (p: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(p, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

beforeAll(async () => {
  if (!usable) return;
  keys.ed = keygen("ed25519", "host_ed25519");
  keys.ec = keygen("ecdsa", "host_ecdsa");
  keys.otherEd = keygen("ed25519", "other_ed25519");
  keys.otherEc = keygen("ecdsa", "other_ecdsa");
  port = await freePort();
  mkdirSync("/run/sshd", { recursive: true });
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `HostKey ${join(dir, "host_ecdsa")}`,
      "UsePAM no",
      "StrictModes no",
      "AuthorizedKeysFile none",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      `PidFile ${join(dir, "sshd.pid")}`,
      "",
    ].join("\n"),
  );
  sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline) throw new Error("sshd did not start");
    await new Promise((r) => setTimeout(r, 25));
  }
});
afterAll(() => {
  if (sshd?.pid && sshd.exitCode === null) process.kill(sshd.pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

type Verdict = "known" | "unknown" | "changed" | "revoked";

interface Setup {
  user: string[];
  global?: string[];
  alias?: string;
}

function files(name: string, s: Setup): { user: string[]; global: string[] } {
  const write = (kind: string, lines: string[], i: number) => {
    const f = join(dir, `${name.replace(/\W+/g, "_")}.${kind}${i}`);
    writeFileSync(
      f,
      lines
        .map((l) =>
          l.replace(/\$(\w+)/g, (_, k) => keys[k] ?? `$${k}`).replace(/PORT/g, String(port)),
        )
        .join("\n"),
    );
    return f;
  };
  const user = [write("user", s.user, 0)];
  const global = s.global ? [write("global", s.global, 0)] : ["/dev/null"];
  return { user, global };
}

/** What OpenSSH's ssh says about this setup (it never gets past auth: no key is accepted). */
function sshVerdict(f: { user: string[]; global: string[] }, alias?: string): Verdict | string {
  const r = spawnSync(
    "/usr/bin/ssh",
    [
      "-F",
      "/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${f.user.join(" ")}`,
      "-o",
      `GlobalKnownHostsFile=${f.global.join(" ")}`,
      "-o",
      "IdentityFile=/dev/null",
      "-o",
      "IdentitiesOnly=yes",
      ...(alias ? ["-o", `HostKeyAlias=${alias}`] : []),
      "-p",
      String(port),
      "nobody@127.0.0.1",
      "true",
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  const err = r.stderr;
  if (/REVOKED HOST KEY/.test(err)) return "revoked";
  if (/HOST IDENTIFICATION HAS CHANGED/.test(err)) return "changed";
  if (/host key is known for|No .* host key is known/i.test(err)) return "unknown";
  if (/Permission denied/.test(err)) return "known";
  return err;
}

/** Runs ssh once with extra -o options (auth fails: no key is accepted). */
function ssh(options: string[]): void {
  spawnSync(
    "/usr/bin/ssh",
    [
      "-F",
      "/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "IdentityFile=/dev/null",
      "-o",
      "IdentitiesOnly=yes",
      ...options.flatMap((o) => ["-o", o]),
      "-p",
      String(port),
      "nobody@127.0.0.1",
      "true",
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
}

/** One ssh2 handshake as src/tunnel/connect.ts does it; it ends at auth (no key is accepted). */
async function handshake(v: HostKeyVerifier): Promise<void> {
  const client = new Client();
  await new Promise<void>((resolve) => {
    client.on("error", () => resolve());
    client.on("close", () => resolve());
    client.on("ready", () => resolve());
    client.connect({
      host: "127.0.0.1",
      port,
      username: "nobody",
      hostVerifier: (key: Buffer, done: (ok: boolean) => void) => v.verify(key, done),
      algorithms: {
        serverHostKey: v.algorithms([
          "ssh-ed25519",
          "ecdsa-sha2-nistp256",
          "rsa-sha2-512",
          "rsa-sha2-256",
        ]) as never,
      },
      readyTimeout: 15_000,
    });
  });
  client.end();
}

/** What fwd's verifier says, in an ssh2 handshake with its algorithm order. */
async function fwdVerdict(
  f: { user: string[]; global: string[] },
  alias?: string,
): Promise<Verdict | string> {
  const v = await createHostKeyVerifier({
    host: "127.0.0.1",
    port,
    hostKeyAlias: alias,
    userFiles: f.user,
    globalFiles: f.global,
    strict: "yes",
  });
  await handshake(v);
  const o = v.outcome();
  if (!o) return "no outcome";
  return o.verdict === "unknown-accepted" ? "unknown" : o.verdict;
}

const cases: [string, Setup][] = [
  ["[host]:port with the ed25519 key", { user: ["[127.0.0.1]:PORT $ed"] }],
  [
    "only the ecdsa key known (a different type than ssh's first choice)",
    { user: ["[127.0.0.1]:PORT $ec"] },
  ],
  ["another ed25519 key", { user: ["[127.0.0.1]:PORT $otherEd"] }],
  ["another ecdsa key only", { user: ["[127.0.0.1]:PORT $otherEc"] }],
  [
    "a wrong key next to the right one",
    { user: ["[127.0.0.1]:PORT $otherEd", "[127.0.0.1]:PORT $ed"] },
  ],
  ["nothing recorded", { user: ["# empty"] }],
  ["bare host name, right key (retried without the port)", { user: ["127.0.0.1 $ed"] }],
  ["bare host name, wrong key", { user: ["127.0.0.1 $otherEd"] }],
  ["wildcard pattern", { user: ["[127.0.0.*]:PORT $ed"] }],
  ["negated in the same list", { user: ["[127.0.0.*]:PORT,![127.0.0.1]:PORT $otherEd"] }],
  ["pattern for another port", { user: ["[127.0.0.1]:1 $otherEd"] }],
  [
    "bad lines before a good one",
    { user: ["garbage", "@bogus x ssh-ed25519 AAAA", "[127.0.0.1]:PORT $ed"] },
  ],
  ["@revoked key", { user: ["[127.0.0.1]:PORT $ed", "@revoked * $ed"] }],
  ["@revoked other key only", { user: ["[127.0.0.1]:PORT $ed", "@revoked * $otherEd"] }],
  ["@cert-authority only", { user: ["@cert-authority * $otherEd"] }],
  ["key in the global file", { user: ["# none"], global: ["[127.0.0.1]:PORT $ed"] }],
  ["changed in the global file", { user: ["# none"], global: ["[127.0.0.1]:PORT $otherEd"] }],
  ["HostKeyAlias with its key", { user: ["bastion $ed"], alias: "bastion" }],
  [
    "HostKeyAlias: the [host]:port entry does not count",
    { user: ["[127.0.0.1]:PORT $ed"], alias: "bastion" },
  ],
  ["HostKeyAlias with another key", { user: ["bastion $otherEd"], alias: "bastion" }],
];

describe.skipIf(!usable)("fwd's verdict equals OpenSSH ssh's", () => {
  test.each(cases)("%s", async (name, setup) => {
    const f = files(name, setup);
    const expected = sshVerdict(f, setup.alias);
    if (process.env.FWD_SHOW_ORACLE) console.log(`${name}: ${expected}`);
    expect(["known", "unknown", "changed", "revoked"]).toContain(expected);
    expect(await fwdVerdict(f, setup.alias)).toBe(expected);
  });

  test("hashed entries (ssh-keygen -H)", async () => {
    const f = files("hashed", { user: ["[127.0.0.1]:PORT $ed", "127.0.0.1 $otherEd"] });
    execFileSync("ssh-keygen", ["-H", "-f", f.user[0]!], { stdio: "ignore" });
    expect(readFileSync(f.user[0]!, "utf8")).not.toContain("127.0.0.1");
    expect(sshVerdict(f)).toBe("known");
    expect(await fwdVerdict(f)).toBe("known");
  });

  test("accept-new writes the same line ssh writes", async () => {
    const theirs = join(dir, "accept-new.ssh");
    const ours = join(dir, "sub", "accept-new.fwd");
    ssh(["StrictHostKeyChecking=accept-new", "HashKnownHosts=no", `UserKnownHostsFile=${theirs}`]);
    const v = await createHostKeyVerifier({
      host: "127.0.0.1",
      port,
      userFiles: [ours],
      globalFiles: [],
      strict: "accept-new",
    });
    await handshake(v);
    expect(readFileSync(theirs, "utf8")).toBe(`[127.0.0.1]:${port} ${keys.ed}\n`);
    expect(readFileSync(ours, "utf8")).toBe(readFileSync(theirs, "utf8"));
  });
});
