/** On a terminal without --yes, fwd init shows the diff and asks; the answer is driven through ctx.stdin. */
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { initCommand } from "../../src/commands/init.ts";
import { FwdError } from "../../src/errors.ts";
import { baseFlags, fixture, type InitHome, initCtx, initHome } from "../helpers/init-home.ts";

let h: InitHome;
afterEach(() => h?.remove());

async function answer(keys: string[]): Promise<{ code: number; err: string; changed: boolean }> {
  h = initHome();
  copyFileSync(fixture("realistic.conf"), h.config);
  const before = readFileSync(h.config);
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  let err = "";
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  (stderr as unknown as PassThrough).on("data", (b: Buffer) => {
    err += b.toString();
  });
  const { ctx } = initCtx(h, { interactive: true, stdin, stderr });
  const timers = keys.map((k, i) =>
    setTimeout(() => (stdin as unknown as PassThrough).write(k), 50 * (i + 1)),
  );
  let code: number;
  try {
    code = await initCommand(ctx, { ...baseFlags(h), yes: undefined });
  } catch (e) {
    if (!(e instanceof FwdError)) throw e;
    code = e.exitCode;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  return { code, err, changed: !readFileSync(h.config).equals(before) };
}

test("shows the diff and writes when the answer is yes", async () => {
  const r = await answer(["\r"]);
  expect(r.err).toContain("+ # >>> fwd forward1 >>>");
  expect(r.err).toContain("+ Host forward1");
  expect(r.code).toBe(0);
  expect(r.changed).toBe(true);
});

test("writes nothing when the answer is no", async () => {
  const r = await answer(["n", "\r"]);
  expect(r.code).toBe(1);
  expect(r.changed).toBe(false);
});

test("Ctrl-C at the question exits 130 and writes nothing", async () => {
  const r = await answer(["\x03"]);
  expect(r.code).toBe(130);
  expect(r.changed).toBe(false);
});
