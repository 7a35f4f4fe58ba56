/** Layer 1: the Host resolves (as ssh -G would) into a plan fwd can run. */
import { existsSync } from "node:fs";
import type { Ctx } from "../context.ts";
import { isFwdError, messageOf } from "../errors.ts";
import type { ForwardSpec, ListenAddress } from "../sshconfig/forward.ts";
import { loadPlan, resolveName } from "../tunnel/load.ts";
import type { HopPlan, TunnelPlan } from "../tunnel/plan.ts";
import { fmtAddress } from "./address.ts";
import { type Finding, fail, pass, timed } from "./finding.ts";

export interface ConfigResult {
  finding: Finding;
  plan: TunnelPlan | undefined;
}

const fmtListen = (l: ListenAddress) =>
  "socket" in l ? l.socket : fmtAddress({ host: l.bind ?? "localhost", port: l.port });

/** "LocalForward localhost:10022 → target-host:22", as the user reads it. */
function describeForward(f: ForwardSpec): string {
  if (f.kind === "dynamic") return `DynamicForward ${fmtListen(f.listen)} (SOCKS)`;
  const name = f.kind === "local" ? "LocalForward" : "RemoteForward";
  return `${name} ${fmtListen(f.listen)} → ${fmtAddress(f.connect)}`;
}

/** The configured keys; of ssh's default list only those that exist (it skips the others silently). */
function identities(hop: HopPlan): string[] {
  return hop.identityFilesExplicit
    ? hop.identityFiles
    : hop.identityFiles.filter((p) => existsSync(p));
}

export async function checkConfig(ctx: Ctx, name: string): Promise<ConfigResult> {
  let plan: TunnelPlan | undefined;
  const show = (file: string) => {
    const p = file === ctx.configFile && ctx.configShownAs ? ctx.configShownAs : file;
    return p.startsWith(`${ctx.paths.home}/`) ? `~${p.slice(ctx.paths.home.length)}` : p;
  };
  const finding = await timed(async () => {
    try {
      const resolved = await resolveName(ctx, name, []);
      // A block that names this Host (not only `Host *`): otherwise ssh would take NAME as a host name.
      const blocks = resolved.hostBlocks.filter((b) => b.patterns.trim() !== "*");
      const configFile = ctx.configFile ?? `${ctx.paths.home}/.ssh/config`;
      if (blocks.length === 0) {
        return fail(
          "config",
          `no Host ${name} in ${show(configFile)}`,
          `ssh would connect to a machine literally named "${name}"`,
          `create it with \`fwd init --name ${name}\`, or check the spelling (\`fwd status\` lists known forwards)`,
        );
      }
      plan = await loadPlan(ctx, name, { options: [], local: [], remote: [], dynamic: [] });
      const bastion = plan.hops[plan.hops.length - 1]!;
      const o = resolved.options;
      const lines = [
        `HostName ${bastion.host}, User ${bastion.user}, Port ${bastion.port}`,
        `IdentityFile ${identities(bastion).map(show).join(", ") || "(none found)"}`,
        `ProxyJump ${o.get("proxyjump")?.[0] ?? "none"}`,
        ...plan.forwards.map(describeForward),
      ];
      const where = blocks.map((b) => `${show(b.file)}:${b.line}`).join(", ");
      return pass("config", `Host ${name} (${where})`, lines.join("\n"));
    } catch (e) {
      if (!isFwdError(e)) throw e;
      return fail(
        "config",
        `Host ${name} cannot be used`,
        messageOf(e),
        e.hint ?? "fix the ssh_config",
      );
    }
  });
  return { finding, plan };
}
