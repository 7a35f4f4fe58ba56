/**
 * ssh -R: the bastion listens (tcpip-forward), and each connection it accepts
 * comes back as a forwarded-tcpip channel that fwd connects to a local address.
 */
import { connect as netConnect } from "node:net";
import type { Client, ClientChannel } from "ssh2";
import { FwdError, messageOf } from "../errors.ts";
import type { Address, ForwardSpec } from "../sshconfig/forward.ts";
import { fmtAddress, fmtHost, newStats } from "./forwards.ts";
import { splice } from "./splice.ts";
import type { ForwardStatus } from "./status.ts";

export type Remote = { spec: Extract<ForwardSpec, { kind: "remote" }>; stats: ForwardStatus };

/** ssh's channel_rfwd_bind_host(): no address -> "localhost", "*" -> all. */
function remoteBindHost(bind: string | undefined): string {
  if (bind === undefined) return "localhost";
  return bind === "*" ? "" : bind;
}

/** The status entry of one remote forward. */
export function remoteStats(spec: Extract<ForwardSpec, { kind: "remote" }>): ForwardStatus {
  const l = spec.listen;
  const listen = "socket" in l ? l.socket : `${l.bind ? `${fmtHost(l.bind)}:` : ""}${l.port}`;
  return newStats("remote", `remote ${listen} → ${fmtAddress(spec.connect)}`);
}

/** Connect an incoming forwarded-tcpip channel to its local destination. */
export function acceptRemote(
  ch: ClientChannel,
  to: Address,
  stats: ForwardStatus,
  log: (l: string) => void,
): void {
  ch.on("error", () => {});
  const sock =
    "socket" in to
      ? netConnect({ path: to.socket, allowHalfOpen: true })
      : netConnect({ host: to.host, port: to.port, allowHalfOpen: true });
  sock.once("connect", () => splice(sock, ch, stats));
  sock.once("error", (e) => {
    log(`remote forward → ${fmtAddress(to)}: ${messageOf(e)}`);
    ch.destroy();
  });
}

/**
 * Asks the bastion to listen for every remote forward. `strict`: a refusal is
 * an error (first connect, or ExitOnForwardFailure); otherwise it is logged.
 */
export async function requestRemotes(
  client: Client,
  remotes: readonly Remote[],
  opts: { strict: boolean; log: (line: string) => void },
): Promise<void> {
  if (remotes.length === 0) return;
  const byPort = new Map<number, Remote>();
  // Listen before asking: sshd may send the first forwarded connection in the
  // same packet as its reply, and ssh2 emits it at once.
  client.on("tcp connection", (info, accept, reject) => {
    const r = byPort.get(info.destPort);
    if (r) acceptRemote(accept(), r.spec.connect, r.stats, opts.log);
    else reject();
  });
  for (const r of remotes) {
    const l = r.spec.listen;
    if ("socket" in l)
      throw new FwdError(
        "forward",
        "remote unix-socket forwards are not supported yet",
        "use a TCP RemoteForward",
      );
    if (l.port > 0) byPort.set(l.port, r);
    const bound = await new Promise<number>((resolve, reject) =>
      client.forwardIn(remoteBindHost(l.bind), l.port, (err, port) =>
        err ? reject(err) : resolve(port || l.port),
      ),
    ).catch((e) => {
      const err = new FwdError(
        "forward",
        `the bastion refused remote forward ${r.stats.description}: ${messageOf(e)}`,
        "AllowTcpForwarding/GatewayPorts on the bastion, or the remote port is in use there",
      );
      if (opts.strict) throw err;
      opts.log(err.message);
      return -1;
    });
    if (bound > 0) {
      byPort.set(bound, r);
      if (l.port === 0)
        opts.log(`remote forward ${r.stats.description}: the bastion allocated port ${bound}`);
    } else byPort.delete(l.port);
  }
}
