/**
 * Layer 9: can fwd listen where the forward says? A port is free when a bind
 * succeeds; when it does not, name the holder (it may be this Host's own
 * background run, which is fine).
 */
import { createServer } from "node:net";
import { portHolder } from "../tunnel/portholder.ts";

export type BindResult = { ok: true } | { ok: false; code: string };

export function tryBind(host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (e: NodeJS.ErrnoException) =>
      resolve({ ok: false, code: e.code ?? e.message }),
    );
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve({ ok: true })));
  });
}

/** ssh's listen addresses for a bind address (channels.c): loopback unless GatewayPorts or explicit. */
export function bindAddresses(bind: string | undefined, gatewayPorts: boolean): string[] {
  if (bind === undefined || bind === "" || bind === "localhost")
    return gatewayPorts && bind === undefined ? ["0.0.0.0"] : ["127.0.0.1"];
  if (bind === "*") return ["0.0.0.0"];
  return [bind];
}

export interface PortState {
  free: boolean;
  /** bind error code when not free */
  code?: string;
  /** "pid 1234 (fwd)" */
  holder?: string;
  holderPid?: number;
}

export async function portState(addresses: readonly string[], port: number): Promise<PortState> {
  for (const a of addresses) {
    const r = await tryBind(a, port);
    if (!r.ok) {
      const holder = r.code === "EADDRINUSE" ? portHolder(port) : undefined;
      const pid = holder ? Number(/^pid (\d+)/.exec(holder)?.[1]) : undefined;
      return {
        free: false,
        code: r.code,
        ...(holder ? { holder } : {}),
        ...(pid ? { holderPid: pid } : {}),
      };
    }
  }
  return { free: true };
}

export function bindHint(code: string | undefined, port: number, address: string): string {
  switch (code) {
    case "EADDRINUSE":
      return `stop what holds ${address}:${port}, or pick another local port for this forward`;
    case "EACCES":
      return `ports below 1024 need root: pick a local port of 1024 or more`;
    case "EADDRNOTAVAIL":
      return `${address} is not an address of this machine: fix the bind address of the forward`;
    default:
      return `fwd cannot listen on ${address}:${port}`;
  }
}
