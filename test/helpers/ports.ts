/**
 * Ports and polling for tests: a free loopback port (listen on 0, close) and
 * deadline-based waiting instead of sleeps (TESTING.md: no sleeps as sync).
 */
import { connect, createServer } from "node:net";

/** A port the kernel just handed out on `host` and that we released again. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when a TCP connect to host:port succeeds right now. */
export function portAccepts(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error: "sshd to listen on 127.0.0.1:2222". */
  what?: string;
}

/** Polls `cond` until it returns true; throws naming `what` at the deadline. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, what = "condition" }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until host:port accepts TCP connections. */
export function waitForPort(port: number, host = "127.0.0.1", deadlineMs = 10_000): Promise<void> {
  return waitFor(() => portAccepts(port, host), {
    timeoutMs: deadlineMs,
    what: `${host}:${port} to accept connections`,
  });
}

/** Waits until nothing accepts on host:port any more (a listener closed). */
export function waitForPortClosed(
  port: number,
  host = "127.0.0.1",
  deadlineMs = 10_000,
): Promise<void> {
  return waitFor(async () => !(await portAccepts(port, host)), {
    timeoutMs: deadlineMs,
    what: `${host}:${port} to stop accepting connections`,
  });
}
