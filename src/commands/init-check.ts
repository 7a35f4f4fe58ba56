import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";
import type { InitValues } from "../sshconfig/snippet.ts";

/**
 * Integration point with `fwd check` (src/commands/check.ts, src/check/):
 * the new config goes to a private temp file and the first Host is checked
 * exactly as `fwd -F TEMP check NAME` would. Nothing is written on failure.
 */
export async function checkRoute(ctx: Ctx, values: InitValues, config: Buffer): Promise<void> {
  const { checkCommand } = await import("./check.ts");
  const dir = mkdtempSync(join(tmpdir(), "fwd-init-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, config, { mode: 0o600 });
    // The check's report goes where init's messages go; stdout stays for --print.
    const code = await checkCommand({ ...ctx, configFile: file, stdout: ctx.stderr }, values.name);
    if (code !== 0) {
      throw new FwdError(
        "runtime",
        `route check for ${values.name} failed; nothing written`,
        "fix the values, or run without --check to write anyway",
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
