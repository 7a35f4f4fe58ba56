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
 * registry; cached afterwards). Bun.build options (CLI flag in brackets), and why:
 * - minify, splitting, bytecode, format esm: fastest start measured
 *   (bytecode skips parsing; splitting keeps each command's code, and ssh2,
 *   in its own chunk so `--version` and `--help` load only the CLI wiring).
 *   Bytecode is architecture-independent (Bun docs), so cross targets get it too.
 * - the no-native-addons plugin: ssh2's optional add-ons (cpu-features, its
 *   sshcrypto.node) resolve to a stub inside the bundle, never to files on
 *   disk, whether or not npm happened to compile them (see NATIVE_STUB); ssh2
 *   takes its JavaScript path (same behaviour on every target).
 * - compile.autoloadDotenv/autoloadBunfig false: a tunnel tool must not pick
 *   up a .env or bunfig.toml from whatever directory it is started in.
 * - define FWD_BUILD: commit, date, target and bun version for `--version`
 *   (src/version.ts).
 * - compile.jitPolicy (--compile-jit-policy): see JIT_POLICY below.
 * - compile.bytecodeOrder (--bytecode-order): the profiles in
 *   scripts/bytecode-order/ (recorded by `npm run bytecode-order`) put the
 *   bytecode a run uses together at the front: faster start, fewer pages
 *   touched (idle RSS of `fwd run` -2.5 MiB).
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

/**
 * ssh2's optional native add-ons, answered inside the bundle: `cpu-features`
 * and lib/protocol/crypto/build/Release/sshcrypto.node. Left external, a
 * compiled binary looks them up on disk at run time, relative to the current
 * directory (the bundle's own directory is virtual): `fwd run` started in a
 * JavaScript project would load that project's node_modules/cpu-features (and
 * its native add-on), and a planted ./crypto/build/Release/sshcrypto.node would
 * be loaded too. The stub throws, as a missing add-on does, so ssh2 takes its
 * JavaScript path (with fwd's libcrypto AES-GCM) on every target and in every
 * directory.
 */
const NATIVE_STUB = "fwd-no-native-addon";
const noNativeAddons: import("bun").BunPlugin = {
  name: "no-native-addons",
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$/ }, () => ({
      path: NATIVE_STUB,
      namespace: NATIVE_STUB,
    }));
    b.onLoad({ filter: /.*/, namespace: NATIVE_STUB }, () => ({
      contents: 'throw new Error("native add-ons are not part of fwd");',
      loader: "js",
    }));
  },
};

async function compile(target: Target, info: { commit: string; date: string }): Promise<string> {
  const outfile = join(DIST, `fwd-${target}`);
  rmSync(outfile, { force: true });
  const define = JSON.stringify({ ...info, target, bun: Bun.version });
  const order = bytecodeOrder();
  const r = await Bun.build({
    entrypoints: [ENTRY],
    compile: {
      target: `bun-${target}` as Bun.Build.CompileTarget,
      outfile,
      autoloadDotenv: false,
      autoloadBunfig: false,
      jitPolicy: JIT_POLICY,
      bytecodeOrder: order.length > 0 && order,
    },
    minify: true,
    splitting: true,
    bytecode: true,
    format: "esm",
    define: { FWD_BUILD: define },
    plugins: [noNativeAddons],
    throw: false,
  });
  if (!r.success || !existsSync(outfile)) {
    throw new Error(`bun build for ${target} failed:\n${r.logs.map(String).join("\n")}`);
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
      const out = await compile(target, info);
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
