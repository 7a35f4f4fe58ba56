/**
 * `fwd init`: validate the values, render the Host block(s), show and confirm
 * (TTY) or require --yes (no TTY), write atomically with a backup, and print
 * the next commands. `--print` prints the snippet and writes nothing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";
import { localUser } from "../paths.ts";
import { upsertBlocks } from "../sshconfig/edit.ts";
import { type InitValues, renderBlocks, renderSnippet } from "../sshconfig/snippet.ts";
import { verifyNewConfig } from "../sshconfig/verify.ts";
import { realTarget, type UpdateResult, updateFile, type WriteHooks } from "../sshconfig/write.ts";
import { createLogger } from "../ui/logger.ts";
import { checkRoute } from "./init-check.ts";
import {
  exactStrings,
  missingError,
  missingFlags,
  readFlags,
  validateFlags,
} from "./init-flags.ts";

/** `rawArgs`: the argv cac parsed, to recover values exactly as typed (see exactStrings). */
export async function initCommand(
  ctx: Ctx,
  o: Record<string, unknown>,
  rawArgs?: readonly string[],
): Promise<number> {
  const log = createLogger(ctx);
  let flags = readFlags(exactStrings(o, rawArgs));
  const cwd = process.cwd();
  const configPath = resolve(cwd, ctx.configFile ?? ctx.paths.userConfig);
  const force = Boolean(o.force);
  const missing = missingFlags(flags, ctx.paths.sshDir);
  if (missing.length > 0) {
    // Never wait for input without a terminal (DESIGN.md §3): name the flags instead.
    if (!ctx.interactive) throw missingError(missing);
    const { askMissing } = await import("./init-wizard.ts");
    flags = await askMissing(ctx, flags, { configPath, cwd, force });
  }
  const { values, warnings } = validateFlags(flags, {
    home: ctx.paths.home,
    sshDir: ctx.paths.sshDir,
    cwd,
    user: localUser(ctx.env),
  });
  for (const w of warnings) log.warn(w);

  if (o.print) {
    ctx.stdout.write(renderSnippet(values));
    return 0;
  }

  const target = realTarget(configPath);
  const before = readOrEmpty(target);
  const after = upsertBlocks(before, renderBlocks(values), { force }).data;
  if (after.equals(before)) {
    log.success(`${configPath} already has these blocks (unchanged)`);
    printNext(ctx, values, configPath);
    return 0;
  }
  // Without a terminal there is nobody to ask: every value came from flags and
  // was validated, so write (DESIGN §3; scripts need no --yes). Show what is written.
  if (!o.yes && !ctx.interactive && !ctx.quiet) {
    ctx.stderr.write(`Writing to ${configPath}:\n${renderSnippet(values)}`);
  }
  if (o.check && !(await checkRoute(ctx, values, after, configPath))) {
    throw new FwdError(
      "runtime",
      `route check for ${values.name} failed; nothing written`,
      "fix the values, or run without --check to write anyway",
    );
  }
  if (!o.yes && ctx.interactive) {
    const ok = await confirmDiff(ctx, configPath, before, after);
    if (!ok) {
      log.info("nothing written");
      return 1;
    }
  }

  const result = await updateFile({
    path: configPath,
    transform: (current) => {
      // Another writer got in first. With --yes nothing was shown, so the
      // blocks go into the file as it is now; after a confirmed diff, ask again.
      const now = current ?? Buffer.alloc(0);
      if (!o.yes && !now.equals(before)) {
        throw new FwdError(
          "io",
          `${configPath} changed while fwd was asking`,
          "run fwd init again",
        );
      }
      return upsertBlocks(now, renderBlocks(values), { force }).data;
    },
    verify: (temp) =>
      verifyNewConfig({
        temp,
        original: target,
        values,
        env: ctx.env,
        paths: ctx.paths,
        localUser: localUser(ctx.env),
        localHostname: hostname(),
        warn: (m) => log.warn(m),
      }),
    hooks: testHooks(ctx),
  });
  report(ctx, values, configPath, result);
  return 0;
}

export function readOrEmpty(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw new FwdError("io", `cannot read ${path}: ${(e as Error).message}`);
  }
}

async function confirmDiff(
  ctx: Ctx,
  path: string,
  before: Buffer,
  after: Buffer,
): Promise<boolean> {
  const { renderDiff } = await import("../ui/diff.ts");
  const { confirm, isCancel } = await import("@clack/prompts");
  const color = Boolean(ctx.stderr.isTTY) && !ctx.env.NO_COLOR;
  const paint = (l: string) =>
    !color
      ? l
      : l.startsWith("+")
        ? `\x1b[32m${l}\x1b[0m`
        : l.startsWith("-")
          ? `\x1b[31m${l}\x1b[0m`
          : `\x1b[2m${l}\x1b[0m`;
  const diff = renderDiff(before.toString("utf8"), after.toString("utf8")).trimEnd().split("\n");
  ctx.stderr.write(`│\n◇  Changes to ${path}\n${diff.map((l) => `│  ${paint(l)}`).join("\n")}\n`);
  const v = await confirm({
    message: `Write ${path}?`,
    initialValue: true,
    input: ctx.stdin,
    output: ctx.stderr,
  });
  if (isCancel(v)) throw new FwdError("cancelled", "cancelled; nothing written");
  return v === true;
}

/** FWD_TEST_PAUSE_BEFORE_RENAME=FILE: write the temp path to FILE and wait to be killed (crash tests). */
function testHooks(ctx: Ctx): WriteHooks {
  const pause = ctx.env.FWD_TEST_PAUSE_BEFORE_RENAME;
  if (!pause) return {};
  return {
    beforeRename: (temp) => {
      writeFileSync(pause, temp);
      return new Promise(() => setInterval(() => {}, 1000));
    },
  };
}

function report(ctx: Ctx, v: InitValues, configPath: string, r: UpdateResult): void {
  const log = createLogger(ctx);
  const hosts = [v.name, ...(v.second ? [v.second.name] : [])].map((h) => `Host ${h}`).join(", ");
  const where = r.path === configPath ? configPath : `${configPath} (-> ${r.path})`;
  if (r.status === "unchanged") log.success(`${where} already has these blocks (unchanged)`);
  else log.success(`wrote ${hosts} to ${where}${r.backup ? ` (backup: ${r.backup})` : ""}`);
  printNext(ctx, v, configPath);
}

function printNext(ctx: Ctx, v: InitValues, configPath: string): void {
  if (ctx.quiet) return;
  const f = ctx.configFile ? ` -F ${configPath}` : "";
  const lines = [`  fwd${f} run ${v.name}          # foreground; Ctrl-C stops`];
  if (v.second)
    lines.push(
      `  ssh${f} ${v.second.name}              # in another terminal, while ${v.name} runs`,
    );
  lines.push(`  fwd${f} run ${v.name} -d       # or in the background`);
  ctx.stderr.write(`Next:\n${lines.join("\n")}\n`);
}
