import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import {
  duration,
  renderStatusTable,
  type StatusEntry,
  statusCommand,
} from "../../src/commands/status.ts";
import { startTimeOf } from "../../src/daemon/proc.ts";
import { type DaemonState, daemonFiles, writeState } from "../../src/daemon/state.ts";
import { killQuietly, spawnSleeper, tempDir, testCtx } from "../helpers/daemon-ctx.ts";

function plant(
  dir: string,
  name: string,
  pid: number,
  startTime: string | null,
  over: Partial<DaemonState> = {},
) {
  const files = daemonFiles(dir, name);
  const startedAt = "2026-11-27T06:00:00.000Z";
  writeFileSync(files.lock, JSON.stringify({ name, pid, startTime, startedAt }));
  writeState(files.state, {
    name,
    pid,
    startTime,
    startedAt,
    state: "up",
    since: "2026-11-27T06:00:01.000Z",
    reconnects: 1,
    lastError: null,
    via: "me@bastion:22",
    forwards: [
      {
        description: "127.0.0.1:10022 -> target-host:22",
        kind: "local",
        port: 10022,
        connections: 0,
        bytesIn: 5,
        bytesOut: 7,
      },
    ],
    ports: [10022],
    configFile: null,
    logFile: files.log,
    ...over,
  });
  return files;
}

describe("fwd status", () => {
  let t: ReturnType<typeof tempDir>;
  let sleeper: ChildProcess | undefined;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => {
    killQuietly(sleeper);
    t.remove();
  });

  test("--json of a running forward: name, state, pid, ports (+ detail)", async () => {
    sleeper = spawnSleeper();
    plant(t.dir, "forward1", sleeper.pid!, startTimeOf(sleeper.pid!) ?? null);
    const c = testCtx(t.dir, { json: true });
    expect(await statusCommand(c.ctx)).toBe(0);
    const j = JSON.parse(c.out());
    expect(Object.keys(j)).toEqual(["forwards"]);
    expect(j.forwards).toHaveLength(1);
    expect(j.forwards[0]).toMatchObject({
      name: "forward1",
      state: "up",
      pid: sleeper.pid,
      ports: [10022],
      reconnects: 1,
      via: "me@bastion:22",
      startedAt: "2026-11-27T06:00:00.000Z",
    });
  });

  test("--json NAME with nothing ever run: one stopped entry, pid null, ports []", async () => {
    const c = testCtx(t.dir, { json: true });
    expect(await statusCommand(c.ctx, "forward1")).toBe(0);
    expect(JSON.parse(c.out()).forwards).toEqual([
      expect.objectContaining({ name: "forward1", state: "stopped", pid: null, ports: [] }),
    ]);
  });

  test("--json with nothing running: an empty list", async () => {
    const c = testCtx(t.dir, { json: true });
    await statusCommand(c.ctx);
    expect(c.out()).toBe('{"forwards":[]}\n');
  });

  test("a stale state (pid reused by another process) shows as stopped once, then is gone", async () => {
    sleeper = spawnSleeper();
    const files = plant(t.dir, "forward1", sleeper.pid!, "linux:1");
    const c = testCtx(t.dir, { json: true });
    await statusCommand(c.ctx);
    expect(JSON.parse(c.out()).forwards).toEqual([
      expect.objectContaining({ name: "forward1", state: "stopped", pid: null, ports: [] }),
    ]);
    expect(existsSync(files.state) || existsSync(files.lock)).toBe(false);
    const again = testCtx(t.dir, { json: true });
    await statusCommand(again.ctx);
    expect(again.out()).toBe('{"forwards":[]}\n');
  });

  test("a run that ended on a permanent error shows stopped with that error", async () => {
    sleeper = spawnSleeper();
    const files = daemonFiles(t.dir, "forward1");
    plant(t.dir, "forward1", sleeper.pid!, "linux:1", {
      state: "stopped",
      lastError: "authentication failed",
    });
    const c = testCtx(t.dir, { json: true });
    await statusCommand(c.ctx, "forward1");
    expect(JSON.parse(c.out()).forwards[0]).toMatchObject({
      state: "stopped",
      pid: null,
      lastError: "authentication failed",
    });
    expect(existsSync(files.state)).toBe(false);
  });

  test("a live lock without a state file yet is connecting", async () => {
    sleeper = spawnSleeper();
    const files = daemonFiles(t.dir, "forward1");
    writeFileSync(
      files.lock,
      JSON.stringify({
        name: "forward1",
        pid: sleeper.pid,
        startTime: startTimeOf(sleeper.pid!),
        startedAt: "2026-11-27T06:00:00.000Z",
      }),
    );
    const c = testCtx(t.dir, { json: true });
    await statusCommand(c.ctx);
    expect(JSON.parse(c.out()).forwards[0]).toMatchObject({
      name: "forward1",
      state: "connecting",
      pid: sleeper.pid,
      ports: [],
    });
  });

  test("human: NAME that is not running says it is stopped", async () => {
    const c = testCtx(t.dir);
    expect(await statusCommand(c.ctx, "forward1")).toBe(0);
    expect(c.out()).toBe("forward1 is stopped\n");
  });

  test("human: nothing running", async () => {
    const c = testCtx(t.dir);
    await statusCommand(c.ctx);
    expect(c.out()).toContain("no background forwards");
  });
});

describe("status rendering", () => {
  test.each([
    [0, "0s"],
    [59_999, "59s"],
    [60_000, "1m00s"],
    [3_599_000, "59m59s"],
    [3_600_000, "1h00m"],
    [86_400_000 + 3_600_000 * 4, "1d04h"],
    [-5, "0s"],
  ])("duration(%i) = %s", (ms, want) => {
    expect(duration(ms)).toBe(want);
  });

  test("table: name, state, forwards, uptime, reconnects, last error", () => {
    const up: StatusEntry = {
      name: "forward1",
      state: "up",
      pid: 1234,
      ports: [10022],
      since: "2026-11-27T06:00:01.000Z",
      startedAt: "2026-11-27T06:00:00.000Z",
      reconnects: 2,
      lastError: "connection lost",
      via: "me@bastion:22",
      forwards: [
        {
          description: "127.0.0.1:10022 -> target-host:22",
          kind: "local",
          port: 10022,
          connections: 0,
          bytesIn: 0,
          bytesOut: 0,
        },
      ],
      logFile: null,
    };
    const stopped: StatusEntry = {
      ...up,
      name: "db",
      state: "stopped",
      pid: null,
      ports: [],
      forwards: [],
      reconnects: 0,
      lastError: null,
    };
    const text = renderStatusTable([up, stopped], new Date("2026-11-27T06:03:12.000Z"));
    expect(text.split("\n")).toEqual([
      "NAME      STATE          FORWARDS                           UPTIME  RECONNECTS  LAST ERROR",
      "forward1  up (pid 1234)  127.0.0.1:10022 -> target-host:22  3m12s   2           connection lost",
      "db        stopped        -                                  -       0           -",
      "",
    ]);
  });
});
