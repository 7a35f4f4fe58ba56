/**
 * fwd's resolver against OpenSSH's `ssh -G`, config by config, key by key.
 * Always against the stored expectations (test/fixtures/sshconfig/expected,
 * written by scripts/regen-ssh-g.ts); also against the live ssh when it is
 * the same OpenSSH 9.2p1 (with nss_wrapper to give it our fake home and user).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Expected } from "../../scripts/regen-ssh-g.ts";
import { accepted, type Case, rejected } from "../fixtures/sshconfig/corpus.ts";
import {
  byKey,
  liveSshUsable,
  materialise,
  type Outcome,
  runFwd,
  runSsh,
} from "../fixtures/sshconfig/harness.ts";

const expectedDir = join(import.meta.dir, "..", "fixtures", "sshconfig", "expected");
const live = liveSshUsable();

function expectSame(fwd: Outcome, ssh: Outcome): void {
  if (ssh.ok) {
    expect(fwd.ok ? "" : fwd.message).toBe("");
    if (!fwd.ok) return;
    const want = byKey(ssh.out);
    const got = byKey(fwd.out);
    // key by key, so a failure names the key; then the whole text, for order
    for (const [k, v] of want) expect({ [k]: got.get(k) }).toEqual({ [k]: v });
    for (const k of got.keys()) expect({ [k]: want.has(k) }).toEqual({ [k]: true });
    expect(fwd.out).toBe(ssh.out);
  } else {
    expect(fwd.ok ? fwd.out.slice(0, 80) : "rejected").toBe("rejected");
    if (!fwd.ok && ssh.line !== undefined) expect(fwd.line).toBe(ssh.line);
  }
}

function suite(title: string, cases: Case[]): void {
  describe(title, () => {
    test.each(cases.map((c) => [c.name, c] as const))(
      "%s agrees with stored ssh -G output",
      async (_name, c) => {
        const exp = JSON.parse(
          readFileSync(join(expectedDir, `${c.name}.json`), "utf8"),
        ) as Expected;
        const sb = materialise(c);
        try {
          for (const h of c.hosts) {
            const want = exp.results[h];
            if (!want)
              throw new Error(`no stored result for ${h}; run scripts/regen-ssh-g.ts ${c.name}`);
            expectSame(await runFwd(c, sb, h, { hostname: exp.hostname }), want);
          }
        } finally {
          sb.cleanup();
        }
      },
      30_000,
    );

    test.skipIf(!live).each(cases.map((c) => [c.name, c] as const))(
      "%s agrees with live ssh -G",
      async (_name, c) => {
        const sb = materialise(c);
        try {
          for (const h of c.hosts) {
            expectSame(await runFwd(c, sb, h, { hostname: hostname() }), runSsh(c, sb, h));
          }
        } finally {
          sb.cleanup();
        }
      },
      30_000,
    );
  });
}

suite("configs ssh -G accepts", accepted);
suite("configs ssh -G rejects", rejected);

test("the corpus is as large as promised: >= 50 accepted, >= 25 rejected", () => {
  expect(accepted.length).toBeGreaterThanOrEqual(50);
  expect(rejected.length).toBeGreaterThanOrEqual(25);
  for (const c of rejected) {
    const exp = JSON.parse(readFileSync(join(expectedDir, `${c.name}.json`), "utf8")) as Expected;
    expect({ [c.name]: Object.values(exp.results).some((o) => !o.ok) }).toEqual({ [c.name]: true });
  }
});
