/**
 * The verifier inside a real ssh2 handshake: an in-process ssh2 Server with
 * ed25519 and ecdsa host keys (made by ssh-keygen) and an ssh2 Client wired
 * the way src/tunnel/connect.ts wires it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Server } from "ssh2";
import type { FwdError } from "../../src/errors.ts";
import { fingerprint } from "../../src/knownhosts/key.ts";
import { createHostKeyVerifier, type HostKeyPolicy } from "../../src/knownhosts/verify.ts";

const DEFAULT_ALGOS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"];

const dir = mkdtempSync(join(tmpdir(), "fwd-hostkey-"));
function keygen(type: string, name: string) {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", path]);
  const [keyType, b64] = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/);
  return { priv: readFileSync(path), line: `${keyType} ${b64}`, blob: Buffer.from(b64!, "base64") };
}
const ed = keygen("ed25519", "host_ed25519");
const ec = keygen("ecdsa", "host_ecdsa");
const other = keygen("ed25519", "other_ed25519");

let server: Server;
let port = 0;
/** Userauth requests the server has seen, over all connections. */
let authAttempts = 0;
let serverClosed: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = new Server({ hostKeys: [ed.priv, ec.priv] }, (conn) => {
    let closed!: () => void;
    serverClosed = new Promise((r) => {
      closed = r;
    });
    conn.on("error", () => {});
    conn.on("close", () => closed());
    conn.on("authentication", (ctx) => {
      authAttempts++;
      ctx.accept();
    });
    conn.on("ready", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function policy(over: Partial<HostKeyPolicy>): HostKeyPolicy {
  return {
    host: "127.0.0.1",
    port,
    userFiles: [join(dir, `known_hosts.${files++}`)],
    globalFiles: [],
    strict: "yes",
    ...over,
  };
}

/** Connects with the verifier; resolves with what happened, never rejects. */
async function connect(p: HostKeyPolicy) {
  const verifier = await createHostKeyVerifier(p);
  const client = new Client();
  let hostKey: Buffer | undefined;
  const result = await new Promise<{ ok: boolean; error?: FwdError | Error }>((resolve) => {
    client.on("ready", () => resolve({ ok: true }));
    client.on("error", (e) => resolve({ ok: false, error: verifier.failure() ?? e }));
    client.on("close", () =>
      resolve({ ok: false, error: verifier.failure() ?? new Error("closed") }),
    );
    client.connect({
      host: "127.0.0.1",
      port,
      username: "u",
      hostVerifier: (key: Buffer, done: (ok: boolean) => void) => {
        hostKey = key;
        verifier.verify(key, done);
      },
      algorithms: { serverHostKey: verifier.algorithms(DEFAULT_ALGOS) as never },
      readyTimeout: 10_000,
    });
  });
  client.end();
  await serverClosed;
  return { ...result, verifier, hostKey };
}

describe("host key verification in the ssh2 handshake", () => {
  test("unknown key with StrictHostKeyChecking yes: refused before any userauth", async () => {
    const before = authAttempts;
    const r = await connect(policy({ strict: "yes" }));
    expect(r.ok).toBe(false);
    expect((r.error as FwdError).code).toBe("host-key-unknown");
    expect(r.error!.message).toContain("host key");
    expect(r.error!.message).toContain(fingerprint(ed.blob));
    expect(authAttempts).toBe(before);
  });

  test("accept-new records [127.0.0.1]:port and the second connection knows it", async () => {
    const p = policy({ strict: "accept-new" });
    const first = await connect(p);
    expect(first.ok).toBe(true);
    expect(first.verifier.outcome()?.verdict).toBe("unknown-accepted");
    expect(readFileSync(p.userFiles[0]!, "utf8")).toBe(`[127.0.0.1]:${port} ${ed.line}\n`);
    const second = await connect({ ...p, strict: "yes" });
    expect(second.ok).toBe(true);
    expect(second.verifier.outcome()).toMatchObject({ verdict: "known", line: 1 });
  });

  test("changed key: refused before userauth, with both fingerprints and file:line", async () => {
    const p = policy({ strict: "accept-new" });
    writeFileSync(p.userFiles[0]!, `[127.0.0.1]:${port} ${other.line}\n`);
    const before = authAttempts;
    const r = await connect(p);
    expect(r.ok).toBe(false);
    const e = r.error as FwdError;
    expect([e.code, e.exitCode]).toEqual(["host-key-changed", 3]);
    expect(e.message).toContain(fingerprint(ed.blob));
    expect(e.message).toContain(fingerprint(other.blob));
    expect(e.message).toContain(`${p.userFiles[0]}:1`);
    expect(e.hint).toContain(`-R "[127.0.0.1]:${port}"`);
    expect(authAttempts).toBe(before);
  });

  test("only the ecdsa key known: ecdsa is negotiated and the connection succeeds", async () => {
    const p = policy({ strict: "yes" });
    writeFileSync(p.userFiles[0]!, `[127.0.0.1]:${port} ${ec.line}\n`);
    const r = await connect(p);
    expect(r.ok).toBe(true);
    expect(r.hostKey?.equals(ec.blob)).toBe(true);
    expect(r.verifier.outcome()?.verdict).toBe("known");
  });

  test("without the reordering, the same file would make ed25519 look changed", async () => {
    const p = policy({ strict: "yes" });
    writeFileSync(p.userFiles[0]!, `[127.0.0.1]:${port} ${ec.line}\n`);
    const verifier = await createHostKeyVerifier(p);
    const ok = await new Promise<boolean>((r) => verifier.verify(ed.blob, r));
    expect(ok).toBe(false);
    expect(verifier.failure()?.code).toBe("host-key-changed");
  });

  test("a hashed entry (ssh-keygen -H) is honoured", async () => {
    const p = policy({ strict: "yes" });
    writeFileSync(p.userFiles[0]!, `[127.0.0.1]:${port} ${ed.line}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", p.userFiles[0]!], { stdio: "ignore" });
    const r = await connect(p);
    expect(r.ok).toBe(true);
  });

  test.each([true, false])(
    "ask answered %p after a delay: ssh2 waits for the answer",
    async (answer) => {
      const before = authAttempts;
      const ask = () => new Promise<boolean>((r) => setTimeout(() => r(answer), 200));
      const p = policy({ strict: "ask", ask });
      const r = await connect(p);
      expect(r.ok).toBe(answer);
      expect(authAttempts - before).toBe(answer ? 1 : 0);
      if (!answer) expect(r.error!.message).toContain(fingerprint(ed.blob));
    },
  );
});
