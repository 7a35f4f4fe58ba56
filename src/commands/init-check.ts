import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../context.ts";
import type { InitValues } from "../sshconfig/snippet.ts";

/**
 * Integration point with `fwd check` (src/commands/check.ts, src/check/):
 * the new config goes to a private temp file and the first Host is checked
 * exactly as `fwd -F TEMP check NAME` would; true when every layer passes.
 */
export async function checkRoute(ctx: Ctx, values: InitValues, config: Buffer): Promise<boolean> {
  const { checkCommand } = await import("./check.ts");
  const dir = mkdtempSync(join(tmpdir(), "fwd-init-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, config, { mode: 0o600 });
    // The check's report goes where init's messages go; stdout stays for --print.
    return (
      (await checkCommand({ ...ctx, configFile: file, stdout: ctx.stderr }, values.name)) === 0
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
