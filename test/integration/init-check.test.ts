/** `fwd init --check` routes through `fwd check` on the new config before writing anything. */
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { initCommand } from "../../src/commands/init.ts";
import { FwdError } from "../../src/errors.ts";
import { baseFlags, type InitHome, initCtx, initHome } from "../helpers/init-home.ts";

let h: InitHome;
afterEach(() => h?.remove());

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("a route that fails the check writes nothing (exit 1) and shows the failing layer", async () => {
  h = initHome();
  const c = initCtx(h);
  const flags = { ...baseFlags(h), bastion: `u@127.0.0.1:${await closedPort()}`, check: true };
  const err = await initCommand(c.ctx, flags).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FwdError);
  expect((err as FwdError).exitCode).toBe(1);
  expect(c.err()).toContain("refused");
  // The config layer names the file being written (and its line), not the temp copy it checked.
  expect(c.err()).toMatch(/Host forward1 \(~\/\.ssh\/config:\d+\)/);
  expect(c.err()).not.toContain("fwd-init-");
  expect(existsSync(h.config)).toBe(false);
});
