/**
 * `npm run bytecode-order`: records which bytecode the compiled binary uses,
 * for scripts/build.ts's `--bytecode-order` (Bun's profile-guided layout: the
 * functions a run uses go together at the front of the executable, so it
 * starts faster and touches fewer pages: idle RSS of `fwd run` -2.5 MiB,
 * issue 12). Profiles, most important first:
 *   scripts/bytecode-order/run.txt      `fwd run` in the foreground through a
 *                                       private sshd, one request forwarded
 *   scripts/bytecode-order/version.txt  `fwd --version`
 *   scripts/bytecode-order/status.txt   `fwd status --json`
 * Bun ignores entries that no longer match, so a profile from an older build
 * still helps; re-record after large changes. Needs what `npm run bench`
 * needs (sshd, nginx; root). Builds the host binary first.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort, startEnv } from "./bench/env.ts";
import { waitFirstByte } from "./bench/measure.ts";
import { writeConfig } from "./bench/rows.ts";

const ROOT = resolve(import.meta.dir, "..");
const OUT = join(ROOT, "scripts", "bytecode-order");
const BIN = join(ROOT, "dist", `fwd-${process.platform}-${process.arch}`);

function check(path: string): void {
  const head = readFileSync(path, "utf8").slice(0, 3);
  if (head !== "v2\n")
    throw new Error(`${path}: not a bytecode order file (starts ${JSON.stringify(head)})`);
}

async function recordRun(out: string): Promise<void> {
  const env = await startEnv();
  try {
    const port = await freePort();
    const child = spawn(BIN, ["run", "-F", writeConfig(env, "order", port), "bench"], {
      env: { ...process.env, HOME: env.dir, NO_COLOR: "1", BUN_BYTECODE_ORDER_OUT: out },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitFirstByte(port, performance.now(), child, 15_000);
    await (await fetch(`http://127.0.0.1:${port}/64k`)).arrayBuffer();
    child.kill("SIGTERM"); // a clean stop: the profile is written at exit
    await new Promise((r) => child.once("exit", r));
  } finally {
    await env.close();
  }
}

function recordCommand(out: string, args: string[]): void {
  const r = spawnSync(BIN, args, {
    env: { ...process.env, BUN_BYTECODE_ORDER_OUT: out },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`fwd ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

if (import.meta.main) {
  const build = spawnSync(process.execPath, [join(ROOT, "scripts", "build.ts"), "--host"], {
    stdio: "inherit",
  });
  if (build.status !== 0) process.exit(1);
  mkdirSync(OUT, { recursive: true });
  const files = {
    run: join(OUT, "run.txt"),
    version: join(OUT, "version.txt"),
    status: join(OUT, "status.txt"),
  };
  for (const f of Object.values(files)) rmSync(f, { force: true });
  await recordRun(files.run);
  recordCommand(files.version, ["--version"]);
  recordCommand(files.status, ["status", "--json"]);
  for (const f of Object.values(files)) check(f);
  console.log(
    `wrote ${Object.values(files)
      .map((f) => f.slice(ROOT.length + 1))
      .join(", ")}`,
  );
}
