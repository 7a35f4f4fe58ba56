/**
 * `fwd service install|uninstall|status NAME`: start a forward at login with
 * the platform's own manager (a systemd user unit on Linux, a launchd agent on
 * macOS) running `fwd run NAME` in the foreground. The file is rendered by
 * src/service (pure); here it is written atomically (0644) and the manager is
 * told. Progress goes to stderr (as the logger's does); `status` prints data on stdout. When the manager's command is not installed (a container, WSL without
 * systemd) the commands are printed for the user instead.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";
import { type ServiceTarget, type Step, serviceTarget } from "../service/target.ts";
import { writeFileAtomic } from "../service/write.ts";
import { validateName } from "../sshconfig/validate.ts";
import { hostNames } from "./complete.ts";

export interface ServiceOptions {
  /** install: also start it now (default), not only at next login. */
  start: boolean;
}

const ACTIONS = ["install", "uninstall", "status"] as const;

function onPath(cmd: string, path: string | undefined): boolean {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runStep(ctx: Ctx, step: Step): StepResult {
  const r = spawnSync(step.argv[0]!, step.argv.slice(1), { env: ctx.env, encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

const shown = (argv: string[]) => argv.join(" ");

/** Runs steps in order; when the manager is missing, prints them instead. */
function runSteps(ctx: Ctx, steps: Step[], say: (s: string) => void): void {
  if (steps.length === 0) return;
  const tool = steps[0]!.argv[0]!;
  if (!onPath(tool, ctx.env.PATH)) {
    say(`${tool} not found here; run these where it is:`);
    for (const s of steps) say(`  ${shown(s.argv)}`);
    return;
  }
  steps.forEach((s, i) => {
    const r = runStep(ctx, s);
    if (r.code === 0 || s.mayFail) {
      if (r.code === 0) say(`✔ ${shown(s.argv)}`);
      return;
    }
    const why = r.stderr.trim().split("\n")[0] || `exit status ${r.code}`;
    const rest = steps.slice(i).map((x) => shown(x.argv));
    // systemctl --user without a user manager: a container, su/sudo, a login without one.
    const noBus = /connect to bus|XDG_RUNTIME_DIR/i.test(r.stderr)
      ? "this session has no systemd user manager (log in as the user, not via su/sudo); "
      : "";
    throw new FwdError(
      "runtime",
      `${shown(s.argv)} failed: ${why}`,
      `${noBus}the file is written; once fixed, run: ${rest.join(" && ")}`,
    );
  });
}

/** The argv the manager runs: this same fwd, absolute, with the -F file if one was given. */
function runArgv(ctx: Ctx, name: string): string[] {
  // selfCommand is already absolute: execPath, plus the script path under bun or `deno run -A`.
  const self = ctx.selfCommand;
  const config = ctx.configFile === undefined ? [] : ["-F", resolve(ctx.configFile)];
  return [...self, ...config, "run", name];
}

async function install(ctx: Ctx, t: ServiceTarget, name: string, o: ServiceOptions) {
  const say = (s: string) => ctx.quiet || ctx.stderr.write(`${s}\n`);
  if (!(await hostNames(ctx, true)).includes(name)) {
    const where = ctx.configFile ?? ctx.paths.userConfig;
    throw new FwdError(
      "usage",
      `no Host "${name}" with forwards in ${where}`,
      `list them with: fwd ls   (or write one: fwd init --name ${name})`,
    );
  }
  for (const d of t.dirs) mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileAtomic(t.file, t.content, 0o644);
  say(`✔ wrote ${t.file}`);
  runSteps(ctx, t.install(o.start), say);
  if (o.start) say(`${name} starts at login; see it with: fwd service status ${name}`);
  else say(`${name} starts at next login`);
  return 0;
}

function uninstall(ctx: Ctx, t: ServiceTarget, name: string) {
  const say = (s: string) => ctx.quiet || ctx.stderr.write(`${s}\n`);
  if (!existsSync(t.file)) {
    say(`no service for ${name} (${t.file} does not exist)`);
    return 0;
  }
  runSteps(ctx, t.uninstall, say);
  unlinkSync(t.file);
  say(`✔ removed ${t.file}`);
  runSteps(ctx, t.forget, say);
  return 0;
}

function status(ctx: Ctx, t: ServiceTarget, name: string) {
  const installed = existsSync(t.file);
  const tool = t.status[0]!.argv[0]!;
  const asked = installed && onPath(tool, ctx.env.PATH);
  const answers = asked ? t.status.map((s) => runStep(ctx, s)) : [];
  const first = (r: StepResult | undefined) => r?.stdout.trim().split("\n")[0] || null;
  const report =
    t.manager === "systemd"
      ? { enabled: first(answers[0]), active: first(answers[1]) }
      : (() => {
          const r = answers[0];
          const state = r?.stdout.match(/^\s*state = (.+)$/m)?.[1] ?? null;
          return { loaded: r ? r.code === 0 : null, active: state };
        })();
  const data = { name, manager: t.manager, id: t.id, file: t.file, installed, ...report };
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify(data)}\n`);
  } else if (!installed) {
    ctx.stdout.write(`${name}: no service (${t.file} does not exist)\n`);
  } else {
    const facts = Object.entries(report)
      .map(([k, v]) => `${k}: ${v ?? (asked ? "unknown" : `? (${tool} not found)`)}`)
      .join(", ");
    ctx.stdout.write(`${name}: ${t.manager} ${t.id}, ${facts}\n  file: ${t.file}\n`);
  }
  return installed ? 0 : 1;
}

export async function serviceCommand(
  ctx: Ctx,
  action: string,
  name: string,
  o: ServiceOptions,
): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new FwdError(
      "usage",
      `unknown service action "${action}"`,
      `use: fwd service ${ACTIONS.join("|")} NAME`,
    );
  }
  validateName("NAME", name);
  const t = serviceTarget({
    platform: ctx.env.FWD_SERVICE_PLATFORM || process.platform,
    env: ctx.env,
    paths: ctx.paths,
    uid: process.getuid?.() ?? 0,
    name,
    argv: runArgv(ctx, name),
  });
  if (action === "install") return install(ctx, t, name, o);
  if (action === "uninstall") return uninstall(ctx, t, name);
  return status(ctx, t, name);
}
