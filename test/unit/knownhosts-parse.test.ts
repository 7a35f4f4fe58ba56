import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprint, keyTypeOf, plainKeyType } from "../../src/knownhosts/key.ts";
import { parseKnownHosts } from "../../src/knownhosts/parse.ts";
import { hashHostName, hostFieldMatches, matchHostList } from "../../src/knownhosts/pattern.ts";
import { matchPattern } from "../../src/sshconfig/match.ts";

const dir = mkdtempSync(join(tmpdir(), "fwd-kh-parse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh key pair from ssh-keygen: its public line "type base64" and blob. */
function keygen(type: "ed25519" | "ecdsa" | "rsa", name: string) {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", path]);
  const [keyType, b64] = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/);
  return { path, line: `${keyType} ${b64}`, keyType: keyType!, blob: Buffer.from(b64!, "base64") };
}

const ed = keygen("ed25519", "ed");
const ec = keygen("ecdsa", "ec");

describe("fingerprint", () => {
  test.each([
    ["ed25519", ed],
    ["ecdsa", ec],
    ["rsa", keygen("rsa", "rsa")],
  ])("matches ssh-keygen -l for %s", (_, k) => {
    const out = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${k.path}.pub`], {
      encoding: "utf8",
    });
    expect(fingerprint(k.blob)).toBe(out.split(" ")[1]!);
    expect(fingerprint(k.blob)).not.toContain("=");
  });

  test("key type is the first SSH string of the blob", () => {
    expect(keyTypeOf(ed.blob)).toBe("ssh-ed25519");
    expect(keyTypeOf(ec.blob)).toBe("ecdsa-sha2-nistp256");
    expect(keyTypeOf(Buffer.from([0, 0, 0, 9, 0x61]))).toBeUndefined();
  });

  test.each([
    ["rsa-sha2-512", "ssh-rsa"],
    ["rsa-sha2-256", "ssh-rsa"],
    ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"],
    ["ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"],
  ])("algorithm %s is a %s key", (alg, type) => expect(plainKeyType(alg)).toBe(type));
});

describe("host patterns (match.c)", () => {
  test.each([
    ["host.example.com", "*.example.com", true],
    ["example.com", "*.example.com", false],
    ["web1", "web?", true],
    ["web10", "web?", false],
    ["a", "*", true],
    ["abcabd", "*abd", true],
    ["[host]:2222", "[host]:2222", true],
    ["[host]:2222", "host", false],
    ["[host]:2222", "[host]:*", true],
  ])("%s ~ %s → %p", (s, p, want) => expect(matchPattern(s, p)).toBe(want));

  test.each([
    ["bastion", "bastion,other", 1],
    ["other", "bastion,other", 1],
    ["nope", "bastion,other", 0],
    ["bad.example.com", "*.example.com,!bad.example.com", -1],
    ["good.example.com", "*.example.com,!bad.example.com", 1],
    ["bad.example.com", "!bad.example.com", -1],
    ["x", "!bad.example.com", 0],
    ["bastion", "BASTION", 1],
  ] as const)("%s in %s → %d", (host, list, want) => expect(matchHostList(host, list)).toBe(want));
});

describe("hashed names", () => {
  test("ssh-keygen -H hashes are recognised for the right name only", () => {
    const file = join(dir, "hashed");
    writeFileSync(file, `bastion.example.com ${ed.line}\n[10.0.0.5]:2222 ${ec.line}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const { entries, skipped } = parseKnownHosts(readFileSync(file, "utf8"), file);
    expect(skipped).toEqual([]);
    expect(entries.map((e) => e.hosts.startsWith("|1|"))).toEqual([true, true]);
    expect(hostFieldMatches("bastion.example.com", entries[0]!.hosts)).toBe(true);
    expect(hostFieldMatches("bastion.example.org", entries[0]!.hosts)).toBe(false);
    expect(hostFieldMatches("[10.0.0.5]:2222", entries[1]!.hosts)).toBe(true);
    expect(hostFieldMatches("10.0.0.5", entries[1]!.hosts)).toBe(false);
  });

  test("our own hashes are what ssh-keygen -F finds", () => {
    const file = join(dir, "ours");
    writeFileSync(file, `${hashHostName("[h.example]:2200")} ${ed.line}\n`);
    const out = execFileSync("ssh-keygen", ["-F", "[h.example]:2200", "-f", file], {
      encoding: "utf8",
    });
    expect(out).toContain("found: line 1");
  });
});

describe("known_hosts lines (hostfile.c)", () => {
  const text = [
    "# comment",
    "",
    `   bastion,10.0.0.1 ${ed.line} a comment`,
    `@revoked * ${ec.line}`,
    `@cert-authority *.example.com ${ed.line}`,
    "@bogus host ssh-ed25519 AAAA",
    "host-without-key",
    "1024 35 12345 oldrsa1",
    `host ssh-rsa ${ed.line.split(" ")[1]}`,
    `host ${ed.line}\r`,
    "|1|notbase64|x ssh-ed25519 AAAA",
    `@revoked @cert-authority x ${ed.line}`,
    "\t# indented comment",
  ].join("\n");
  const { entries, skipped } = parseKnownHosts(text, "/kh");

  test("keeps good entries with their line numbers and markers", () => {
    expect(entries.map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, "none", "bastion,10.0.0.1", "ssh-ed25519"],
      [4, "revoked", "*", "ecdsa-sha2-nistp256"],
      [5, "cert-authority", "*.example.com", "ssh-ed25519"],
      [10, "none", "host", "ssh-ed25519"],
    ]);
    expect(entries[0]!.key.equals(ed.blob)).toBe(true);
    expect(entries[0]!.file).toBe("/kh");
  });

  test("skips bad lines, saying which and why", () => {
    expect(skipped.map((s) => s.line)).toEqual([6, 7, 8, 9, 11, 12]);
    expect(skipped.find((s) => s.line === 9)!.reason).toMatch(/does not match/);
    expect(skipped.find((s) => s.line === 6)!.reason).toMatch(/marker/);
  });
});
