import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { statusCommand } from "../../src/commands/status.ts";
import { stopCommand } from "../../src/commands/stop.ts";
import { startTimeOf } from "../../src/daemon/proc.ts";
import { startBackground } from "../../src/daemon/spawn.ts";
import { daemonFiles } from "../../src/daemon/state.ts";
import { tempDir, testCtx, waitUntil } from "../helpers/daemon-ctx.ts";

const fake = join(import.meta.dir, "../helpers/daemon-fake-fwd.ts");
/** The fake has no ssh_config to plan from: a fixed start deadline. */
const deps = { deadlineMs: async () => 20_000 };
const runOpts = (options: string[] = []) => ({
  background: true,
  acceptNew: false,
  options,
  local: [],
  remote: [],
  dynamic: [],
  daemonChild: false,
});

function hello(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    s.on("data", (b) => {
      text += b;
    });
    s.on("end", () => res(text));
    s.on("error", rej);
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s: Server = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

describe("run -d machinery (fake tunnel, real processes)", () => {
  let t: ReturnType<typeof tempDir>;
  const pids: number[] = [];
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => {
    // Anything a test started and left: by PID only.
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (const f of readdirSync(t.dir).filter((f) => f.endsWith(".lock"))) {
      const { pid } = JSON.parse(readFileSync(join(t.dir, f), "utf8"));
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    t.remove();
  });

  const ctxWith = (env: Record<string, string>) => {
    const c = testCtx(t.dir, { selfCommand: [process.execPath, fake] });
    c.ctx.env = { ...c.ctx.env, ...env };
    return c;
  };
  const pidFile = () => join(t.dir, "fake.pid");
  const fakePid = () => Number(readFileSync(pidFile(), "utf8"));

  test("returns once the forward listens, prints it, and stop frees the port", async () => {
    const port = await freePort();
    const c = ctxWith({ FAKE_PORT: String(port), FAKE_PIDFILE: pidFile() });
    expect(await startBackground(c.ctx, "forward1", runOpts(), deps)).toBe(0);
    pids.push(fakePid());
    expect(await hello(port)).toBe("hello\n");
    expect(c.out()).toBe(
      `forward1 running in the background (pid ${fakePid()}) via me@bastion:22\n` +
        `  127.0.0.1:${port} -> target-host:22\nstop with: fwd stop forward1\n`,
    );

    const s = testCtx(t.dir, { json: true });
    await statusCommand(s.ctx, "forward1");
    expect(JSON.parse(s.out()).forwards[0]).toMatchObject({
      name: "forward1",
      state: "up",
      pid: fakePid(),
      ports: [port],
    });

    const files = daemonFiles(t.dir, "forward1");
    expect(statSync(t.dir).mode & 0o777).toBe(0o700);
    for (const f of [files.lock, files.state, files.log])
      expect(statSync(f).mode & 0o777).toBe(0o600);

    const stop = testCtx(t.dir);
    expect(await stopCommand(stop.ctx, ["forward1"], false)).toBe(0);
    expect(stop.out()).toBe(`stopped forward1 (pid ${fakePid()})\n`);
    expect(startTimeOf(fakePid())).toBeUndefined();
    expect(await portFree(port)).toBe(true);
    expect(existsSync(files.lock) || existsSync(files.state)).toBe(false);
    expect(readdirSync(t.dir).filter((f) => f.includes(".start-"))).toEqual([]);
  });

  test("a second run -d of the same NAME: already running, exit 1", async () => {
    const c = ctxWith({ FAKE_PIDFILE: pidFile() });
    expect(await startBackground(c.ctx, "forward1", runOpts(), deps)).toBe(0);
    pids.push(fakePid());
    const again = ctxWith({});
    await expect(startBackground(again.ctx, "forward1", runOpts(), deps)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(
        new RegExp(`^forward1 is already running \\(pid ${fakePid()} since .+\\)$`),
      ),
    });
  });

  test("the child's failure comes back with its exit code, and no process is left", async () => {
    const c = ctxWith({ FAKE_MODE: "auth", FAKE_PIDFILE: pidFile() });
    await expect(startBackground(c.ctx, "forward1", runOpts(), deps)).rejects.toMatchObject({
      exitCode: 4,
      message: "authentication failed for me@bastion",
      hint: "check IdentityFile",
    });
    pids.push(fakePid());
    await waitUntil(() => startTimeOf(fakePid()) === undefined, 3000, "child to exit");
    const files = daemonFiles(t.dir, "forward1");
    expect(existsSync(files.lock) || existsSync(files.state)).toBe(false);
    expect(readFileSync(files.log, "utf8")).toContain("failed: authentication failed");
  });

  test("a port in use fails with exit 5", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const c = ctxWith({ FAKE_PORT: String(port), FAKE_PIDFILE: pidFile() });
      await expect(startBackground(c.ctx, "forward1", runOpts(), deps)).rejects.toMatchObject({
        exitCode: 5,
      });
      pids.push(fakePid());
    } finally {
      busy.close();
    }
  });

  test("a child that never gets ready is killed at the deadline (ConnectTimeout + 5 s)", async () => {
    const c = ctxWith({ FAKE_MODE: "hang", FAKE_PIDFILE: pidFile() });
    await expect(
      startBackground(c.ctx, "forward1", runOpts(), { deadlineMs: async () => 6000 }),
    ).rejects.toMatchObject({
      code: "timeout",
      message: "forward1 did not come up within 6 s",
    });
    pids.push(fakePid());
    expect(startTimeOf(fakePid())).toBeUndefined();
    expect(existsSync(daemonFiles(t.dir, "forward1").lock)).toBe(false);
  }, 15_000);

  test("a child that dies without a word is reported with a pointer to the log", async () => {
    const c = ctxWith({ FAKE_MODE: "crash", FAKE_PIDFILE: pidFile() });
    await expect(startBackground(c.ctx, "forward1", runOpts(), deps)).rejects.toMatchObject({
      exitCode: 1,
      message: "the background process for forward1 exited (code 3) before it was ready",
      hint: "see why: fwd logs forward1",
    });
  });

  test("an executable that cannot be started is a clear error", async () => {
    const c = testCtx(t.dir, { selfCommand: [join(t.dir, "no-such-fwd")] });
    await expect(startBackground(c.ctx, "forward1", runOpts(), deps)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining(`could not start ${join(t.dir, "no-such-fwd")}`),
    });
  });

  test("SIGHUP re-reads the config and never stops it; its own session means no terminal sends one", async () => {
    const c = ctxWith({ FAKE_PIDFILE: pidFile() });
    expect(await startBackground(c.ctx, "forward1", runOpts(), deps)).toBe(0);
    const pid = fakePid();
    pids.push(pid);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(Number(fields[3])).toBe(pid); // field 6, session id: a session leader (setsid)
    process.kill(pid, "SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    expect(startTimeOf(pid)).toBeString();
    await waitUntil(
      () => readFileSync(daemonFiles(t.dir, "forward1").log, "utf8").includes("SIGHUP: re-reading"),
      2000,
      "SIGHUP logged",
    );
    expect(startTimeOf(pid)).toBeString();
  });

  test("status follows the link: reconnecting after a drop", async () => {
    const c = ctxWith({ FAKE_PIDFILE: pidFile() });
    expect(await startBackground(c.ctx, "forward1", runOpts(), deps)).toBe(0);
    pids.push(fakePid());
    process.kill(fakePid(), "SIGUSR2");
    await waitUntil(
      () => {
        const s = testCtx(t.dir, { json: true });
        statusCommand(s.ctx, "forward1");
        return s.out().includes('"reconnecting"');
      },
      3000,
      "reconnecting",
    );
  });

  test.each([
    ["the right passphrase opens it", "right", 0],
    ["a wrong one fails like the foreground (exit 4)", "wrong", 4],
  ])(
    "questions are relayed to run -d: %s",
    async (_l, answer, code) => {
      const asked: string[] = [];
      const c = ctxWith({ FAKE_MODE: "ask", FAKE_PIDFILE: pidFile() });
      const started = startBackground(c.ctx, "forward1", runOpts(), {
        // The person takes longer than the deadline: it does not run while they type.
        deadlineMs: async () => 3_000,
        answerers: {
          passphrase: async (path) => {
            asked.push(path);
            await new Promise((r) => setTimeout(r, 4_000));
            return answer;
          },
        },
      });
      if (code === 0) expect(await started).toBe(0);
      else await expect(started).rejects.toMatchObject({ exitCode: code });
      pids.push(fakePid());
      expect(asked).toEqual(["/keys/id_locked"]);
      expect(readFileSync(daemonFiles(t.dir, "forward1").log, "utf8")).not.toContain(
        answer === "right" ? "right" : "wrong\n",
      );
    },
    20_000,
  );

  test("10 concurrent run -d of one NAME: exactly one survivor, nine clear errors", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        startBackground(ctxWith({}).ctx, "forward1", runOpts(), deps),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok.length).toBe(1);
    expect(failed.length).toBe(9);
    for (const f of failed)
      expect(f.reason.message).toMatch(/^forward1 is already running \(pid \d+ since/);
    const s = testCtx(t.dir, { json: true });
    await statusCommand(s.ctx);
    const entries = JSON.parse(s.out()).forwards;
    expect(entries).toHaveLength(1);
    expect(entries[0].state).toBe("up");
  }, 30_000);
});
