/**
 * What the wizard needs from the outside world, gathered from ctx: the Hosts
 * and keys already there, free ports, and `fwd check` on a draft config.
 */
import { existsSync, readdirSync } from "node:fs";
import { hostname } from "node:os";
import { tryBind } from "../check/local.ts";
import type { Ctx } from "../context.ts";
import { isFwdError } from "../errors.ts";
import { localUser } from "../paths.ts";
import { managedNames, upsertBlocks } from "../sshconfig/edit.ts";
import { listHosts, resolveHost } from "../sshconfig/resolve.ts";
import { type InitValues, renderBlocks } from "../sshconfig/snippet.ts";
import { realTarget } from "../sshconfig/write.ts";
import { clackPrompter } from "../ui/prompts.ts";
import { runWizard, type WizardDeps } from "../ui/wizard.ts";
import { readOrEmpty } from "./init.ts";
import { checkBastion, checkRoute } from "./init-check.ts";
import { type InitFlags, validateFlags } from "./init-flags.ts";

/** Files in ~/.ssh that look like private keys (a .pub next to them, or named id_*). */
function privateKeys(sshDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(sshDir);
  } catch {
    return [];
  }
  return files
    .filter((f) => !f.endsWith(".pub") && (files.includes(`${f}.pub`) || /^id_[a-z0-9_]+$/.test(f)))
    .filter((f) => /^[A-Za-z0-9._-]+$/.test(f))
    .map((f) => `~/.ssh/${f}`);
}

async function existingHosts(ctx: Ctx, configPath: string) {
  const base = {
    configFile: existsSync(configPath) ? configPath : "none",
    env: ctx.env,
    paths: ctx.paths,
    localUser: localUser(ctx.env),
    localHostname: hostname(),
  };
  try {
    const names = [...new Set((await listHosts(base)).map((h) => h.name))];
    const managed = new Set(managedNames(readOrEmpty(realTarget(configPath))));
    const known: WizardDeps["knownHosts"] = [];
    for (const name of names.filter((n) => !managed.has(n)).slice(0, 20)) {
      const o = (await resolveHost({ ...base, host: name })).options;
      const port = o.get("port")?.[0] ?? "22";
      const host = o.get("hostname")?.[0] ?? name;
      known.push({
        name,
        target: `${o.get("user")?.[0]}@${host.includes(":") ? `[${host}]` : host}${port === "22" ? "" : `:${port}`}`,
      });
    }
    return { known, taken: names.filter((n) => !managed.has(n)) };
  } catch {
    return { known: [], taken: [] };
  }
}

export async function askMissing(
  ctx: Ctx,
  flags: InitFlags,
  where: { configPath: string; cwd: string; force: boolean },
): Promise<InitFlags> {
  const { known, taken } = await existingHosts(ctx, where.configPath);
  const env = {
    home: ctx.paths.home,
    sshDir: ctx.paths.sshDir,
    cwd: where.cwd,
    user: localUser(ctx.env),
  };
  const prompter = clackPrompter(ctx);
  const check = async (
    draft: InitFlags,
    run: (c: Ctx, v: InitValues, config: Buffer) => Promise<boolean>,
  ): Promise<boolean> => {
    try {
      const { values } = validateFlags({ ...draft, name: draft.name ?? "forward1" }, env);
      const before = readOrEmpty(realTarget(where.configPath));
      return await run(
        ctx,
        values,
        upsertBlocks(before, renderBlocks(values), { force: true }).data,
      );
    } catch (e) {
      if (!isFwdError(e) || e.code === "cancelled") throw e;
      prompter.info(e.message);
      return false;
    }
  };
  return runWizard(flags, {
    prompter,
    user: env.user,
    home: env.home,
    cwd: env.cwd,
    knownHosts: known,
    keys: privateKeys(ctx.paths.sshDir),
    takenNames: taken,
    portFree: async (port) => (await tryBind("127.0.0.1", port)).ok,
    checkRoute: (draft) => check(draft, checkRoute),
    // Targets are not known yet: a placeholder forward lets the Host resolve; it is not checked.
    checkBastion: (draft) =>
      check({ ...draft, target: ["localhost:22"], local: ["1"], forward: [] }, checkBastion),
  });
}
