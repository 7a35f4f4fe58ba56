/** Layer 3: does anything accept a TCP connection at host:port? */
import { connect, type Socket } from "node:net";
import { type Finding, fail, pass, timed } from "./finding.ts";

type Attempt =
  | { ok: true; sock: Socket }
  | { ok: false; why: "refused" | "timeout" | "unreachable" | "other"; message: string };

function attempt(address: string, port: number, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, why: "timeout", message: `no answer within ${timeoutMs / 1000}s` });
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      resolve({ ok: true, sock });
    });
    sock.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      const why =
        e.code === "ECONNREFUSED"
          ? "refused"
          : e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH" || e.code === "EADDRNOTAVAIL"
            ? "unreachable"
            : e.code === "ETIMEDOUT"
              ? "timeout"
              : "other";
      resolve({ ok: false, why, message: e.code ?? e.message });
    });
  });
}

const hints: Record<Exclude<Attempt, { ok: true }>["why"], string> = {
  refused:
    "the host is up but nothing listens on that port: is sshd running there, and is Port right for this Host?",
  timeout:
    "packets are dropped on the way: a firewall or security group, the wrong address, a host that is down, or a VPN you are not on",
  unreachable: "no route to that address from here: check your network / VPN, and HostName",
  other: "check HostName and Port for this Host",
};

export interface TcpResult {
  finding: Finding;
  /** The connected socket when the layer passed (the SSH layers continue on it). */
  sock: Socket | undefined;
}

/** Tries each address in order, as ssh does, and keeps the first connection. */
export async function checkTcp(
  host: string,
  addresses: readonly string[],
  port: number,
  timeoutMs: number,
): Promise<TcpResult> {
  let sock: Socket | undefined;
  const finding = await timed(async () => {
    const failures: string[] = [];
    let worst: keyof typeof hints = "other";
    for (const address of addresses) {
      const a = await attempt(address, port, timeoutMs);
      if (a.ok) {
        sock = a.sock;
        const also = failures.length ? ` (after ${failures.join("; ")})` : "";
        return pass(
          "tcp",
          `${host} port ${port} accepts connections`,
          `connected to ${address}${also}`,
        );
      }
      failures.push(`${address}: ${a.message}`);
      worst = a.why;
    }
    const what = {
      refused: "refused",
      timeout: "timed out",
      unreachable: "unreachable",
      other: "failed",
    }[worst];
    return fail(
      "tcp",
      `connection to ${host} port ${port} ${what}`,
      failures.join("; "),
      hints[worst],
    );
  });
  return { finding, sock };
}
