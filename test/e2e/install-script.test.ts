/**
 * install.sh driven as a user would run it, against a release directory served
 * from 127.0.0.1. `uname` and `sysctl` are shimmed on PATH so every platform
 * branch runs here; the real dist/fwd-linux-x64 is installed too when built.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const SCRIPT = join(ROOT, "install.sh");
const REAL = join(process.env.FWD_DIST_DIR ?? join(ROOT, "dist"), "fwd-linux-x64");
const hostIsLinuxX64 = process.platform === "linux" && process.arch === "x64";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const fake = (asset: string) => `#!/bin/sh\necho "fwd 9.9.9 (fake ${asset})"\n`;
const ASSETS = ["fwd-linux-x64", "fwd-linux-arm64", "fwd-darwin-x64", "fwd-darwin-arm64"];

/** Release directories, one per scenario: name -> files. */
function releases(): Record<string, Record<string, Buffer | string>> {
  const good: Record<string, string> = {};
  for (const a of ASSETS) good[a] = fake(a);
  const sums = (files: Record<string, Buffer | string>) =>
    Object.entries(files)
      .map(([n, b]) => `${sha256(b)}  ${n}\n`)
      .join("");
  const out: Record<string, Record<string, Buffer | string>> = {
    good: { ...good, SHA256SUMS: sums(good) },
    // Binary-mode marker ("*name") as `sha256sum -b` writes it.
    star: { ...good, SHA256SUMS: sums(good).replace(/ {2}/g, " *") },
    bad: { ...good, SHA256SUMS: sums({ ...good, "fwd-linux-x64": "something else" }) },
    missing: { SHA256SUMS: sums(good) },
    unlisted: { ...good, SHA256SUMS: sums({ "fwd-darwin-x64": good["fwd-darwin-x64"]! }) },
  };
  if (existsSync(REAL)) {
    const bin = readFileSync(REAL);
    out.real = { "fwd-linux-x64": bin, SHA256SUMS: sums({ "fwd-linux-x64": bin }) };
  }
  return out;
}

let server: ReturnType<typeof Bun.serve>;
let work: string;
const requests: string[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "fwd-install-"));
  const served = releases();
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const [, dir, file] = path.split("/");
      const body = dir && file ? served[dir]?.[file] : undefined;
      return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
    },
  });
});

afterAll(() => {
  server?.stop(true);
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  home: string;
  bin: string;
  tmp: string;
}

interface Machine {
  os?: string;
  arch?: string;
  /** Output of `sysctl -in sysctl.proc_translated` ("1" under Rosetta). */
  translated?: string;
}

let n = 0;
/** Runs install.sh with a fresh HOME and TMPDIR, on a machine described by shims. */
async function install(
  release: string,
  machine: Machine = {},
  env: Record<string, string> = {},
): Promise<Run> {
  const dir = join(work, `run${n++}`);
  const home = join(dir, "home");
  const shims = join(dir, "shims");
  const tmp = join(dir, "tmp");
  for (const d of [home, shims, tmp]) mkdirSync(d, { recursive: true });
  const shim = (name: string, body: string) => {
    writeFileSync(join(shims, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(shims, name), 0o755);
  };
  shim(
    "uname",
    `case "$1" in -m) echo '${machine.arch ?? "x86_64"}' ;; *) echo '${machine.os ?? "Linux"}' ;; esac`,
  );
  if (machine.translated !== undefined) shim("sysctl", `echo '${machine.translated}'`);
  const base = `http://127.0.0.1:${server.port}/${release}`;
  // Async: the HTTP server answering the installer lives in this same process.
  const p = Bun.spawn(["sh", SCRIPT], {
    env: {
      HOME: home,
      PATH: `${shims}:/usr/local/bin:/usr/bin:/bin`,
      TMPDIR: tmp,
      FWD_INSTALL_BASE: base,
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return {
    code,
    stdout,
    stderr,
    home,
    bin: join(home, ".local", "bin"),
    tmp,
  };
}

function runInstalled(path: string): string {
  const p = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "pipe" });
  expect(p.exitCode).toBe(0);
  return p.stdout.toString().trim();
}

/** What the installer left in a directory (empty or absent: nothing). */
const left = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe("install.sh", () => {
  for (const downloader of ["curl", "wget"]) {
    test(`installs a binary whose checksum matches (${downloader})`, async () => {
      const r = await install("good", {}, { FWD_DOWNLOADER: downloader });
      expect(r.stderr).toContain("Checksum OK");
      expect(r.code).toBe(0);
      expect(left(r.bin)).toEqual(["fwd"]);
      expect(runInstalled(join(r.bin, "fwd"))).toBe("fwd 9.9.9 (fake fwd-linux-x64)");
      expect(left(r.tmp)).toEqual([]);
    });
  }

  test("accepts SHA256SUMS written in binary mode (HASH *NAME)", async () => {
    const r = await install("star");
    expect(r.code).toBe(0);
    expect(runInstalled(join(r.bin, "fwd"))).toContain("fwd-linux-x64");
  });

  test("refuses a checksum mismatch and leaves nothing behind", async () => {
    const r = await install("bad");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("checksum mismatch for fwd-linux-x64");
    expect(r.stderr).toContain("nothing was installed");
    expect(left(r.bin)).toEqual([]);
    expect(left(r.tmp)).toEqual([]);
  });

  test("keeps an existing fwd untouched when the new one fails verification", async () => {
    const dir = join(work, "keep-bin");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "fwd"), "old");
    const r = await install("bad", {}, { FWD_INSTALL_DIR: dir });
    expect(r.code).toBe(1);
    expect(readdirSync(dir)).toEqual(["fwd"]);
    expect(readFileSync(join(dir, "fwd"), "utf8")).toBe("old");
  });

  test("replaces an existing fwd in FWD_INSTALL_DIR", async () => {
    const dir = join(work, "replace-bin");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "fwd"), "old");
    const r = await install("good", {}, { FWD_INSTALL_DIR: dir });
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(["fwd"]);
    expect(runInstalled(join(dir, "fwd"))).toContain("fake fwd-linux-x64");
  });

  test("says clearly when the binary is not published", async () => {
    const r = await install("missing");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("could not download");
    expect(r.stderr).toContain("/missing/fwd-linux-x64");
    expect(left(r.bin)).toEqual([]);
    expect(left(r.tmp)).toEqual([]);
  });

  test("refuses a binary that SHA256SUMS does not list", async () => {
    const r = await install("unlisted");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("SHA256SUMS lists no checksum for fwd-linux-x64");
    expect(left(r.bin)).toEqual([]);
  });

  test.each([
    ["MINGW64_NT-10.0", "x86_64", "unsupported operating system: MINGW64_NT-10.0"],
    ["FreeBSD", "amd64", "unsupported operating system: FreeBSD"],
    ["Linux", "riscv64", "unsupported CPU architecture: riscv64"],
  ])("refuses an unsupported platform (%s %s)", async (os, arch, message) => {
    const r = await install("good", { os, arch });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(left(r.bin)).toEqual([]);
  });

  test.each([
    [{ os: "Linux", arch: "aarch64" }, "fwd-linux-arm64"],
    [{ os: "Darwin", arch: "x86_64", translated: "0" }, "fwd-darwin-x64"],
    [{ os: "Darwin", arch: "arm64" }, "fwd-darwin-arm64"],
    // A shell under Rosetta 2 says x86_64; the mac underneath is arm64.
    [{ os: "Darwin", arch: "x86_64", translated: "1" }, "fwd-darwin-arm64"],
  ])("picks the binary for %o", async (machine, asset) => {
    const r = await install("good", machine);
    expect(r.code).toBe(0);
    expect(runInstalled(join(r.bin, "fwd"))).toBe(`fwd 9.9.9 (fake ${asset})`);
  });

  test("warns when the install dir is not on PATH, and not when it is", async () => {
    const off = await install("good");
    expect(off.stderr).toContain(`${off.bin} is not on your PATH`);
    const dir = join(work, "on-path-bin");
    const on = await install(
      "good",
      {},
      {
        FWD_INSTALL_DIR: dir,
        PATH: `${dir}:/usr/local/bin:/usr/bin:/bin`,
      },
    );
    expect(on.code).toBe(0);
    expect(on.stderr).not.toContain("not on your PATH");
  });

  test("refuses a plain-HTTP base that is not this machine", async () => {
    const r = await install("good", {}, { FWD_INSTALL_BASE: "http://example.invalid/fwd" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refusing to download from http://example.invalid/fwd");
  });

  test("builds the GitHub release URL from FWD_VERSION", async () => {
    // FWD_DOWNLOADER=false: the installer announces the URL, then nothing leaves this machine.
    const r = await install(
      "good",
      {},
      { FWD_INSTALL_BASE: "", FWD_VERSION: "0.2.0", FWD_DOWNLOADER: "false" },
    );
    expect(r.stderr).toContain("/releases/download/v0.2.0");
  });

  test.skipIf(!existsSync(REAL) || !hostIsLinuxX64)(
    "installs the real dist/fwd-linux-x64, which then runs",
    async () => {
      const r = await install("real");
      expect(r.code).toBe(0);
      expect(runInstalled(join(r.bin, "fwd"))).toMatch(/^fwd \d+\.\d+\.\d+/);
    },
    60_000, // a 100 MB download, checksum and copy
  );

  const shellcheck = Bun.which("shellcheck");
  test.skipIf(!shellcheck)("is shellcheck-clean as POSIX sh", async () => {
    const p = Bun.spawnSync([shellcheck!, "--shell=sh", SCRIPT], { stdout: "pipe" });
    expect(p.stdout.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });
});
