/**
 * A direct-tcpip channel through the bastion (what every -L connection is),
 * with the server's refusal turned into what it means.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { Address } from "../sshconfig/forward.ts";

export type Opened =
  | { ok: true; channel: Duplex }
  | {
      ok: false;
      why: "prohibited" | "unresolvable" | "refused" | "unreachable" | "timeout" | "other";
      message: string;
    };

/** RFC 4254 reason codes; OpenSSH puts strerror / gai_strerror in the description. */
export function classifyOpenFailure(
  reason: unknown,
  description: string,
): Exclude<Opened, { ok: true }>["why"] {
  if (reason === 1 || /prohibited/i.test(description)) return "prohibited";
  if (
    /name or service not known|unknown host|name resolution|no address associated|nodename nor servname|not known/i.test(
      description,
    )
  )
    return "unresolvable";
  if (/connection refused/i.test(description)) return "refused";
  if (/no route|unreachable/i.test(description)) return "unreachable";
  if (/timed out/i.test(description)) return "timeout";
  return "other";
}

export function openChannel(client: Client, to: Address, timeoutMs: number): Promise<Opened> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          ok: false,
          why: "timeout",
          message: `no answer from the bastion within ${timeoutMs / 1000}s`,
        }),
      timeoutMs,
    );
    const cb = (err: (Error & { reason?: unknown }) | undefined, ch: Duplex) => {
      clearTimeout(timer);
      if (!err) {
        ch.on("error", () => {});
        return resolve({ ok: true, channel: ch });
      }
      const description = err.message.replace(/^\(SSH\) Channel open failure: /, "");
      resolve({
        ok: false,
        why: classifyOpenFailure(err.reason, description),
        message: description || "open failed",
      });
    };
    if ("socket" in to) client.openssh_forwardOutStreamLocal(to.socket, cb as never);
    else client.forwardOut("127.0.0.1", 0, to.host, to.port, cb as never);
  });
}

/** What the bastion's refusal means, for the hint line. */
export function openFailureHint(
  why: Exclude<Opened, { ok: true }>["why"],
  via: string,
  to: string,
): string {
  switch (why) {
    case "prohibited":
      return `${via} does not allow forwarding to ${to}: AllowTcpForwarding (or PermitOpen, or "restrict"/"permitopen" in authorized_keys) in its sshd_config; ask its admin`;
    case "unresolvable":
      return `${via} cannot resolve the target name: check the host in LocalForward (the name is resolved on the bastion, not here)`;
    case "refused":
      return `the target host is up but nothing listens on that port: is the service running, and is the port in LocalForward right?`;
    case "unreachable":
      return `${via} has no route to the target: wrong address, or the target's network is not reachable from the bastion`;
    case "timeout":
      return `the target does not answer from ${via}: a firewall drops the packets, or the target is down`;
    case "other":
      return `the bastion could not open the connection; its sshd log says why`;
  }
}
