import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stopCommand, stopOne } from "../../src/commands/stop.ts";
import { startTimeOf } from "../../src/daemon/proc.ts";
import { daemonFiles, writeState } from "../../src/daemon/state.ts";
import {
  killQuietly,
  spawnSleeper,
  spawnTermIgnorer,
  tempDir,
  testCtx,
  waitUntil,
} from "../helpers/daemon-ctx.ts";

/** Writes NAME's lock and state as a background fwd with this pid/start time would. */
function plant(dir: string, name: string, pid: number, startTime: string | undefined): void {
  const files = daemonFiles(dir, name);
  const startedAt = new Date().toISOString();
  writeFileSync(files.lock, JSON.stringify({ name, pid, startTime, startedAt }));
  writeState(files.state, {
    name,
    pid,
    startTime: startTime ?? null,
    startedAt,
    state: "up",
    since: startedAt,
    reconnects: 0,
    lastError: null,
    via: "me@bastion:22",
    forwards: [],
    ports: [],
    configFile: null,
    logFile: files.log,
  });
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

describe("fwd stop", () => {
  let t: ReturnType<typeof tempDir>;
  const procs: ChildProcess[] = [];
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => {
    for (const p of procs.splice(0)) killQuietly(p);
    t.remove();
  });
  const track = (p: ChildProcess) => {
    procs.push(p);
    return p;
  };

  test("stops the recorded process with SIGTERM and removes its files", async () => {
    const p = track(spawnSleeper());
    plant(t.dir, "forward1", p.pid!, startTimeOf(p.pid!));
    const r = await stopOne(t.dir, "forward1");
    expect(r).toEqual({ name: "forward1", stopped: true, pid: p.pid!, killed: false });
    await waitUntil(() => !alive(p), 3000, "exit event");
    expect(p.signalCode).toBe("SIGTERM");
    const files = daemonFiles(t.dir, "forward1");
    expect(existsSync(files.lock) || existsSync(files.state)).toBe(false);
  });

  test("a process that ignores SIGTERM is killed after 2 s", async () => {
    const p = track(await spawnTermIgnorer());
    plant(t.dir, "forward1", p.pid!, startTimeOf(p.pid!));
    const r = await stopOne(t.dir, "forward1");
    expect(r).toMatchObject({ stopped: true, killed: true });
    await waitUntil(() => !alive(p), 3000, "exit event");
    expect(p.signalCode).toBe("SIGKILL");
  });

  test("a stale state whose pid was reused by another process is never signalled", async () => {
    const innocent = track(spawnSleeper());
    await waitUntil(() => startTimeOf(innocent.pid!) !== undefined, 2000, "sleep to start");
    plant(t.dir, "forward1", innocent.pid!, "linux:1"); // same pid, another start time
    const r = await stopOne(t.dir, "forward1");
    expect(r).toEqual({ name: "forward1", stopped: false });
    await new Promise((res) => setTimeout(res, 100));
    expect(alive(innocent)).toBe(true);
    const files = daemonFiles(t.dir, "forward1");
    expect(existsSync(files.lock) || existsSync(files.state)).toBe(false);
  });

  test("a record without a start time is never signalled", async () => {
    const innocent = track(spawnSleeper());
    plant(t.dir, "forward1", innocent.pid!, undefined);
    expect((await stopOne(t.dir, "forward1")).stopped).toBe(false);
    await new Promise((res) => setTimeout(res, 100));
    expect(alive(innocent)).toBe(true);
  });

  test("not running: a clear message and exit 0, twice in a row", async () => {
    const cfg = join(t.dir, "config");
    writeFileSync(cfg, "Host forward1\n  LocalForward 10022 target:22\n");
    for (let i = 0; i < 2; i++) {
      const c = testCtx(t.dir, { configFile: cfg });
      expect(await stopCommand(c.ctx, ["forward1"], false)).toBe(0);
      expect(c.out()).toBe("forward1 is not running\n");
    }
  });

  test("a NAME that is no Host of the config: still exit 0, but said (likely a typo)", async () => {
    const cfg = join(t.dir, "config");
    writeFileSync(cfg, "Host forward1\n  LocalForward 10022 target:22\n");
    const c = testCtx(t.dir, { configFile: cfg });
    expect(await stopCommand(c.ctx, ["forward1", "froward1"], false)).toBe(0);
    expect(c.out()).toBe(
      `forward1 is not running\nfroward1 is not running (and no Host froward1 in ${cfg})\n`,
    );
  });

  test("no NAME and no --all is a usage error (exit 2)", async () => {
    const c = testCtx(t.dir);
    await expect(stopCommand(c.ctx, [], false)).rejects.toMatchObject({ exitCode: 2 });
  });

  test("--all stops every running one and reports each", async () => {
    const a = track(spawnSleeper());
    const b = track(spawnSleeper());
    plant(t.dir, "a", a.pid!, startTimeOf(a.pid!));
    plant(t.dir, "b", b.pid!, startTimeOf(b.pid!));
    const c = testCtx(t.dir);
    expect(await stopCommand(c.ctx, [], true)).toBe(0);
    expect(c.out()).toBe(`stopped a (pid ${a.pid})\nstopped b (pid ${b.pid})\n`);
    await waitUntil(() => !alive(a) && !alive(b), 3000, "both to exit");
  });

  test("--all with nothing running says so", async () => {
    const c = testCtx(t.dir);
    expect(await stopCommand(c.ctx, [], true)).toBe(0);
    expect(c.out()).toBe("no background forwards were running\n");
  });
});
