/**
 * Layers 7-9 for each forward: the bastion opens (or listens for) it, what
 * answers behind it, and whether the local side can listen.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { ForwardSpec } from "../sshconfig/forward.ts";
import type { TunnelPlan } from "../tunnel/plan.ts";
import { fmtAddress, fmtHost } from "./address.ts";
import { openChannel, openFailureHint } from "./channel.ts";
import { describeService, recogniseDestination } from "./destination.ts";
import { type Finding, fail, pass, timed } from "./finding.ts";
import { bindAddresses, bindHint, portState } from "./local.ts";

export interface ForwardDeps {
  /** How long to wait for a destination to speak (then HTTP and TLS probes get twice that). */
  waitMs?: number;
  /** pid of this Host's own running fwd, if any: its ports are not "in use". */
  ownPid?: number | undefined;
}

/** Records a finding; false when it failed (the check stops there). */
export type Emit = (f: Finding) => boolean;

type LocalSpec = Extract<ForwardSpec, { kind: "local" }>;

export async function checkLocalForward(
  client: Client,
  spec: LocalSpec,
  via: string,
  timeoutMs: number,
  deps: ForwardDeps,
  emit: Emit,
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

export async function checkRemoteForward(
  client: Client,
  spec: Extract<ForwardSpec, { kind: "remote" }>,
  via: string,
  emit: Emit,
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

export async function checkLocalPort(
  spec: ForwardSpec,
  plan: TunnelPlan,
  deps: ForwardDeps,
  emit: Emit,
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
