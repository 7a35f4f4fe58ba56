import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprint } from "../../src/knownhosts/key.ts";
import {
  createHostKeyVerifier,
  type HostKeyPolicy,
  type HostKeyVerifier,
} from "../../src/knownhosts/verify.ts";

const root = mkdtempSync(join(tmpdir(), "fwd-kh-verify-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
};

function ed25519(): { blob: Buffer; line: string } {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([
    str(Buffer.from("ssh-ed25519")),
    str(Buffer.from(jwk.x!, "base64url")),
  ]);
  return { blob, line: `ssh-ed25519 ${blob.toString("base64")}` };
}
const A = ed25519();
const B = ed25519();

function policy(over: Partial<HostKeyPolicy> = {}): HostKeyPolicy {
  const d = freshDir();
  return {
    host: "bastion",
    port: 22,
    userFiles: [join(d, "known_hosts")],
    globalFiles: [],
    strict: "yes",
    ...over,
  };
}
function verify(v: HostKeyVerifier, key: Buffer): Promise<boolean> {
  return new Promise((resolve) => v.verify(key, resolve));
}

describe("known keys", () => {
  test("a key in a global file matches, with its file:line", async () => {
    const d = freshDir();
    writeFileSync(join(d, "global"), `# managed\nbastion ${A.line}\n`);
    const v = await createHostKeyVerifier(
      policy({ globalFiles: [join(d, "nope"), join(d, "global")] }),
    );
    expect(await verify(v, A.blob)).toBe(true);
    expect(v.failure()).toBeUndefined();
    expect(v.outcome()).toEqual({
      verdict: "known",
      keyType: "ssh-ed25519",
      fingerprint: fingerprint(A.blob),
      file: join(d, "global"),
      line: 2,
    });
  });

  test("user files are searched in order, all of them", async () => {
    const d = freshDir();
    writeFileSync(join(d, "kh1"), `other ${B.line}\n`);
    writeFileSync(join(d, "kh2"), `bastion ${A.line}\n`);
    const v = await createHostKeyVerifier(policy({ userFiles: [join(d, "kh1"), join(d, "kh2")] }));
    expect(await verify(v, A.blob)).toBe(true);
    expect(v.outcome()?.file).toBe(join(d, "kh2"));
  });
});

describe("unknown keys", () => {
  test("StrictHostKeyChecking yes refuses with the fingerprint and how to accept", async () => {
    const p = policy({ port: 2222, name: "forward1" });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(false);
    const e = v.failure()!;
    expect([e.code, e.exitCode]).toEqual(["host-key-unknown", 3]);
    expect(e.message).toContain("host key");
    expect(e.message).toContain(fingerprint(A.blob));
    expect(e.message).toContain("[bastion]:2222");
    expect(e.hint).toContain("fwd run forward1 --accept-new");
    expect(e.hint).toContain(`ssh-keyscan -p 2222 -t ed25519 bastion >> ${p.userFiles[0]}`);
    expect(v.outcome()?.verdict).toBe("unknown");
  });

  test("ask without a terminal refuses", async () => {
    const v = await createHostKeyVerifier(policy({ strict: "ask" }));
    expect(await verify(v, A.blob)).toBe(false);
    expect(v.failure()?.message).toMatch(/no terminal/);
  });

  test("ask on a terminal: yes records the key, the question shows what ssh shows", async () => {
    const asked: unknown[] = [];
    const p = policy({
      strict: "ask",
      port: 2200,
      ask: async (q) => {
        asked.push(q);
        return true;
      },
    });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(true);
    expect(asked).toEqual([
      { host: "[bastion]:2200", fingerprint: fingerprint(A.blob), keyType: "ED25519" },
    ]);
    expect(readFileSync(p.userFiles[0]!, "utf8")).toBe(`[bastion]:2200 ${A.line}\n`);
    expect(v.outcome()?.verdict).toBe("unknown-accepted");
  });

  test("ask on a terminal: no refuses and writes nothing", async () => {
    const p = policy({ strict: "ask", ask: async () => false });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(false);
    expect(v.failure()?.code).toBe("host-key-unknown");
    expect(() => statSync(p.userFiles[0]!)).toThrow();
  });

  test("accept-new creates ~/.ssh 0700 and known_hosts 0600, then knows the key", async () => {
    const d = freshDir();
    const file = join(d, ".ssh", "known_hosts");
    const p = policy({ strict: "accept-new", userFiles: [file, join(d, "kh2")] });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(true);
    expect(v.outcome()).toMatchObject({ verdict: "unknown-accepted", file });
    expect(readFileSync(file, "utf8")).toBe(`bastion ${A.line}\n`);
    expect(statSync(join(d, ".ssh")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Re-key with the same key: known, not recorded twice.
    expect(await verify(v, A.blob)).toBe(true);
    expect(readFileSync(file, "utf8").split("\n").length).toBe(2);
    const again = await createHostKeyVerifier(p);
    expect(await verify(again, A.blob)).toBe(true);
    expect(again.outcome()?.verdict).toBe("known");
  });

  test("accept-new records under HostKeyAlias, after a missing final newline", async () => {
    const p = policy({
      strict: "accept-new",
      host: "localhost",
      port: 10022,
      hostKeyAlias: "target",
    });
    writeFileSync(p.userFiles[0]!, `other ${B.line}`);
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(true);
    expect(readFileSync(p.userFiles[0]!, "utf8")).toBe(`other ${B.line}\ntarget ${A.line}\n`);
  });

  test("HashKnownHosts yes records a hashed name that ssh-keygen -F finds", async () => {
    const p = policy({ strict: "accept-new", port: 2222, hashKnownHosts: true });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(true);
    const text = readFileSync(p.userFiles[0]!, "utf8");
    expect(text).toStartWith("|1|");
    expect(text).not.toContain("bastion");
    const out = execFileSync("ssh-keygen", ["-F", "[bastion]:2222", "-f", p.userFiles[0]!], {
      encoding: "utf8",
    });
    expect(out).toContain("found: line 1");
  });

  test("StrictHostKeyChecking no accepts and records, like ssh", async () => {
    const p = policy({ strict: "no" });
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(true);
    expect(readFileSync(p.userFiles[0]!, "utf8")).toBe(`bastion ${A.line}\n`);
  });

  test("a key that cannot be recorded is refused (no UserKnownHostsFile)", async () => {
    const v = await createHostKeyVerifier(policy({ strict: "accept-new", userFiles: [] }));
    expect(await verify(v, A.blob)).toBe(false);
    expect(v.failure()?.message).toMatch(/cannot be recorded/);
  });

  test("a failed write still connects (ssh warns and goes on), with a note", async () => {
    const d = freshDir();
    writeFileSync(join(d, "file"), "");
    const v = await createHostKeyVerifier(
      policy({ strict: "accept-new", userFiles: [join(d, "file", "kh")] }),
    );
    expect(await verify(v, A.blob)).toBe(true);
    expect(v.outcome()?.note).toMatch(/could not record/);
  });

  test("@cert-authority trust fails closed even with accept-new", async () => {
    const p = policy({ strict: "accept-new" });
    writeFileSync(p.userFiles[0]!, `@cert-authority * ${B.line}\n`);
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(false);
    expect(v.failure()?.message).toMatch(/@cert-authority \(.*known_hosts:1\)/);
  });
});

describe("changed and revoked keys", () => {
  test.each(["yes", "accept-new", "no", "ask"] as const)(
    "a changed key is refused with strict=%s",
    async (strict) => {
      const p = policy({ strict, port: 2222, ask: async () => true });
      writeFileSync(p.userFiles[0]!, `# mine\n[bastion]:2222 ${B.line}\n`);
      const v = await createHostKeyVerifier(p);
      expect(await verify(v, A.blob)).toBe(false);
      const e = v.failure()!;
      expect([e.code, e.exitCode]).toEqual(["host-key-changed", 3]);
      expect(e.message).toContain(fingerprint(A.blob));
      expect(e.message).toContain(fingerprint(B.blob));
      expect(e.message).toContain(`${p.userFiles[0]}:2`);
      expect(e.hint).toContain(`ssh-keygen -f "${p.userFiles[0]}" -R "[bastion]:2222"`);
      expect(v.outcome()).toMatchObject({ verdict: "changed", file: p.userFiles[0], line: 2 });
      expect(readFileSync(p.userFiles[0]!, "utf8")).toBe(`# mine\n[bastion]:2222 ${B.line}\n`);
    },
  );

  test("a revoked key is refused even with strict=no", async () => {
    const p = policy({ strict: "no" });
    writeFileSync(p.userFiles[0]!, `bastion ${A.line}\n@revoked * ${A.line}\n`);
    const v = await createHostKeyVerifier(p);
    expect(await verify(v, A.blob)).toBe(false);
    expect(v.failure()?.code).toBe("host-key-revoked");
    expect(v.failure()?.message).toContain(`${p.userFiles[0]}:2`);
  });

  test("a malformed key blob is refused", async () => {
    const v = await createHostKeyVerifier(policy({ strict: "no" }));
    expect(await verify(v, Buffer.from("garbage"))).toBe(false);
    expect(v.failure()?.message).toContain("host key");
  });
});

test("algorithms() puts the known type first", async () => {
  const p = policy();
  const ecdsaLine = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAAA";
  writeFileSync(p.userFiles[0]!, `bastion ${ecdsaLine}\n`);
  const v = await createHostKeyVerifier(p);
  expect(v.algorithms(["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"])).toEqual([
    "ecdsa-sha2-nistp256",
    "ssh-ed25519",
    "rsa-sha2-512",
  ]);
});
