/**
 * Regenerates test/fixtures/sshconfig/expected/*.json from the real
 * `ssh -G` (OpenSSH 9.2p1 under nss_wrapper), so the differential suite can
 * also run where ssh differs or is missing.
 *
 *   bun scripts/regen-ssh-g.ts            # every case
 *   bun scripts/regen-ssh-g.ts NAME...    # only these cases ("generated" = the generated set)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { accepted, type Case, rejected } from "../test/fixtures/sshconfig/corpus.ts";
import { allGenerated } from "../test/fixtures/sshconfig/generate.ts";
import {
  digest,
  liveSshUsable,
  materialise,
  type Outcome,
  runSsh,
  sshVersion,
} from "../test/fixtures/sshconfig/harness.ts";

export interface Expected {
  sshVersion: string;
  /** The identity ssh ran with: fwd is given the same when comparing. */
  hostname: string;
  uid: number;
  results: Record<string, Outcome>;
}

const dir = join(import.meta.dir, "..", "test", "fixtures", "sshconfig", "expected");
const only = new Set(process.argv.slice(2));

if (!liveSshUsable()) {
  console.error(`need OpenSSH 9.2p1 and libnss-wrapper; found ${sshVersion() ?? "no ssh"}`);
  process.exit(1);
}
function expected(c: Case): Expected {
  const sb = materialise(c);
  try {
    const results: Record<string, Outcome> = {};
    for (const h of c.hosts) results[h] = runSsh(c, sb, h);
    return {
      sshVersion: sshVersion() ?? "",
      hostname: hostname(),
      uid: process.getuid?.() ?? 0,
      results,
    };
  } finally {
    sb.cleanup();
  }
}

/** ssh -G's output as a SHA-256 (see harness digest()), a refusal with its line and a short message. */
function compact(e: Expected): Expected {
  const results: Record<string, Outcome> = {};
  for (const [h, o] of Object.entries(e.results)) {
    results[h] = o.ok
      ? { ok: true, out: digest(o.out) }
      : { ok: false, line: o.line, message: o.message.slice(0, 160) };
  }
  return { ...e, results };
}

mkdirSync(dir, { recursive: true });
let n = 0;
for (const c of [...accepted, ...rejected]) {
  if (only.size && !only.has(c.name)) continue;
  writeFileSync(join(dir, `${c.name}.json`), `${JSON.stringify(expected(c), null, 2)}\n`);
  n++;
}
if (!only.size || only.has("generated")) {
  // the generated configs, all in one file: name -> expectation, outputs as digests to keep it small
  const all = Object.fromEntries(allGenerated().map((c) => [c.name, compact(expected(c))]));
  writeFileSync(join(dir, "generated.json"), `${JSON.stringify(all)}\n`);
  n++;
}
console.log(`wrote ${n} expectation files to ${dir}`);
