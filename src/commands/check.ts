/** `fwd check NAME [--json]`: layer-by-layer diagnosis of the route (issue 10). */
import type { Finding } from "../check/finding.ts";
import type { Ctx } from "../context.ts";

export async function checkCommand(ctx: Ctx, name: string): Promise<number> {
  const { checkConfig } = await import("../check/config.ts");
  const { checkRoute } = await import("../check/route.ts");
  const { exitCodeOf } = await import("../check/finding.ts");
  const { renderFinding, renderJson } = await import("../check/render.ts");
  const { hostKeyAsker, passphraseAsker } = await import("../ui/ask.ts");
  const { daemonFiles } = await import("../daemon/state.ts");
  const { inspect } = await import("../daemon/inspect.ts");

  const findings: Finding[] = [];
  const show = (f: Finding) => {
    findings.push(f);
    if (!ctx.json) ctx.stdout.write(renderFinding(f));
  };
  const config = await checkConfig(ctx, name);
  show(config.finding);
  if (config.plan) {
    const running = inspect(daemonFiles(ctx.paths.stateDir, name), name);
    const ask = hostKeyAsker(ctx);
    const askPassphrase = passphraseAsker(ctx);
    await checkRoute(
      config.plan,
      {
        name,
        home: ctx.paths.home,
        ownPid: running.kind === "running" ? running.owner.pid : undefined,
        ...(ask ? { ask } : {}),
        ...(askPassphrase ? { askPassphrase } : {}),
      },
      show,
    );
  }
  if (ctx.json) ctx.stdout.write(renderJson(findings));
  return exitCodeOf(findings);
}
