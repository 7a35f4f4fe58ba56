/**
 * `npm run build`: standalone fwd binaries with `bun build --compile` for
 * linux-{x64,arm64} and darwin-{x64,arm64} into dist/fwd-<os>-<arch>, plus
 * dist/SHA256SUMS (sha256sum format) over every binary in dist/.
 *
 *   bun scripts/build.ts                 all four targets
 *   bun scripts/build.ts --host          only this machine's target (npm test)
 *   bun scripts/build.ts --target linux-arm64 [--target ...]
 *
 * Cross targets make bun fetch that platform's runtime once (from the package
 * registry; cached afterwards). Flags, and why:
 * - --minify --splitting --bytecode --format=esm: fastest start measured
 *   (bytecode skips parsing; splitting keeps each command's code, and ssh2,
 *   in its own chunk so `--version` and `--help` load only the CLI wiring).
 *   Bytecode is architecture-independent (Bun docs), so cross targets get it too.
 * - -e cpu-features -e '*.node': ssh2's optional native add-ons stay out of
 *   the binary whether or not npm happened to compile them; ssh2 falls back
 *   to its JavaScript crypto (same behaviour on every target).
 * - --no-compile-autoload-dotenv/-bunfig: a tunnel tool must not pick up a
 *   .env or bunfig.toml from whatever directory it is started in.
 * - --define FWD_BUILD: commit, date, target and bun version for `--version`
 *   (src/version.ts).
 * - --compile-jit-policy: see JIT_POLICY below.
 * - --bytecode-order: the profiles in scripts/bytecode-order/ (recorded by
 *   `npm run bytecode-order`) put the bytecode a run uses together at the
 *   front: faster start, fewer pages touched (idle RSS of `fwd run` -2.5 MiB).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;
export type Target = (typeof TARGETS)[number];

const ROOT = resolve(import.meta.dir, "..");
const DIST = join(ROOT, "dist");
const ENTRY = join(ROOT, "src", "main.ts");

function hostTarget(): Target {
  const t = `${process.platform}-${process.arch}`;
  if (!(TARGETS as readonly string[]).includes(t)) {
    throw new Error(`no build target for this machine (${t}); targets: ${TARGETS.join(", ")}`);
  }
  return t as Target;
}

function git(...args: string[]): string | undefined {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Short commit, "-dirty" when tracked sources differ from it; "unknown" outside git. */
function commit(): string {
  const head = git("rev-parse", "--short", "HEAD");
  if (!head) return "unknown";
  const clean = spawnSync("git", ["diff", "--quiet", "HEAD", "--", "src", "package.json"], {
    cwd: ROOT,
  });
  return clean.status === 0 ? head : `${head}-dirty`;
}

/** UTC build time; SOURCE_DATE_EPOCH (seconds) pins it for reproducible builds. */
function buildDate(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const d = Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date();
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function parseArgs(argv: string[]): Target[] {
  const picked: Target[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--host") picked.push(hostTarget());
    else if (a === "--target" || a.startsWith("--target=")) {
      const t = a === "--target" ? argv[++i] : a.slice("--target=".length);
      if (!t || !(TARGETS as readonly string[]).includes(t)) {
        throw new Error(`unknown target ${t ?? "(missing)"}; targets: ${TARGETS.join(", ")}`);
      }
      picked.push(t as Target);
    } else throw new Error(`unknown argument ${a}; usage: build.ts [--host] [--target T]...`);
  }
  return picked.length > 0 ? [...new Set(picked)] : [...TARGETS];
}

/**
 * JavaScriptCore tier-up thresholds x8 while fwd starts (code that runs once
 * stays in the interpreter instead of being compiled); openNamed() restores
 * the normal policy once a tunnel is up (src/commands/run.ts). Setup ~7 %
 * faster in interleaved runs; bulk CPU unchanged.
 */
const JIT_POLICY = 8;

/** The recorded bytecode-order profiles, most important first; [] when none are committed. */
export function bytecodeOrder(): string[] {
  const dir = join(ROOT, "scripts", "bytecode-order");
  return ["run.txt", "version.txt", "status.txt"]
    .map((f) => join(dir, f))
    .filter((f) => existsSync(f));
}

function compile(target: Target, info: { commit: string; date: string }): string {
  const outfile = join(DIST, `fwd-${target}`);
  rmSync(outfile, { force: true });
  const define = JSON.stringify({ ...info, target, bun: Bun.version });
  const args = [
    "build",
    ENTRY,
    "--compile",
    `--target=bun-${target}`,
    "--minify",
    "--splitting",
    "--bytecode",
    `--compile-jit-policy=${JIT_POLICY}`,
    ...bytecodeOrder().map((f) => `--bytecode-order=${f}`),
    "--format=esm",
    "-e",
    "cpu-features",
    "-e",
    "*.node",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--define=FWD_BUILD=${define}`,
    `--outfile=${outfile}`,
  ];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0 || !existsSync(outfile)) {
    throw new Error(`bun build for ${target} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return outfile;
}

function writeSums(): string[] {
  const names = readdirSync(DIST)
    .filter((n) => TARGETS.some((t) => n === `fwd-${t}`))
    .sort();
  const lines = names.map((n) => {
    const hash = createHash("sha256")
      .update(readFileSync(join(DIST, n)))
      .digest("hex");
    return `${hash}  ${n}`;
  });
  writeFileSync(join(DIST, "SHA256SUMS"), `${lines.join("\n")}\n`);
  return names;
}

function mib(path: string): string {
  return `${(Bun.file(path).size / 1024 / 1024).toFixed(1)} MiB`;
}

if (import.meta.main) {
  try {
    const targets = parseArgs(process.argv.slice(2));
    mkdirSync(DIST, { recursive: true });
    const info = { commit: commit(), date: buildDate() };
    for (const target of targets) {
      const started = performance.now();
      const out = compile(target, info);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`built dist/fwd-${target}  ${mib(out)}  ${secs}s`);
    }
    // The host binary must at least start: catches a broken bundle before any test does.
    const host = `${process.platform}-${process.arch}`;
    if ((targets as string[]).includes(host)) {
      const v = spawnSync(join(DIST, `fwd-${host}`), ["--version"], { encoding: "utf8" });
      if (v.status !== 0) throw new Error(`dist/fwd-${host} --version failed:\n${v.stderr}`);
      console.log(v.stdout.trim());
    }
    console.log(`wrote dist/SHA256SUMS (${writeSums().join(", ")})`);
  } catch (e) {
    console.error(`build: ${(e as Error).message}`);
    process.exit(1);
  }
}
