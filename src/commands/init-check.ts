/**
 * Integration points with `fwd check` (src/commands/check.ts, src/check/):
 * the new config goes to a private temp file and is checked exactly as
 * `fwd -F TEMP check NAME` would check it, and reported under the path it
 * will be written to (`shownAs`). Reports go to stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ctx } from "../context.ts";
import type { InitValues } from "../sshconfig/snippet.ts";

async function withTempConfig<T>(config: Buffer, f: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "fwd-init-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, config, { mode: 0o600 });
    return await f(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every layer of the route (`fwd check`); true when all pass. */
export async function checkRoute(
  ctx: Ctx,
  values: InitValues,
  config: Buffer,
  shownAs: string,
): Promise<boolean> {
  const { checkCommand } = await import("./check.ts");
  return withTempConfig(config, async (file) => {
    // The check's report goes where init's messages go; stdout stays for --print.
    const c = { ...ctx, configFile: file, configShownAs: shownAs, stdout: ctx.stderr, json: false };
    return (await checkCommand(c, values.name)) === 0;
  });
}

/**
 * The bastion alone: DNS, TCP, SSH, host key (asking on first contact) and
 * login, before any target is known. The forwards of `values` are ignored.
 */
export async function checkBastion(
  ctx: Ctx,
  values: InitValues,
  config: Buffer,
  shownAs: string,
): Promise<boolean> {
  const { checkConfig } = await import("../check/config.ts");
  const { checkRoute: layers } = await import("../check/route.ts");
  const { exitCodeOf } = await import("../check/finding.ts");
  const { renderFinding } = await import("../check/render.ts");
  const { hostKeyAsker, passphraseAsker } = await import("../ui/ask.ts");
  return withTempConfig(config, async (file) => {
    const c = { ...ctx, configFile: file, configShownAs: shownAs };
    const cfg = await checkConfig(c, values.name);
    if (!cfg.plan) {
      ctx.stderr.write(renderFinding(cfg.finding));
      return false;
    }
    const ask = hostKeyAsker(c);
    const askPassphrase = passphraseAsker(c);
    const findings = await layers(
      { ...cfg.plan, forwards: [] },
      {
        name: values.name,
        home: ctx.paths.home,
        ...(ask ? { ask } : {}),
        ...(askPassphrase ? { askPassphrase } : {}),
      },
      (f) => ctx.stderr.write(renderFinding(f)),
    );
    return exitCodeOf(findings) === 0;
  });
}
