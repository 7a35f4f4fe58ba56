import type { ConsolaInstance } from "consola";
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";
import type { EngineDeps, TunnelHandle } from "../tunnel/engine.ts";
import type { TunnelPlan } from "../tunnel/plan.ts";
import { hopLabel } from "../tunnel/plan.ts";

export interface RunOptions {
  background: boolean;
  acceptNew: boolean;
  options: string[];
  local: string[];
  remote: string[];
  dynamic: string[];
  daemonChild: boolean;
}

/** -o options, with --accept-new as the ssh -o it stands for (ssh: first value wins, so it goes first). */
export function effectiveOptions(opts: RunOptions): string[] {
  return [...(opts.acceptNew ? ["StrictHostKeyChecking=accept-new"] : []), ...opts.options];
}

type Say = Record<"debug" | "info" | "success" | "warn", (line: string) => void>;

/** What a quiet run prints: warnings (errors are thrown), consola loaded for the first. */
function warningsOnly(load: () => Promise<ConsolaInstance>): Say {
  const none = () => {};
  return {
    debug: none,
    info: none,
    success: none,
    warn: (l) => void load().then((c) => c.warn(l)),
  };
}

/** Loads the plan and opens the tunnel: the one path shared by foreground, background and demo. */
export async function openNamed(
  ctx: Ctx,
  name: string,
  opts: RunOptions,
  log: (line: string) => void,
): Promise<{ plan: TunnelPlan; handle: TunnelHandle }> {
  const { loadPlan } = await import("../tunnel/load.ts");
  const plan = await loadPlan(ctx, name, { ...opts, options: effectiveOptions(opts) });
  // TCP to the first hop is under way while the SSH code loads (src/tunnel/tcp.ts).
  (await import("../tunnel/tcp.ts")).preconnect(plan.hops[0]!);
  const { openTunnel } = await import("../tunnel/engine.ts");
  const { passphraseAsker, hostKeyAsker } = await import("../ui/ask.ts");
  const ask = hostKeyAsker(ctx);
  const askPassphrase = passphraseAsker(ctx);
  const deps: EngineDeps = {
    home: ctx.paths.home,
    log,
    ...(ask ? { ask } : {}),
    ...(askPassphrase ? { askPassphrase } : {}),
  };
  const handle = await openTunnel(plan, deps);
  // The binary starts with JIT tier-up held back (scripts/build.ts): the data path gets the normal policy.
  (globalThis as { Bun?: typeof Bun }).Bun?.unsafe.setJITPolicy?.(1);
  return { plan, handle };
}

export function forwardLines(plan: TunnelPlan, handle: TunnelHandle): string[] {
  const via = hopLabel(plan.hops[plan.hops.length - 1]!);
  return handle.status().forwards.map((f) => `${f.description} via ${via}`);
}

export async function runCommand(ctx: Ctx, name: string, opts: RunOptions): Promise<number> {
  if (opts.background && opts.daemonChild)
    throw new FwdError("usage", "-d and --daemon-child exclude each other");
  if (opts.background) return (await import("../daemon/spawn.ts")).startBackground(ctx, name, opts);
  if (opts.daemonChild) {
    const { runDaemonChild } = await import("../daemon/child.ts");
    // Until the handle exists (and the daemon subscribes to its log), setup steps go to stderr: the log file.
    let opened = false;
    const early = (l: string) => {
      if (!opened) ctx.stderr.write(`${new Date().toISOString()} ${l}\n`);
    };
    return runDaemonChild(ctx, name, opts, () =>
      openNamed(ctx, name, opts, early).then((r) => {
        opened = true;
        return r.handle;
      }),
    );
  }
  return runForeground(ctx, name, opts);
}

async function runForeground(ctx: Ctx, name: string, opts: RunOptions): Promise<number> {
  // consola takes ~5 ms and a few MiB to load (issue 12): it comes after the
  // connection is up, `-v` lines from the connect waiting for it in order, and
  // a quiet run (-q: warnings and errors only) loads it for its first warning.
  let early: string[] | undefined = [];
  let log: ConsolaInstance | undefined;
  const getLogger = async () => {
    log ??= (await import("../ui/logger.ts")).createLogger(ctx);
    for (const l of early ?? []) log.debug(l);
    early = undefined;
    return log;
  };
  // Debug lines only ever print with -v (never with -q): a quiet run keeps none.
  const opening = openNamed(ctx, name, opts, (l) => {
    if (log) log.debug(l);
    else if (!ctx.quiet) early?.push(l);
  });
  await opening.catch(async () => void (await getLogger()));
  const { plan, handle } = await opening;
  const logger: Say = ctx.quiet ? warningsOnly(getLogger) : await getLogger();
  handle.onLog((l) => {
    if (/lost|reconnect|up again|clock|refused|failed|could not/.test(l)) logger.info(l);
  });
  for (const line of forwardLines(plan, handle)) logger.success(line);
  if (!ctx.quiet) ctx.stderr.write("Press Ctrl-C to stop.\n");

  const onHup = () => {
    logger.info("SIGHUP: re-reading the configuration");
    import("../tunnel/load.ts")
      .then(({ loadPlan }) => loadPlan(ctx, name, { ...opts, options: effectiveOptions(opts) }))
      .then((next) => handle.reload(next))
      .catch((e) =>
        logger.warn(`reload failed, keeping the running tunnel: ${(e as Error).message}`),
      );
  };
  process.on("SIGHUP", onHup);
  const stopOn = (sig: NodeJS.Signals) =>
    new Promise<NodeJS.Signals>((resolve) => process.once(sig, () => resolve(sig)));
  const ended = await Promise.race([
    stopOn("SIGINT"),
    stopOn("SIGTERM"),
    handle.done.then((e) => e ?? ("done" as const)),
  ]);
  process.removeListener("SIGHUP", onHup);
  if (ended instanceof FwdError) throw ended;
  await handle.stop();
  if (!ctx.quiet) ctx.stderr.write(`stopped ${name}\n`);
  return 0;
}
