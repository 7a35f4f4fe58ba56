/**
 * Stands in for `fwd run NAME --daemon-child …` so spawn/child/stop/status are
 * tested with real processes but without SSH. The tunnel is a TCP listener on
 * 127.0.0.1:FAKE_PORT (0 = any) that answers "hello\n".
 * FAKE_MODE: ok | auth (fails like a refused login) | hang (never ready) | crash (exits silently)
 *   | ask (asks its run -d for a passphrase through the relay; "right" opens)
 * FAKE_PIDFILE: where to write this process's pid first.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { makeCtx } from "../../src/context.ts";
import { runDaemonChild } from "../../src/daemon/child.ts";
import { FwdError } from "../../src/errors.ts";
import type { TunnelHandle } from "../../src/tunnel/engine.ts";
import type { TunnelStatus } from "../../src/tunnel/status.ts";

const name = process.argv[3] ?? "";
if (process.env.FAKE_PIDFILE) writeFileSync(process.env.FAKE_PIDFILE, String(process.pid));
const mode = process.env.FAKE_MODE ?? "ok";

async function open(): Promise<TunnelHandle> {
  if (mode === "auth")
    throw new FwdError("auth", "authentication failed for me@bastion", "check IdentityFile");
  if (mode === "hang") return new Promise(() => {});
  if (mode === "crash") process.exit(3);
  if (mode === "ask") {
    const { childRelay } = await import("../../src/daemon/relay.ts");
    const pass = await childRelay(process.env)?.askPassphrase("/keys/id_locked");
    if (pass !== "right") throw new FwdError("auth", "authentication failed (wrong passphrase)");
  }
  const server = createServer((s) => s.end("hello\n"));
  await new Promise<void>((res, rej) => {
    server.once("error", (e) =>
      rej(
        new FwdError("port-in-use", `127.0.0.1:${process.env.FAKE_PORT} is in use (${e.message})`),
      ),
    );
    server.listen(Number(process.env.FAKE_PORT ?? 0), "127.0.0.1", () => res());
  });
  const port = (server.address() as { port: number }).port;
  const changes: ((s: TunnelStatus) => void)[] = [];
  let state: TunnelStatus = {
    name,
    state: "up",
    since: new Date().toISOString(),
    reconnects: 0,
    lastError: undefined,
    via: "me@bastion:22",
    forwards: [
      {
        description: `127.0.0.1:${port} -> target-host:22`,
        kind: "local",
        port,
        connections: 0,
        bytesIn: 0,
        bytesOut: 0,
      },
    ],
  };
  // SIGUSR2 simulates a dropped bastion: the state goes to reconnecting.
  process.on("SIGUSR2", () => {
    state = {
      ...state,
      state: "reconnecting",
      reconnects: state.reconnects + 1,
      lastError: "connection lost",
    };
    for (const f of changes) f(state);
  });
  let ended: (e: FwdError | undefined) => void = () => {};
  const done = new Promise<FwdError | undefined>((r) => {
    ended = r;
  });
  return {
    status: () => state,
    onChange: (f) => changes.push(f),
    onLog: () => {},
    reload: async () => {},
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      ended(undefined);
    },
    done,
  } as TunnelHandle;
}

const ctx = makeCtx({}, [process.execPath, import.meta.path]);
const opts = {
  background: false,
  acceptNew: false,
  options: [],
  local: [],
  remote: [],
  dynamic: [],
  daemonChild: true,
};
process.exitCode = await runDaemonChild(ctx, name, opts, open);
