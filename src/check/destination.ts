/**
 * Layer 8: what answers at the far end. Listen first (SSH and many services
 * speak first), then ask like HTTP, then in a fresh channel like TLS.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { Address } from "../sshconfig/forward.ts";
import { openChannel } from "./channel.ts";
import { describe, httpProbe, recognise, type Service, tlsProbe } from "./sniff.ts";

type Heard = { kind: "bytes"; data: Buffer } | { kind: "closed" } | { kind: "silent" };

/** Sends `probe` (if any) and waits for the first bytes, the end, or `ms` of silence. */
export function listen(ch: Duplex, ms: number, probe?: Buffer): Promise<Heard> {
  return new Promise((resolve) => {
    const done = (h: Heard) => {
      clearTimeout(timer);
      ch.off("data", onData);
      ch.off("close", onEnd);
      ch.off("end", onEnd);
      resolve(h);
    };
    const onData = (b: Buffer) => {
      ch.pause();
      done({ kind: "bytes", data: b });
    };
    const onEnd = () => done({ kind: "closed" });
    const timer = setTimeout(() => done({ kind: "silent" }), ms);
    ch.on("data", onData);
    ch.once("end", onEnd);
    ch.once("close", onEnd);
    ch.resume();
    if (probe) ch.write(probe);
  });
}

export type Recognition =
  | { kind: "service"; service: Service; how: "spoke first" | "answered HTTP" | "answered TLS" }
  | { kind: "silent" }
  | { kind: "closed" };

export async function recogniseDestination(
  client: Client,
  to: Address,
  first: Duplex,
  waitMs: number,
): Promise<Recognition> {
  const host = "socket" in to ? "localhost" : to.host;
  const port = "socket" in to ? 80 : to.port;
  let closedEverywhere = true;
  try {
    const spoke = await listen(first, waitMs);
    if (spoke.kind === "bytes")
      return { kind: "service", service: recognise(spoke.data), how: "spoke first" };
    if (spoke.kind === "silent") {
      closedEverywhere = false;
      const http = await listen(first, waitMs * 2, httpProbe(host, port));
      if (http.kind === "bytes")
        return { kind: "service", service: recognise(http.data), how: "answered HTTP" };
    }
  } finally {
    first.destroy();
  }
  const opened = await openChannel(client, to, waitMs * 2);
  if (!opened.ok) return closedEverywhere ? { kind: "closed" } : { kind: "silent" };
  try {
    const tls = await listen(opened.channel, waitMs * 2, tlsProbe(host));
    if (tls.kind === "bytes")
      return { kind: "service", service: recognise(tls.data), how: "answered TLS" };
    if (tls.kind === "silent") closedEverywhere = false;
  } finally {
    opened.channel.destroy();
  }
  return closedEverywhere ? { kind: "closed" } : { kind: "silent" };
}

export { describe as describeService };
