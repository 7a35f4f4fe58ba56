/**
 * Layers 2-9 in route order: for each hop DNS (first hop only; later hops
 * are resolved by the previous one), TCP, SSH, host key, auth; then every
 * forward through the last hop, what answers behind it, and the local side.
 * Stops at the first failure; every connection is closed before returning.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import { type HopPlan, hopLabel, type TunnelPlan } from "../tunnel/plan.ts";
import { fmtHost } from "./address.ts";
import { type Opened, openChannel, openFailureHint } from "./channel.ts";
import { checkDns, type Lookup } from "./dns.ts";
import { type Finding, fail, pass, timed } from "./finding.ts";
import {
  checkLocalForward,
  checkLocalPort,
  checkRemoteForward,
  type Emit,
  type ForwardDeps,
} from "./forwards.ts";
import { probeSsh, type SshDeps } from "./ssh.ts";
import { checkTcp } from "./tcp.ts";

export interface RouteDeps extends SshDeps, ForwardDeps {
  lookup?: Lookup;
}

async function reachHop(
  hop: HopPlan,
  via: { client: Client; label: string },
): Promise<{ finding: Finding; sock?: Duplex }> {
  let sock: Duplex | undefined;
  const to = `${fmtHost(hop.host)}:${hop.port}`;
  const finding = await timed(async () => {
    const o: Opened = await openChannel(
      via.client,
      { host: hop.host, port: hop.port },
      hop.connectTimeoutMs,
    );
    if (o.ok) {
      sock = o.channel;
      return pass("tcp", `${via.label} reaches ${to}`, "jump host opened the connection");
    }
    return fail(
      "tcp",
      `${via.label} cannot reach ${to}`,
      o.message,
      openFailureHint(o.why, via.label, to),
    );
  });
  return { finding, ...(sock ? { sock } : {}) };
}

async function checkHops(
  plan: TunnelPlan,
  deps: RouteDeps,
  emit: Emit,
  clients: Client[],
): Promise<Client | undefined> {
  let via: { client: Client; label: string } | undefined;
  for (const hop of plan.hops) {
    let sock: Duplex | undefined;
    if (!via) {
      const dns = await checkDns(hop.host, hop.connectTimeoutMs, deps.lookup);
      if (!emit(dns.finding)) return undefined;
      const tcp = await checkTcp(hop.host, dns.addresses, hop.port, hop.connectTimeoutMs);
      if (!emit(tcp.finding)) return undefined;
      sock = tcp.sock;
    } else {
      const r = await reachHop(hop, via);
      if (!emit(r.finding)) return undefined;
      sock = r.sock;
    }
    const ssh = await probeSsh(hop, sock!, deps);
    for (const f of ssh.findings) if (!emit(f)) return undefined;
    if (!ssh.client) return undefined;
    clients.push(ssh.client);
    via = { client: ssh.client, label: hopLabel(hop) };
  }
  return via?.client;
}

/** Runs layers 2-9; `emit` receives each Finding as soon as it is known. */
export async function checkRoute(
  plan: TunnelPlan,
  deps: RouteDeps,
  onFinding: (f: Finding) => void = () => {},
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const emit = (f: Finding) => {
    findings.push(f);
    onFinding(f);
    return f.ok;
  };
  const clients: Client[] = [];
  try {
    const client = await checkHops(plan, deps, emit, clients);
    if (!client) return findings;
    const last = plan.hops[plan.hops.length - 1]!;
    const via = hopLabel(last);
    for (const spec of plan.forwards) {
      if (
        spec.kind === "local" &&
        !(await checkLocalForward(client, spec, via, last.connectTimeoutMs, deps, emit))
      )
        return findings;
      if (spec.kind === "remote" && !(await checkRemoteForward(client, spec, via, emit)))
        return findings;
      if (spec.kind === "dynamic")
        emit({
          ...pass(
            "forward",
            `SOCKS on port ${"port" in spec.listen ? spec.listen.port : spec.listen.socket}`,
            "destinations are chosen per connection; not checked",
          ),
          ms: 0,
        });
    }
  } finally {
    for (const c of clients.reverse()) c.end();
  }
  for (const spec of plan.forwards) if (!(await checkLocalPort(spec, plan, deps, emit))) break;
  return findings;
}
