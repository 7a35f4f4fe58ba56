/**
 * Prompt ACKs during setup (src/tunnel/quickack.ts) against a real sshd at
 * LogLevel DEBUG3, which logs every SSH2_MSG_IGNORE it receives: fwd sends
 * them while the connection is being set up (and sshd takes them: the forward
 * works), and stops once setup is over (steady traffic is untouched).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FwdMode, hasBinary, spawnFwd } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { canRunSshd, type Sshd, startSshd, writeClientConfig } from "../helpers/sshd.ts";
import { startHttpTarget, TARGET_BODY, type Target } from "../helpers/targets.ts";

const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const IGNORE = /Received SSH2_MSG_IGNORE/g;

let sshd: Sshd;
let web: Target;
let home: TempHome;
let key: KeyPair;

beforeAll(async () => {
  if (!canRunSshd) return;
  home = tempHome();
  key = genKey(home.sshDir);
  sshd = await startSshd({ authorized: { root: [key.pub] }, extra: { LogLevel: "DEBUG3" } });
  web = await startHttpTarget();
});
afterAll(async () => {
  if (!canRunSshd) return;
  await sshd.cleanup();
  await web.close();
  home.cleanup();
});

const config = (port: number) =>
  writeClientConfig(sshd, home.dir, {
    identity: key.path,
    lines: [`LocalForward ${port} localhost:${web.port}`],
  });

const ignores = (from: number) => sshd.log().slice(from).match(IGNORE)?.length ?? 0;

describe.skipIf(!canRunSshd).each(modes)("setup ACKs (%s)", (mode) => {
  test("IGNOREs go out during setup only; sshd accepts them and the forward works", async () => {
    const port = await freePort();
    const start = sshd.log().length;
    const p = spawnFwd(["run", "-F", config(port), "forward1"], { env: home.env, mode });
    try {
      await waitFor(
        async () => {
          if (p.child.exitCode !== null) throw new Error(`fwd exited: ${p.stderr()}`);
          return p.stderr().includes("→");
        },
        { timeoutMs: 20_000, what: "fwd ready" },
      );
      // The first connection right behind setup, as `fwd run -d && ssh forward2` makes it.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(TARGET_BODY);
      expect(ignores(start)).toBeGreaterThan(0);

      // Past the grace period: traffic flows and fwd sends no more IGNOREs.
      await Bun.sleep(2_500);
      const later = sshd.log().length;
      for (let i = 0; i < 5; i++) {
        expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(TARGET_BODY);
      }
      await Bun.sleep(200);
      expect(ignores(later)).toBe(0);
    } finally {
      await p.kill();
    }
  });
});
