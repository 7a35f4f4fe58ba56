/**
 * The TCP leg of the first hop. `preconnect()` starts it as soon as the plan
 * is known, before the SSH code (ssh2, ~15 ms to load) is imported, so the
 * handshake and the server's banner are under way meanwhile (setup latency,
 * issue 12); connectHop() then takes that connection instead of dialling.
 * Until taken it does not keep the process alive (a run that fails before
 * connecting still exits at once).
 */
import { connect as netConnect, type Socket } from "node:net";
import { FwdError, messageOf } from "../errors.ts";
import type { HopPlan } from "./plan.ts";
import { tuneTransport } from "./transport.ts";

interface Dialled {
  connected: Promise<Socket>;
  /** Makes the attempt keep the process alive again (socket and its timeout). */
  ref(): void;
}
const early = new Map<string, Dialled>();
const keyOf = (hop: HopPlan) => `${hop.host}\0${hop.port}\0${hop.connectTimeoutMs}`;

/** Starts connecting to `hop` now; the next tcpConnect(hop) gets this connection. */
export function preconnect(hop: HopPlan): void {
  const key = keyOf(hop);
  if (early.has(key)) return;
  const d = dial(hop, false);
  d.connected.catch(() => {}); // reported to whoever takes it
  early.set(key, d);
}

/** A connected, tuned socket to `hop` (the preconnected one if there is one). */
export function tcpConnect(hop: HopPlan): Promise<Socket> {
  const key = keyOf(hop);
  const d = early.get(key);
  if (!d) return dial(hop, true).connected;
  early.delete(key);
  d.ref();
  return d.connected;
}

function dial(hop: HopPlan, keepAlive: boolean): Dialled {
  const sock = netConnect({ host: hop.host, port: hop.port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connected = new Promise<Socket>((resolve, reject) => {
    timer = setTimeout(() => {
      sock.destroy();
      reject(
        new FwdError(
          "timeout",
          `timed out connecting to ${hop.host}:${hop.port} after ${hop.connectTimeoutMs / 1000}s`,
          "is the host reachable from here (VPN, firewall)? ConnectTimeout sets the limit",
        ),
      );
    }, hop.connectTimeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.setNoDelay(true);
      // One send per tick instead of ~3 per SSH packet, garbage reclaimed as bytes flow (issue 12; see transport.ts).
      resolve(tuneTransport(sock));
    });
    sock.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(socketError(hop, e));
    });
  });
  const ref = () => {
    sock.ref();
    timer?.ref();
  };
  if (!keepAlive) {
    sock.unref();
    timer?.unref();
  }
  return { connected, ref };
}

function socketError(hop: HopPlan, e: NodeJS.ErrnoException): FwdError {
  const where = `${hop.host}:${hop.port}`;
  switch (e.code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return new FwdError(
        "dns",
        `cannot resolve ${hop.host}`,
        "check HostName in your ssh_config and your DNS",
      );
    case "ECONNREFUSED":
      return new FwdError(
        "connect",
        `connection refused by ${where}`,
        "is sshd running there, on this Port?",
      );
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new FwdError("connect", `no route to ${where}`, "check your network / VPN");
    default:
      return new FwdError(
        "connect",
        `cannot connect to ${where}: ${messageOf(e)}`,
        "check HostName and Port",
      );
  }
}
