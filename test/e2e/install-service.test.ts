/**
 * `fwd service` as a user runs it, with systemctl/launchctl shims on PATH that
 * record their arguments (this machine has no systemd user manager to talk
 * to). The unit's ExecStart is then run exactly as systemd would split it,
 * against an in-process bastion and HTTP target on loopback: the forward must
 * serve the target, and SIGTERM (systemctl stop) must end it promptly.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Bastion, generateKey, startBastion } from "../../src/demo/bastion.ts";
import { DEMO_BODY, startHttpTarget } from "../../src/demo/target.ts";

const ROOT = resolve(import.meta.dir, "../..");
const DIST = join(process.env.FWD_DIST_DIR ?? join(ROOT, "dist"), "fwd-linux-x64");

let dir: string;
let home: string;
let shims: string;
let bastion: Bastion;
let target: { port: number; close(): Promise<void> };
let localPort: number;
let fwd: string[];
const started: Bun.Subprocess[] = [];

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => res(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** The compiled binary when it has `service`, else the source through bun. */
function fwdArgv(): string[] {
  if (existsSync(DIST)) {
    const p = Bun.spawnSync([DIST, "--help"], { stdout: "pipe" });
    if (p.stdout.toString().includes("service <action>")) return [DIST];
  }
  return [process.execPath, join(ROOT, "src", "main.ts")];
}

/** A manager shim: logs "tool args" to HOME/manager.log, answers status queries. */
function shim(tool: string, body = "") {
  writeFileSync(
    join(shims, tool),
    `#!/bin/sh\necho "${tool} $*" >> "$HOME/manager.log"\n${body}\nexit 0\n`,
  );
  chmodSync(join(shims, tool), 0o755);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fwd-service-e2e-"));
  home = join(dir, "home");
  shims = join(dir, "shims");
  const ssh = join(home, ".ssh");
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  mkdirSync(shims);
  target = await startHttpTarget();
  const hostKey = generateKey();
  const clientKey = generateKey();
  writeFileSync(join(ssh, "id_ed25519"), clientKey.private, { mode: 0o600 });
  bastion = await startBastion({
    user: "bastion_user",
    authorizedKey: clientKey.public,
    hostKeyPrivate: hostKey.private,
    hosts: { "target-host": "127.0.0.1" },
  });
  writeFileSync(join(ssh, "known_hosts"), `[127.0.0.1]:${bastion.port} ${bastion.hostKeyPublic}\n`);
  localPort = await freePort();
  writeFileSync(
    join(ssh, "config"),
    `Host svc1
  HostName 127.0.0.1
  Port ${bastion.port}
  User bastion_user
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  LocalForward 127.0.0.1:${localPort} target-host:${target.port}
Host nofwd
  HostName 127.0.0.1
`,
    { mode: 0o600 },
  );
  fwd = fwdArgv();
});

afterAll(async () => {
  for (const p of started) p.kill("SIGKILL");
  await bastion?.close();
  await target?.close();
  rmSync(dir, { recursive: true, force: true });
});

function baseEnv(path: string): Record<string, string> {
  return {
    HOME: home,
    USER: "svcuser",
    PATH: path,
    FWD_SYSTEM_CONFIG: "none",
    FWD_STATE_DIR: join(dir, "state"),
  };
}

/** Async: the bastion answering fwd lives in this process. */
async function cli(args: string[], extra: Record<string, string> = {}, path?: string) {
  const p = Bun.spawn([...fwd, ...args], {
    env: { ...baseEnv(path ?? `${shims}:/usr/bin:/bin`), ...extra },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

const managerLog = () => {
  const f = join(home, "manager.log");
  const text = existsSync(f) ? readFileSync(f, "utf8") : "";
  rmSync(f, { force: true });
  return text.split("\n").filter(Boolean);
};

/** ExecStart split as systemd does: "quoted" words with \\ escapes, %% and (in arguments) $$. */
function execStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="))!;
  const words = [...line.slice("ExecStart=".length).matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map(
    (m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!),
  );
  return words.map((w, i) => {
    const noPct = w.replace(/%%/g, "%");
    return i === 0 ? noPct : noPct.replace(/\$\$/g, "$");
  });
}

async function waitForBody(port: number, deadlineMs: number): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/`)).text();
    } catch (e) {
      if (Date.now() > until) throw e;
      await Bun.sleep(100);
    }
  }
}

const unitFile = () => join(home, ".config", "systemd", "user", "fwd-svc1.service");

describe("fwd service on Linux (systemd user unit)", () => {
  test("install writes the unit 0644 and enables and restarts it", async () => {
    shim("systemctl");
    const r = await cli(["service", "install", "svc1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(""); // progress is on stderr, stdout is for data
    expect(r.stderr).toContain(`✔ wrote ${unitFile()}`);
    expect(r.stderr).toContain("✔ systemctl --user restart fwd-svc1.service");
    expect(statSync(unitFile()).mode & 0o777).toBe(0o644);
    expect(managerLog()).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable fwd-svc1.service",
      "systemctl --user restart fwd-svc1.service",
    ]);
  });

  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)("the installed unit passes systemd-analyze verify", () => {
    const p = Bun.spawnSync([analyze!, "verify", unitFile()], { stdout: "pipe", stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });

  test("the unit's ExecStart runs the forward, survives ExecReload's SIGHUP, stops cleanly on SIGTERM", async () => {
    const argv = execStart(readFileSync(unitFile(), "utf8"));
    expect(argv.slice(-2)).toEqual(["run", "svc1"]);
    expect(argv[0]!.startsWith("/")).toBe(true);
    // What a systemd user manager passes: HOME, USER, a plain PATH; cwd is HOME.
    const p = Bun.spawn(argv, {
      cwd: home,
      env: baseEnv("/usr/local/bin:/usr/bin:/bin"),
      stdout: "pipe",
      stderr: "pipe",
    });
    started.push(p);
    expect((await waitForBody(localPort, 20_000)).trim()).toBe(DEMO_BODY);
    // ExecReload sends SIGHUP: fwd re-reads ssh_config and keeps serving.
    p.kill("SIGHUP");
    expect((await waitForBody(localPort, 5_000)).trim()).toBe(DEMO_BODY);
    expect(p.exitCode).toBeNull();
    p.kill("SIGTERM");
    const code = await Promise.race([p.exited, Bun.sleep(3000).then(() => "still running")]);
    // 0: a clean stop, so Restart=on-failure leaves it stopped and the unit is not "failed".
    expect(code).toBe(0);
    await expect(waitForBody(localPort, 0)).rejects.toThrow();
  });

  test("status reports what systemctl says", async () => {
    shim("systemctl", `case "$2" in is-enabled) echo enabled ;; is-active) echo active ;; esac`);
    const r = await cli(["service", "status", "svc1", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: "svc1",
      manager: "systemd",
      installed: true,
      enabled: "enabled",
      active: "active",
      file: unitFile(),
    });
    managerLog();
  });

  test("-q prints nothing on success", async () => {
    shim("systemctl");
    const r = await cli(["-q", "service", "install", "svc1"]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe("");
    managerLog();
  });

  test("uninstall disables it, removes the unit and reloads systemd", async () => {
    shim("systemctl");
    const r = await cli(["service", "uninstall", "svc1"]);
    expect(r.code).toBe(0);
    expect(existsSync(unitFile())).toBe(false);
    expect(managerLog()).toEqual([
      "systemctl --user disable --now fwd-svc1.service",
      "systemctl --user daemon-reload",
    ]);
    const again = await cli(["service", "status", "svc1"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("no service");
  });

  test("without systemctl it writes the unit and prints the commands to run", async () => {
    const r = await cli(["service", "install", "svc1"], {}, "/nonexistent");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("systemctl not found");
    expect(r.stderr).toContain("  systemctl --user enable fwd-svc1.service");
    expect(existsSync(unitFile())).toBe(true);
    rmSync(unitFile());
  });

  test("a failing systemctl is an error naming the command and what to do", async () => {
    writeFileSync(
      join(shims, "systemctl"),
      "#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n",
    );
    const r = await cli(["service", "install", "svc1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("systemctl --user daemon-reload failed: Failed to connect to bus");
    expect(r.stderr).toContain("no systemd user manager");
    rmSync(unitFile());
  });

  test("the -F file is carried into the unit as an absolute path", async () => {
    shim("systemctl");
    const r = await cli(["-F", join(home, ".ssh", "config"), "service", "install", "svc1"]);
    expect(r.code).toBe(0);
    const argv = execStart(readFileSync(unitFile(), "utf8"));
    expect(argv.slice(-4)).toEqual(["-F", join(home, ".ssh", "config"), "run", "svc1"]);
    rmSync(unitFile());
    managerLog();
  });

  test.each([
    [["service", "install", "nofwd"], 2, 'no Host "nofwd" with forwards'],
    [["service", "install", "bad name"], 2, "not a valid name"],
    [["service", "restart", "svc1"], 2, 'unknown service action "restart"'],
  ])("refuses %j", async (args, code, message) => {
    const r = await cli(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });
});

describe("fwd service on macOS (launchd agent, platform forced)", () => {
  const plist = () => join(home, "Library", "LaunchAgents", "dev.fwd.svc1.plist");
  const mac = { FWD_SERVICE_PLATFORM: "darwin" };
  const uid = process.getuid?.() ?? 0;

  test("install writes the agent and bootstraps it in the GUI domain", async () => {
    shim("launchctl");
    const r = await cli(["service", "install", "svc1"], mac);
    expect(r.code).toBe(0);
    expect(statSync(plist()).mode & 0o777).toBe(0o644);
    expect(existsSync(join(home, "Library", "Logs", "fwd"))).toBe(true);
    expect(readFileSync(plist(), "utf8")).toContain("<string>svc1</string>");
    expect(managerLog()).toEqual([
      `launchctl bootout gui/${uid}/dev.fwd.svc1`,
      `launchctl bootstrap gui/${uid} ${plist()}`,
    ]);
  });

  test("uninstall boots it out and removes the file", async () => {
    const r = await cli(["service", "uninstall", "svc1"], mac);
    expect(r.code).toBe(0);
    expect(existsSync(plist())).toBe(false);
    expect(managerLog()).toEqual([`launchctl bootout gui/${uid}/dev.fwd.svc1`]);
  });
});
