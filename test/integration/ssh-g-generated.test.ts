/**
 * Generated configs (test/fixtures/sshconfig/generate.ts) resolved by fwd and
 * by the live ssh -G: same output when ssh accepts, a refusal blaming the
 * same line when it does not. Runs only where the live ssh is OpenSSH 9.2p1.
 */
import { expect, test } from "bun:test";
import { hostname } from "node:os";
import { generate } from "../fixtures/sshconfig/generate.ts";
import { liveSshUsable, materialise, runFwd, runSsh } from "../fixtures/sshconfig/harness.ts";

const cases = generate(20261127, 120);

// Spawns ~360 ssh processes: give it more than bun's default 5 s per test.

test.skipIf(!liveSshUsable())(
  "120 generated configs resolve as live ssh -G does, host by host",
  async () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const sb = materialise(c);
      try {
        for (const h of c.hosts) {
          const want = runSsh(c, sb, h);
          const got = await runFwd(c, sb, h, {
            hostname: hostname(),
            uid: process.getuid?.() ?? 0,
          });
          const same = want.ok
            ? got.ok && got.out === want.out
            : !got.ok && (want.line === undefined || got.line === want.line);
          if (!same)
            mismatches.push(
              `${c.name} host ${h}:\n${c.config}\nssh: ${JSON.stringify(want).slice(0, 300)}\nfwd: ${JSON.stringify(got).slice(0, 300)}`,
            );
        }
      } finally {
        sb.cleanup();
      }
    }
    expect(mismatches).toEqual([]);
  },
  120_000,
);
