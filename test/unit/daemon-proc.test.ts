import { afterEach, describe, expect, test } from "bun:test";
import type { ChildProcess } from "node:child_process";
import { isSameProcess, parseProcStat, selfId, startTimeOf } from "../../src/daemon/proc.ts";
import { killQuietly, spawnSleeper, waitUntil } from "../helpers/daemon-ctx.ts";

const stat = (comm: string, state: string, start: string) =>
  `4242 (${comm}) ${state} 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 200 18446744073709551615\n`;

describe("parseProcStat: field 22 of /proc/<pid>/stat", () => {
  test.each([
    ["plain name", stat("fwd", "S", "98765"), "98765"],
    ["name with spaces and parens", stat("a (b) c", "R", "123"), "123"],
    ["name with a closing paren last", stat("x)", "S", "77"), "77"],
    ["zombie: serves nothing", stat("fwd", "Z", "98765"), undefined],
    ["dead", stat("fwd", "X", "98765"), undefined],
    ["garbage", "nonsense", undefined],
    ["truncated", "4242 (fwd) S 1 2", undefined],
  ])("%s", (_label, text, want) => {
    expect(parseProcStat(text)).toBe(want);
  });
});

describe("process identity", () => {
  let sleeper: ChildProcess | undefined;
  afterEach(() => killQuietly(sleeper));

  test("this process has a stable start time", () => {
    const a = startTimeOf(process.pid);
    expect(a).toBeString();
    expect(startTimeOf(process.pid)).toBe(a);
    expect(isSameProcess(selfId())).toBe(true);
  });

  test("a pid that does not exist has no start time", () => {
    expect(startTimeOf(2 ** 22 + 12345)).toBeUndefined();
    expect(startTimeOf(0)).toBeUndefined();
    expect(startTimeOf(-1)).toBeUndefined();
  });

  test("a live pid with another start time is not the recorded process (pid reuse)", () => {
    sleeper = spawnSleeper();
    const pid = sleeper.pid!;
    const real = startTimeOf(pid);
    expect(real).toBeString();
    expect(isSameProcess({ pid, startTime: real })).toBe(true);
    expect(isSameProcess({ pid, startTime: `${real}0` })).toBe(false);
    expect(isSameProcess({ pid, startTime: undefined })).toBe(false);
  });

  test("after exit the process is no longer the same", async () => {
    sleeper = spawnSleeper();
    const id = { pid: sleeper.pid!, startTime: startTimeOf(sleeper.pid!) };
    process.kill(id.pid, "SIGTERM");
    await waitUntil(() => !isSameProcess(id), 3000, "sleep to exit");
  });
});
