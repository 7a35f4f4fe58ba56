/**
 * Property: whatever values reach `fwd init`, a rejected run leaves the file
 * byte-identical, and an accepted run changes nothing but its own blocks:
 * every other host resolves exactly as before (ssh -G is the oracle), the
 * blocks contain only fwd's directives, and removing them gives back the
 * original bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { initCommand } from "../../src/commands/init.ts";
import { FwdError } from "../../src/errors.ts";
import { managedNames, removeBlock } from "../../src/sshconfig/edit.ts";
import {
  baseFlags,
  fixture,
  hasSsh,
  type InitHome,
  initCtx,
  initHome,
  sshG,
} from "../helpers/init-home.ts";
import { prng } from "../helpers/prng.ts";

const SEED = Number(process.env.FWD_FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FWD_FUZZ_RUNS ?? 250);
const OTHER_HOSTS = ["work-1", "db.internal", "x.example.com", "anything", "forward1x", "forward3"];

const PAYLOADS = [
  "\n  ProxyCommand touch /tmp/fwd-pwned",
  "\r\nHost *\r\n  User evil",
  "\nMatch all\n  LocalCommand id",
  "\0",
  '"',
  "'",
  "\\",
  "%h",
  "%",
  "%%",
  `$${"{"}HOME}`,
  "\u2028",
  "\u2029",
  "\u0085",
  "\ufeff",
  "\t",
  " ",
  " #",
  "#",
  "=",
  "*",
  "!",
  "?",
  "[",
  "]",
  ":",
  "@",
  "-oProxyCommand=x",
  "é",
  "x".repeat(5000),
];

const FLAGS = [
  "name",
  "bastion",
  "identity",
  "target",
  "local",
  "forward",
  "sshTarget",
  "sshName",
  "alive",
] as const;
const ODD_KEYS = ["my key", "k#1", "k=v", "ü", "a,b", "it's", "x$y"];
/** Valid but unusual values: accepted runs must still touch nothing else. */
const UNUSUAL: Record<(typeof FLAGS)[number], string[]> = {
  name: ["a.b_c-9", "db.internal", "WORK-1", "forward1x", "x"],
  bastion: ["u@[::1]:2200", "u@10.0.0.1", "host.example.com.", "u_1@bastion:65535"],
  identity: [],
  target: ["[2001:db8::1]:22", "10.1.2.3:8080", "t:1"],
  local: ["127.0.0.2:10022", "[::1]:10023", "65535"],
  forward: ["[::1]:18081:[2001:db8::5]:80", "127.0.0.1:18080:target-host:8080", "1:h:1"],
  sshTarget: ["root", "a.b-c_d"],
  sshName: ["x", "forward3", "db.internal"],
  alive: ["0", "86400", "1"],
};

describe.skipIf(!hasSsh)("fwd init with random and malicious values", () => {
  let h: InitHome;
  const expected = new Map<string, string>();
  beforeAll(() => {
    h = initHome();
    for (const k of ODD_KEYS) writeFileSync(join(h.home, "keys", k), "k\n", { mode: 0o600 });
    for (const host of OTHER_HOSTS) expected.set(host, sshG(fixture("realistic.conf"), host));
  });
  afterAll(() => h.remove());

  test(`${RUNS} runs (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const original = readFileSync(fixture("realistic.conf"));
    let accepted = 0;
    let rejected = 0;
    for (let run = 0; run < RUNS; run++) {
      const flags: Record<string, unknown> = { ...baseFlags(h) };
      const n = 1 + Math.floor(rnd() * 2);
      for (let i = 0; i < n; i++) {
        const flag = pick(FLAGS);
        const valid = String(flags[flag] ?? pick(["18080:target-host:8080", "forward9", "15"]));
        const roll = rnd();
        let value: string;
        if (roll < 0.35 && flag === "identity") value = join(h.home, "keys", pick(ODD_KEYS));
        else if (roll < 0.35) value = pick(UNUSUAL[flag]);
        else if (roll < 0.8) {
          const at = Math.floor(rnd() * (valid.length + 1));
          value = valid.slice(0, at) + pick(PAYLOADS) + valid.slice(at);
        } else {
          value = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () =>
            String.fromCharCode(Math.floor(rnd() * 0x90)),
          ).join("");
        }
        flags[flag] = value;
      }
      copyFileSync(fixture("realistic.conf"), h.config);
      rmSync(`${h.config}.fwd.bak`, { force: true });
      const c = initCtx(h);
      const why = `run ${run}, seed ${SEED}, flags ${JSON.stringify(flags)}`;
      let code: number;
      try {
        code = await initCommand(c.ctx, flags);
      } catch (e) {
        if (!(e instanceof FwdError)) throw new Error(`${why}: ${e}`);
        code = e.exitCode;
        if (process.env.FWD_FUZZ_DEBUG) console.log(why, e.message);
        expect(e.message.includes("\n"), why).toBe(false);
      }
      const after = readFileSync(h.config);
      if (code !== 0) {
        rejected++;
        expect(code, why).toBe(2);
        expect(after.equals(original), why).toBe(true);
        continue;
      }
      accepted++;
      const names = managedNames(after);
      let stripped: Buffer = after;
      for (const name of names) stripped = removeBlock(stripped, name).data;
      expect(stripped.equals(original), why).toBe(true);
      const text = after.toString("utf8");
      const blockLines = text
        .slice(text.indexOf("# >>> fwd"), text.lastIndexOf("<<<") + 3)
        .split("\n");
      for (const line of blockLines) {
        expect(line, why).toMatch(
          /^(#.*|Host [A-Za-z0-9._-]+| {2}(HostName|User|Port|IdentitiesOnly|LocalForward|ServerAliveInterval|ServerAliveCountMax|ExitOnForwardFailure|HostKeyAlias) [^\s"'%]+( [^\s"'%]+)?| {2}IdentityFile ("[^"%]+"|[^\s"'%]+)|)$/,
        );
      }
      // The key path, however odd, reaches ssh as one path.
      const identity = String(flags.identity);
      if (identity.startsWith("/") && names[0]) {
        const ids = sshG(h.config, names[0])
          .split("\n")
          .filter((l) => l.startsWith("identityfile "))
          .map((l) => l.slice("identityfile ".length));
        expect(ids, why).toContain(identity);
      }
      for (const [host, before] of expected) {
        if (names.some((nm) => nm.toLowerCase() === host)) continue;
        expect(sshG(h.config, host), `${why}: host ${host}`).toBe(before);
      }
    }
    if (process.env.FWD_FUZZ_DEBUG) console.log({ accepted, rejected });
    expect(accepted).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(RUNS / 3);
  }, 120_000);
});
