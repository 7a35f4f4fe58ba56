/**
 * Generated configs (test/fixtures/sshconfig/generate.ts) resolved by fwd and
 * by ssh -G: same output when ssh accepts, a refusal blaming the same line
 * when it does not. Against the stored expectations everywhere, and against
 * the live ssh where it is OpenSSH 9.2p1.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Expected } from "../../scripts/regen-ssh-g.ts";
import type { Case } from "../fixtures/sshconfig/corpus.ts";
import { allGenerated } from "../fixtures/sshconfig/generate.ts";
import {
  digest,
  type Identity,
  liveSshUsable,
  materialise,
  type Outcome,
  runFwd,
  runSsh,
} from "../fixtures/sshconfig/harness.ts";

const cases = allGenerated();
const stored = JSON.parse(
  readFileSync(
    join(import.meta.dir, "..", "fixtures", "sshconfig", "expected", "generated.json"),
    "utf8",
  ),
) as Record<string, Expected>;

function agrees(want: Outcome, got: Outcome): boolean {
  if (want.ok)
    return (
      got.ok &&
      (want.out.startsWith("sha256:") ? digest(got.out) === want.out : got.out === want.out)
    );
  return !got.ok && (want.line === undefined || got.line === want.line);
}

/** Every case and host where fwd and ssh differ, described for the failure message. */
async function mismatches(
  oracle: (c: Case, h: string, sb: ReturnType<typeof materialise>) => [Outcome, Identity],
) {
  const out: string[] = [];
  for (const c of cases) {
    const sb = materialise(c);
    try {
      for (const h of c.hosts) {
        const [want, id] = oracle(c, h, sb);
        const got = await runFwd(c, sb, h, id);
        if (!agrees(want, got))
          out.push(
            `${c.name} host ${h}:\n${c.config}ssh: ${JSON.stringify(want).slice(0, 300)}\nfwd: ${JSON.stringify(got).slice(0, 300)}`,
          );
      }
    } finally {
      sb.cleanup();
    }
  }
  return out;
}

test(`${cases.length} generated configs resolve as the stored ssh -G output`, async () => {
  const found = await mismatches((c, h) => {
    const exp = stored[c.name];
    const want = exp?.results[h];
    if (!exp || !want)
      throw new Error(`no stored result for ${c.name}; run scripts/regen-ssh-g.ts generated`);
    return [want, { hostname: exp.hostname }];
  });
  expect(found).toEqual([]);
}, 120_000);

// Spawns ~360 ssh processes: give it more than bun's default 5 s per test.
test.skipIf(!liveSshUsable())(
  `${cases.length} generated configs resolve as live ssh -G does`,
  async () => {
    const found = await mismatches((c, h, sb) => [runSsh(c, sb, h), { hostname: hostname() }]);
    expect(found).toEqual([]);
  },
  120_000,
);
