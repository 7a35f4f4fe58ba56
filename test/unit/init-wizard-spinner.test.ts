/** Without a terminal the wizard's spinner does nothing: the work gets the same ctx, output untouched. */
import { expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import type { Ctx } from "../../src/context.ts";
import { spinning } from "../../src/ui/prompts.ts";

test("no TTY: no spinner, the work runs with the caller's ctx and its writes pass through as they are", async () => {
  const out = new PassThrough();
  let written = "";
  out.on("data", (b: Buffer) => {
    written += b.toString();
  });
  const ctx = {
    env: {},
    stdin: new PassThrough(),
    stderr: out,
    interactive: false,
  } as unknown as Ctx;
  const r = await spinning(ctx, "Connecting to bastion", async (c) => {
    expect(c).toBe(ctx);
    c.stderr.write("✔ dns         127.0.0.1 is an IP address\n");
    return 42;
  });
  expect(r).toBe(42);
  expect(written).toBe("✔ dns         127.0.0.1 is an IP address\n");
});
