/**
 * Layers 2-9 in route order: for each hop DNS (first hop only; later hops
 * are resolved by the previous one), TCP, SSH, host key, auth; then every
 * forward through the last hop, what answers behind it, and the local side.
 * Stops at the first failure; every connection is closed before returning.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { ForwardSpec } from "../sshconfig/forward.ts";
import { type HopPlan, hopLabel, type TunnelPlan } from "../tunnel/plan.ts";
import { type Opened, openChannel, openFailureHint } from "./channel.ts";
import { describeService, recogniseDestination } from "./destination.ts";
import { checkDns, type Lookup } from "./dns.ts";
import { type Finding, fail, pass, timed } from "./finding.ts";
import { bindAddresses, bindHint, portState } from "./local.ts";
import { probeSsh, type SshDeps } from "./ssh.ts";
import { checkTcp } from "./tcp.ts";

export interface RouteDeps extends SshDeps {
  lookup?: Lookup;
  /** How long to wait for a destination to speak (then HTTP and TLS probes get twice that). */
  waitMs?: number;
  /** pid of this Host's own running fwd, if any: its ports are not "in use". */
  ownPid?: number | undefined;
}

const fmtHost = (h: string) => (h.includes(":") ? `[${h}]` : h);
export const fmtAddress = (a: { host: string; port: number } | { socket: string }) =>
  "socket" in a ? a.socket : `${fmtHost(a.host)}:${a.port}`;

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
  emit: (f: Finding) => boolean,
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

type LocalSpec = Extract<ForwardSpec, { kind: "local" }>;

async function checkLocalForward(
  client: Client,
  spec: LocalSpec,
  via: string,
  timeoutMs: number,
  deps: RouteDeps,
  emit: (f: Finding) => boolean,
): Promise<boolean> {
  const to = fmtAddress(spec.connect);
  let channel: Duplex | undefined;
  const f = await timed(async () => {
    const o = await openChannel(client, spec.connect, timeoutMs);
    if (o.ok) {
      channel = o.channel;
      return pass("forward", `${via} forwards to ${to}`, "direct-tcpip channel opened");
    }
    const what = o.why === "prohibited" ? "refuses to forward" : "cannot connect";
    return fail(
      "forward",
      `${via} ${what} to ${to}`,
      `server said: ${o.message}`,
      openFailureHint(o.why, via, to),
    );
  });
  if (!emit(f) || !channel) return false;
  const open = channel;
  const d = await timed(async () => {
    const r = await recogniseDestination(client, spec.connect, open, deps.waitMs ?? 1000);
    if (r.kind === "service")
      return pass("destination", `${to} is ${describeService(r.service)}`, r.how);
    if (r.kind === "silent")
      return pass(
        "destination",
        `${to} accepts connections`,
        "it waits for the client to speak and answered neither HTTP nor TLS",
      );
    return fail(
      "destination",
      `${to} closes connections at once`,
      "accepted, then closed without a byte, for every probe",
      "the service behind the port is not working (a proxy without a backend?); check it on the target",
    );
  });
  return emit(d);
}

async function checkRemoteForward(
  client: Client,
  spec: Extract<ForwardSpec, { kind: "remote" }>,
  via: string,
  emit: (f: Finding) => boolean,
): Promise<boolean> {
  const l = spec.listen;
  if ("socket" in l)
    return emit({
      ...pass("forward", `remote socket ${l.socket}`, "not checked (unix socket)"),
      ms: 0,
    });
  const bind = l.bind ?? "localhost";
  const f = await timed(
    () =>
      new Promise<Omit<Finding, "ms">>((resolve) => {
        client.forwardIn(bind, l.port, (err, port) => {
          if (err) {
            resolve(
              fail(
                "forward",
                `${via} refuses to listen on ${fmtHost(bind)}:${l.port}`,
                err.message,
                `the port may be in use on ${via}, or remote forwarding is off there (AllowTcpForwarding remote|yes; GatewayPorts for non-loopback binds)`,
              ),
            );
            return;
          }
          client.unforwardIn(bind, port, () => {});
          resolve(
            pass(
              "forward",
              `${via} can listen on ${fmtHost(bind)}:${port}`,
              "remote forward allowed (opened and closed again)",
            ),
          );
        });
      }),
  );
  return emit(f);
}

async function checkLocalPort(
  spec: ForwardSpec,
  plan: TunnelPlan,
  deps: RouteDeps,
  emit: (f: Finding) => boolean,
): Promise<boolean> {
  if (spec.kind === "remote") return true;
  const l = spec.listen;
  if ("socket" in l) return true;
  const addrs = bindAddresses(l.bind, plan.gatewayPorts);
  const where = `${addrs.map(fmtHost).join(", ")} port ${l.port}`;
  const f = await timed(async () => {
    if (l.port === 0) return pass("local", `local port chosen at run time`, "port 0");
    const s = await portState(addrs, l.port);
    if (s.free) return pass("local", `${where} is free`);
    if (s.holderPid !== undefined && s.holderPid === deps.ownPid)
      return pass("local", `${where} is held by this Host's own fwd run`, s.holder ?? "");
    return fail(
      "local",
      `${where} is in use`,
      `${s.code}${s.holder ? `, held by ${s.holder}` : ""}`,
      bindHint(s.code, l.port, addrs[0]!),
    );
  });
  return emit(f);
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
