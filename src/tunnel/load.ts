/**
 * From a Host name to a TunnelPlan: resolve it like `ssh -G` (plus -o, -L, -R,
 * -D from the command line), resolve each ProxyJump hop with its own config.
 */
import { hostname } from "node:os";
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";
import { localUser } from "../paths.ts";
import { type ForwardSpec, parseForward } from "../sshconfig/forward.ts";
import { type ResolvedHost, type ResolveOptions, resolveHost } from "../sshconfig/resolve.ts";
import { expandTilde, expandTokens } from "../sshconfig/tokens.ts";
import {
  type HopPlan,
  type Options,
  parseProxyJump,
  planHop,
  planTunnel,
  type TunnelPlan,
} from "./plan.ts";

export interface ForwardFlags {
  /** ssh -o options */
  options: string[];
  local: string[];
  remote: string[];
  dynamic: string[];
}

/** What the resolver needs besides the host: the config file and this user's HOME/USER/hostname. */
export function resolveContext(ctx: Ctx): Omit<ResolveOptions, "host"> {
  return {
    configFile: ctx.configFile,
    env: ctx.env,
    paths: ctx.paths,
    localUser: localUser(ctx.env),
    localHostname: hostname(),
  };
}

export async function resolveName(
  ctx: Ctx,
  host: string,
  extraOptions: string[],
): Promise<ResolvedHost> {
  return resolveHost({ ...resolveContext(ctx), host, extraOptions });
}

function hopFrom(ctx: Ctx, name: string, o: Options): HopPlan {
  const first = (k: string) => o.get(k)?.[0];
  const expandPath = (p: string) =>
    expandTilde(
      expandTokens(p, {
        home: ctx.paths.home,
        localUser: localUser(ctx.env),
        localHostname: hostname(),
        host: first("hostname") ?? name,
        originalHost: name,
        port: first("port") ?? "22",
        remoteUser: first("user") ?? "",
        env: ctx.env,
      }),
      ctx.paths.home,
    );
  return planHop(name, o, { expandPath, authSock: ctx.env.SSH_AUTH_SOCK });
}

export async function loadPlan(ctx: Ctx, name: string, flags: ForwardFlags): Promise<TunnelPlan> {
  const resolved = await resolveName(ctx, name, flags.options);
  const o = resolved.options;
  const jumps = parseProxyJump(o.get("proxyjump")?.[0] ?? "none");
  const hops: HopPlan[] = [];
  for (const j of jumps) {
    const extra = [...(j.user ? [`User=${j.user}`] : []), ...(j.port ? [`Port=${j.port}`] : [])];
    const jr = await resolveName(ctx, j.host, extra);
    if ((jr.options.get("proxyjump")?.[0] ?? "none") !== "none" && hops.length === 0) {
      // ssh would honour the first jump host's own ProxyJump; fwd keeps chains explicit.
      throw new FwdError(
        "config",
        `jump host ${j.host} has its own ProxyJump`,
        `list the whole chain in ${name}'s ProxyJump instead`,
      );
    }
    hops.push(hopFrom(ctx, j.host, jr.options));
  }
  hops.push(hopFrom(ctx, name, o));

  const forwards: ForwardSpec[] = [...resolved.forwards];
  for (const v of flags.local) forwards.push(parseForward("local", v, "cli"));
  for (const v of flags.remote) forwards.push(parseForward("remote", v, "cli"));
  for (const v of flags.dynamic) forwards.push(parseForward("dynamic", v, "cli"));
  if (forwards.length === 0) {
    const named = resolved.hostBlocks.some((b) => b.patterns.split(/\s+/).includes(name));
    throw new FwdError(
      "usage",
      named
        ? `${name} has no forwards`
        : `no Host ${name} in ${ctx.configFile ?? ctx.paths.userConfig}`,
      named
        ? `add LocalForward to Host ${name} in your ssh_config, or pass -L port:host:port`
        : "check the name (`fwd ls` lists Hosts with forwards), or create one with `fwd init`",
    );
  }
  return planTunnel(name, o, hops, forwards);
}
