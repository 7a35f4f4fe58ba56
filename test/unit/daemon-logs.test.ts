import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { logsCommand } from "../../src/commands/logs.ts";
import { daemonFiles } from "../../src/daemon/state.ts";
import { tempDir, testCtx, waitUntil } from "../helpers/daemon-ctx.ts";

describe("fwd logs", () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.remove());

  test("no log: a clear error, exit 1", async () => {
    const c = testCtx(t.dir);
    await expect(logsCommand(c.ctx, "forward1", false)).rejects.toMatchObject({
      exitCode: 1,
      message: "no log for forward1",
    });
  });

  test("prints the rotated part first, then the current log", async () => {
    const { log } = daemonFiles(t.dir, "forward1");
    writeFileSync(`${log}.1`, "old\n");
    writeFileSync(log, "new\n");
    const c = testCtx(t.dir);
    expect(await logsCommand(c.ctx, "forward1", false)).toBe(0);
    expect(c.out()).toBe("old\nnew\n");
  });

  test("-f follows new lines and across a rotation, until SIGINT", async () => {
    const { log } = daemonFiles(t.dir, "forward1");
    writeFileSync(log, "one\n");
    const c = testCtx(t.dir);
    const running = logsCommand(c.ctx, "forward1", true);
    await waitUntil(() => c.out() === "one\n", 2000, "first line");
    appendFileSync(log, "two\n");
    await waitUntil(() => c.out() === "one\ntwo\n", 2000, "appended line");
    appendFileSync(log, "three\n");
    renameSync(log, `${log}.1`);
    writeFileSync(log, "four\n");
    await waitUntil(() => c.out() === "one\ntwo\nthree\nfour\n", 2000, "lines across rotation");
    process.emit("SIGINT", "SIGINT");
    expect(await running).toBe(0);
  });
});
