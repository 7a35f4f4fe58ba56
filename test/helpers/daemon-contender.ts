/**
 * One contender in the lock race test: waits until GO_AT (epoch ms), tries to
 * become NAME's owner, prints "won" or "lost <pid>", and if it won holds the
 * lock until killed.
 * Usage: bun daemon-contender.ts STATE_DIR NAME GO_AT
 */
import { acquireLock } from "../../src/daemon/lock.ts";
import { selfId } from "../../src/daemon/proc.ts";
import { daemonFiles } from "../../src/daemon/state.ts";

const [dir, name, goAt] = process.argv.slice(2);
if (!dir || !name || !goAt) throw new Error("usage: STATE_DIR NAME GO_AT");
const wait = Number(goAt) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const me = selfId();
const r = acquireLock(daemonFiles(dir, name), { name, ...me, startedAt: new Date().toISOString() });
if (r.ok) {
  process.stdout.write("won\n");
  process.on("SIGTERM", () => {
    r.release();
    process.exit(0);
  });
  setInterval(() => {}, 1000);
} else {
  process.stdout.write(`lost ${r.holder.pid}\n`);
}
