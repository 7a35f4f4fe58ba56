import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  acquireLock,
  alreadyRunning,
  clearStale,
  type LockHolder,
  readLock,
  sinceText,
} from "../../src/daemon/lock.ts";
import { selfId, startTimeOf } from "../../src/daemon/proc.ts";
import { daemonFiles, writeState } from "../../src/daemon/state.ts";
import { killQuietly, spawnSleeper, tempDir, waitUntil } from "../helpers/daemon-ctx.ts";

const holderOf = (pid: number, startTime: string | undefined): LockHolder => ({
  name: "forward1",
  pid,
  startTime,
  startedAt: "2026-11-27T06:00:00.000Z",
});

describe("NAME.lock", () => {
  let t: ReturnType<typeof tempDir>;
  let sleeper: ChildProcess | undefined;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => {
    killQuietly(sleeper);
    t.remove();
  });

  test("the first owner gets it (0600, no mutex left); release removes it", () => {
    const files = daemonFiles(t.dir, "forward1");
    const me = selfId();
    const r = acquireLock(files, holderOf(me.pid, me.startTime));
    expect(r.ok).toBe(true);
    expect(readLock(files.lock)).toEqual(holderOf(me.pid, me.startTime));
    expect(statSync(files.lock).mode & 0o777).toBe(0o600);
    expect(readdirSync(t.dir)).toEqual(["forward1.lock"]);
    if (r.ok) r.release();
    expect(existsSync(files.lock)).toBe(false);
  });

  test("a live owner keeps it: the second gets the holder", () => {
    const files = daemonFiles(t.dir, "forward1");
    sleeper = spawnSleeper();
    const live = holderOf(sleeper.pid!, startTimeOf(sleeper.pid!));
    expect(acquireLock(files, live).ok).toBe(true);
    const me = selfId();
    const second = acquireLock(files, holderOf(me.pid, me.startTime));
    expect(second).toEqual({ ok: false, holder: live });
  });

  test("a dead owner's lock is taken over, and its state file removed", async () => {
    const files = daemonFiles(t.dir, "forward1");
    sleeper = spawnSleeper();
    const dead = holderOf(sleeper.pid!, startTimeOf(sleeper.pid!));
    writeFileSync(files.lock, JSON.stringify(dead));
    writeState(files.state, {
      ...dead,
      startTime: dead.startTime ?? null,
      state: "up",
      since: dead.startedAt,
      reconnects: 0,
      lastError: null,
      via: "",
      forwards: [],
      ports: [],
      configFile: null,
      logFile: files.log,
    });
    process.kill(sleeper.pid!, "SIGKILL");
    await waitUntil(() => startTimeOf(dead.pid) === undefined, 3000, "sleep to die");
    const me = selfId();
    expect(acquireLock(files, holderOf(me.pid, me.startTime)).ok).toBe(true);
    expect(readLock(files.lock)?.pid).toBe(me.pid);
    expect(existsSync(files.state)).toBe(false);
  });

  test("a lock whose pid now belongs to another process (other start time) is stale", () => {
    const files = daemonFiles(t.dir, "forward1");
    sleeper = spawnSleeper();
    writeFileSync(files.lock, JSON.stringify(holderOf(sleeper.pid!, "linux:1")));
    const me = selfId();
    expect(acquireLock(files, holderOf(me.pid, me.startTime)).ok).toBe(true);
  });

  test("an unreadable lock is stale", () => {
    const files = daemonFiles(t.dir, "forward1");
    writeFileSync(files.lock, "garbage");
    const me = selfId();
    expect(acquireLock(files, holderOf(me.pid, me.startTime)).ok).toBe(true);
  });

  test("clearStale keeps a live owner's files and removes a dead one's", () => {
    const files = daemonFiles(t.dir, "forward1");
    sleeper = spawnSleeper();
    writeFileSync(files.lock, JSON.stringify(holderOf(sleeper.pid!, startTimeOf(sleeper.pid!))));
    expect(clearStale(files)).toBe(false);
    expect(existsSync(files.lock)).toBe(true);
    writeFileSync(files.lock, JSON.stringify(holderOf(sleeper.pid!, "linux:1")));
    expect(clearStale(files)).toBe(true);
    expect(existsSync(files.lock)).toBe(false);
  });

  test("a mutex left by a dead process long ago is broken", () => {
    const files = daemonFiles(t.dir, "forward1");
    writeFileSync(files.mutex, JSON.stringify({ pid: 2 ** 22 + 7, startTime: "linux:1" }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(files.mutex, old, old);
    const me = selfId();
    expect(acquireLock(files, holderOf(me.pid, me.startTime)).ok).toBe(true);
    expect(existsSync(files.mutex)).toBe(false);
  });

  test.each([
    ["with no lock", false],
    ["with a stale lock to take over", true],
  ])(
    "10 processes racing for one NAME %s: exactly one wins, nine see it",
    async (_l, stale) => {
      if (stale) {
        const files = daemonFiles(t.dir, "forward1");
        writeFileSync(files.lock, JSON.stringify(holderOf(2 ** 22 + 99, "linux:1")));
      }
      const script = join(import.meta.dir, "../helpers/daemon-contender.ts");
      const goAt = Date.now() + 1500;
      const procs = Array.from({ length: 10 }, () =>
        spawn(process.execPath, [script, t.dir, "forward1", String(goAt)], {
          stdio: ["ignore", "pipe", "inherit"],
        }),
      );
      const outs = procs.map((p) => {
        let s = "";
        p.stdout?.on("data", (b) => {
          s += b;
        });
        return () => s.trim();
      });
      try {
        await waitUntil(() => outs.every((o) => o() !== ""), 15_000, "all contenders to answer");
        const answers = outs.map((o) => o());
        const winners = answers.filter((a) => a === "won");
        expect(winners.length).toBe(1);
        const winner = procs[answers.indexOf("won")]!;
        expect(answers.filter((a) => a === `lost ${winner.pid}`).length).toBe(9);
        expect(readLock(daemonFiles(t.dir, "forward1").lock)?.pid).toBe(winner.pid);
      } finally {
        for (const p of procs) killQuietly(p);
      }
    },
    30_000,
  );
});

describe("messages", () => {
  test("already running names the pid and the time it started", () => {
    const e = alreadyRunning("forward1", holderOf(4321, "x"));
    expect(e.message).toMatch(/^forward1 is already running \(pid 4321 since .+\)$/);
    expect(e.exitCode).toBe(1);
    expect(e.hint).toContain("fwd stop forward1");
  });

  test.each([
    ["same day: clock time", new Date(2026, 10, 27, 6, 5, 9), "06:05:09"],
    ["earlier day: date and time", new Date(2026, 10, 26, 23, 0, 0), "2026-11-26 23:00:00"],
  ])("sinceText %s", (_l, t, want) => {
    expect(sinceText(t.toISOString(), new Date(2026, 10, 27, 12, 0, 0))).toBe(want);
  });
});
