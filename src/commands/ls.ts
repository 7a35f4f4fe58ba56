import type { Ctx } from "../context.ts";
import { inspect } from "../daemon/inspect.ts";
import { daemonFiles } from "../daemon/state.ts";
import { type ForwardSpec, parseForward } from "../sshconfig/forward.ts";
import type { LinkState } from "../tunnel/status.ts";

/** One Host in `fwd ls --json`: `{"hosts":[LsEntry, …]}`. */
export interface LsEntry {
  name: string;
  /** Where the Host line is. */
  file: string;
  line: number;
  /** ssh command-line syntax: "-L 10022:target-host:22", "-R …", "-D 1080". */
  forwards: string[];
  /** Its background run's state ("stopped" when none). */
  state: LinkState;
  pid: number | null;
}

const hostPort = (host: string, port: number) =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** A forward as it would be typed after ssh -L/-R/-D. */
export function cliForward(spec: ForwardSpec): string {
  const flag = spec.kind === "local" ? "-L" : spec.kind === "remote" ? "-R" : "-D";
  const l = spec.listen;
  const listen =
    "socket" in l ? l.socket : l.bind === undefined ? String(l.port) : hostPort(l.bind, l.port);
  if (spec.kind === "dynamic") return `${flag} ${listen}`;
  const c = spec.connect;
  return `${flag} ${listen}:${"socket" in c ? c.socket : hostPort(c.host, c.port)}`;
}

const KINDS = [
  ["localforward", "local"],
  ["remoteforward", "remote"],
  ["dynamicforward", "dynamic"],
] as const;

/** The forwards of a resolved Host, as `ssh -G` resolved them (ClearAllForwardings honoured). */
export function forwardsOf(options: ReadonlyMap<string, readonly string[]>): string[] {
  if (options.get("clearallforwardings")?.[0] === "yes") return [];
  const out: string[] = [];
  for (const [key, kind] of KINDS) {
    for (const v of options.get(key) ?? []) {
      try {
        out.push(cliForward(parseForward(kind, v, "config")));
      } catch {
        out.push(`${key} ${v}`);
      }
    }
  }
  return out;
}

export function renderLs(entries: readonly LsEntry[]): string {
  const rows = entries.map((e) => [
    e.name,
    e.forwards.join(", "),
    e.pid === null ? "-" : `${e.state} (pid ${e.pid})`,
  ]);
  const table = [["NAME", "FORWARDS", "BACKGROUND"], ...rows];
  const widths = [0, 1].map((c) => Math.max(...table.map((r) => [...r[c]!].length)));
  return `${table
    .map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell)).join("  "))
    .join("\n")}\n`;
}

/** `fwd ls`: Hosts of ssh_config that have forwards (what `fwd run` can start), marking running ones. */
export async function lsCommand(ctx: Ctx): Promise<number> {
  const { listHosts } = await import("../sshconfig/resolve.ts");
  const { resolveContext, resolveName } = await import("../tunnel/load.ts");
  const hosts = await listHosts(resolveContext(ctx));
  const seen = new Set<string>();
  const entries: LsEntry[] = [];
  for (const h of hosts) {
    if (seen.has(h.name)) continue;
    seen.add(h.name);
    const forwards = forwardsOf((await resolveName(ctx, h.name, [])).options);
    if (forwards.length === 0) continue;
    const found = inspect(daemonFiles(ctx.paths.stateDir, h.name), h.name);
    const running = found.kind === "running";
    entries.push({
      name: h.name,
      file: h.file,
      line: h.line,
      forwards,
      state: running ? (found.state?.state ?? "connecting") : "stopped",
      pid: running ? found.owner.pid : null,
    });
  }
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify({ hosts: entries })}\n`);
    return 0;
  }
  if (entries.length === 0) {
    const where = ctx.configFile ?? ctx.paths.userConfig;
    ctx.stdout.write(`no Host with forwards in ${where} (add one with: fwd init)\n`);
    return 0;
  }
  ctx.stdout.write(renderLs(entries));
  return 0;
}
