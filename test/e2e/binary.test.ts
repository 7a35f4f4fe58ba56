/**
 * The compiled binary (dist/fwd-<os>-<arch>, or $FWD_BIN) as users get it:
 * it carries its build identity, starts with nothing but HOME and PATH from
 * any directory, and runs the demo on its own. `npm test` builds it first
 * (scripts/test.ts); run alone, build it with `npm run build -- --host`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { BINARY, hasBinary, ROOT, runFwd } from "../helpers/fwd.ts";
import { tempHome } from "../helpers/home.ts";
import { freePort } from "../helpers/ports.ts";
import { TARGET_BODY } from "../helpers/targets.ts";

const home = tempHome("fwd-bin-");
afterAll(() => home.cleanup());
const target = `${process.platform}-${process.arch}`;
const bin = (args: string[], opts: { cwd?: string; timeoutMs?: number } = {}) =>
  runFwd(args, { env: home.env, mode: "binary", ...opts });

describe.skipIf(!hasBinary)(`compiled ${BINARY.replace(`${ROOT}/`, "")}`, () => {
  test("--version names version, commit, build date, target and the bun it was built with", async () => {
    const r = await bin(["--version"]);
    expect(r.code).toBe(0);
    const m = r.stdout.match(/^fwd (\S+) \((\S+), (\S+), (\S+), bun (\S+)\)\n$/);
    expect(m).not.toBeNull();
    const [, version, commit, date, built, bun] = m!;
    expect(version).toBe(pkg.version);
    expect(built).toBe(target);
    expect(bun).toBe(Bun.version);
    expect(Number.isNaN(Date.parse(date!))).toBe(false);
    if (commit === "unknown") return;
    // A commit of this repository (HEAD moves on while others commit).
    expect(commit).toMatch(/^[0-9a-f]{7,}(-dirty)?$/);
    const sha = commit!.replace(/-dirty$/, "");
    expect(spawnSync("git", ["cat-file", "-e", `${sha}^{commit}`], { cwd: ROOT }).status).toBe(0);
  });

  test("version --json agrees with --version", async () => {
    const [line, json] = await Promise.all([bin(["--version"]), bin(["version", "--json"])]);
    const v = JSON.parse(json.stdout);
    expect(v.target).toBe(target);
    expect(v.runtime).toBe(`bun ${Bun.version}`);
    expect(line.stdout).toContain(`(${v.commit}, ${v.date}, ${v.target}, ${v.runtime})`);
  });

  test("--help is the same as from source", async () => {
    const [compiled, source] = await Promise.all([
      bin(["--help"]),
      runFwd(["--help"], { env: home.env }),
    ]);
    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toBe(source.stdout);
  });

  test("runs from any directory with only HOME and PATH, ignoring a .env there", async () => {
    // Compiled bun binaries load ./.env by default; the build turns that off.
    // If it were loaded, FWD_HOME would point fwd at a config naming another HostName.
    const other = join(home.dir, "dotenv-home");
    mkdirSync(join(other, ".ssh"), { recursive: true });
    writeFileSync(join(other, ".ssh", "config"), "Host web\n  HostName from-dotenv.invalid\n");
    writeFileSync(join(home.dir, ".env"), `FWD_HOME=${other}\n`);
    const r = spawnSync(BINARY, ["config", "resolve", "web"], {
      cwd: home.dir,
      env: { HOME: home.dir, PATH: "/usr/bin:/bin", FWD_SYSTEM_CONFIG: "none" },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^hostname web$/m);
  });

  test("usage errors keep exit code 2", async () => {
    const r = await bin(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hint:");
  });

  test("a closed stdout or stderr pipe keeps the exit code (status; run failing on a taken port)", async () => {
    // A port that is taken: `run` fails with 5 (forward). Making the pipe guards lazy for `run` (to
    // save ~3 ms of setup) broke this: exit 1.
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    const cfg = join(home.dir, "closed-pipe-config");
    writeFileSync(
      cfg,
      `Host h\n  HostName 127.0.0.1\n  Port 1\n  LocalForward ${port} 127.0.0.1:22\n`,
    );
    // bash points fwd's stdout or stderr at a pipe whose reader has already gone.
    const sh = (script: string) =>
      spawnSync("bash", ["-c", `exec 3>&1; ${script}; echo "code=$?" >&3`, "fwd", BINARY, cfg], {
        env: { ...home.env, PATH: process.env.PATH },
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 20_000,
      }).stdout.toString();
    try {
      expect(sh(`exec 2> >(exit 0); sleep 0.3; "$1" run -F "$2" h`)).toBe("code=5\n");
      expect(sh(`exec 1> >(exit 0); sleep 0.3; "$1" status`)).toBe("code=0\n");
    } finally {
      taken.close();
    }
  });

  test("embeds no native add-on (ssh2 runs on its JavaScript crypto on every target)", () => {
    const bytes = readFileSync(BINARY);
    expect(bytes.includes(Buffer.from("cpufeatures.node"))).toBe(false);
    expect(/sshcrypto-[a-z0-9]+\.node/.test(bytes.toString("latin1"))).toBe(false);
  });

  test("loads none of ssh2's optional add-ons from the directory it runs in", async () => {
    // Left external, `require("cpu-features")` was looked up from the current directory at
    // run time: `fwd run` in a JavaScript project ran that project's node_modules/cpu-features.
    const dir = join(home.dir, "planted");
    mkdirSync(join(dir, "node_modules", "cpu-features"), { recursive: true });
    mkdirSync(join(dir, "crypto", "build", "Release"), { recursive: true });
    const marker = join(dir, "PLANTED-CODE-RAN");
    writeFileSync(
      join(dir, "node_modules", "cpu-features", "package.json"),
      '{ "name": "cpu-features", "version": "0.0.1", "main": "index.js" }\n',
    );
    writeFileSync(
      join(dir, "node_modules", "cpu-features", "index.js"),
      `require("fs").writeFileSync(${JSON.stringify(marker)}, "yes");\nmodule.exports = () => ({});\n`,
    );
    writeFileSync(join(dir, "crypto", "build", "Release", "sshcrypto.node"), "not a library\n");
    // A first hop that accepts and never answers: ssh2 is loaded, the handshake times out.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const cfg = join(dir, "cfg");
    writeFileSync(
      cfg,
      `Host t\n  HostName 127.0.0.1\n  Port ${port}\n  ConnectTimeout 1\n  LocalForward 127.0.0.1:${await freePort()} 127.0.0.1:9\n`,
    );
    try {
      const r = await bin(["run", "-F", cfg, "t"], { cwd: dir, timeoutMs: 20_000 });
      expect(r.stderr).toContain("did not complete the SSH handshake");
      expect(r.code).toBe(1);
      expect(existsSync(marker)).toBe(false);
    } finally {
      silent.close();
    }
  });

  test.skipIf(!existsSync(join(ROOT, "src/commands/demo.ts")))(
    "demo fetches the target's page through the forward and exits 0",
    async () => {
      const r = await bin(["demo"], { cwd: "/", timeoutMs: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(TARGET_BODY);
    },
  );
});

/** dist/ after `npm run build` (all four) or `--host` (one): every binary listed, every hash right. */
const DIST = process.env.FWD_DIST_DIR ?? join(ROOT, "dist");
const sumsPath = join(DIST, "SHA256SUMS");
describe.skipIf(!existsSync(sumsPath))("dist/ after a build", () => {
  const listed = () =>
    readFileSync(sumsPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("  ") as [string, string]);

  test("lists every fwd binary in dist/ with its SHA-256, in sha256sum format", () => {
    const lines = listed();
    const names = lines.map(([, name]) => name);
    const present = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"]
      .map((t) => `fwd-${t}`)
      .filter((n) => existsSync(join(DIST, n)));
    expect(names).toEqual(present.sort());
    for (const [hash, name] of lines) {
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(
        createHash("sha256")
          .update(readFileSync(join(DIST, name)))
          .digest("hex"),
      ).toBe(hash);
    }
  });

  // ELF header: EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian, e_type 2 = EXEC, e_machine at 18.
  test.each([
    ["linux-x64", 0x3e],
    ["linux-arm64", 0xb7],
  ])("fwd-%s is a 64-bit little-endian ELF executable for its CPU", (t, machine) => {
    const file = join(DIST, `fwd-${t}`);
    if (!existsSync(file)) return;
    const head = Buffer.alloc(20);
    const fd = openSync(file, "r");
    readSync(fd, head, 0, 20, 0);
    closeSync(fd);
    expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(head[4]).toBe(2);
    expect(head[5]).toBe(1);
    expect(head.readUInt16LE(16)).toBe(2);
    expect(head.readUInt16LE(18)).toBe(machine);
  });
});
