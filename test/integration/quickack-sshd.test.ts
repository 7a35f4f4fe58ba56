/**
 * Prompt ACKs (src/tunnel/quickack.ts) against a real sshd, which keeps
 * Nagle's algorithm on for a connection with no session (`ssh -N`, fwd).
 *
 * - A service that answers in two writes a few ms apart: through `ssh -N -L`
 *   the second write waits for the client's delayed ACK of the first (~40 ms);
 *   through fwd it does not, with TCP_QUICKACK (Linux, Bun) and with the
 *   SSH_MSG_IGNORE fallback (FWD_TCP_QUICKACK=0) alike.
 * - sshd at LogLevel DEBUG3 logs every SSH2_MSG_IGNORE it receives: with
 *   TCP_QUICKACK fwd sends none; the fallback keeps sending them after setup,
 *   and sshd takes them (the forward works).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type FwdMode, hasBinary, spawnFwd } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { freePort, waitFor, waitForPort } from "../helpers/ports.ts";
import { killTree } from "../helpers/procs.ts";
import { canRunSshd, type Sshd, startSshd, writeClientConfig } from "../helpers/sshd.ts";

const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const IGNORE = /Received SSH2_MSG_IGNORE/g;
/** The gap between the service's two writes. */
const GAP_MS = 3;
const ROUNDS = 15;

let sshd: Sshd;
let home: TempHome;
let key: KeyPair;
let service: Server;
let servicePort: number;

beforeAll(async () => {
  if (!canRunSshd) return;
  home = tempHome();
  key = genKey(home.sshDir);
  sshd = await startSshd({ authorized: { root: [key.pub] }, extra: { LogLevel: "DEBUG3" } });
  // Each "?" is answered with "A", then GAP_MS later "B\n" (as a web server sends headers, then body).
  service = createServer((s) => {
    s.setNoDelay(true); // so only sshd's Nagle can hold "B"
    s.on("data", () => {
      s.write("A");
      setTimeout(() => s.writable && s.write("B\n"), GAP_MS);
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
  servicePort = (service.address() as { port: number }).port;
});
afterAll(async () => {
  if (!canRunSshd) return;
  await sshd.cleanup();
  service.close();
  home.cleanup();
});

const config = (port: number) =>
  writeClientConfig(sshd, home.dir, {
    identity: key.path,
    lines: [`LocalForward ${port} 127.0.0.1:${servicePort}`],
  });

const ignores = (from: number) => sshd.log().slice(from).match(IGNORE)?.length ?? 0;

/** Median round trip (ms) of ROUNDS "?" → "AB\n" exchanges on one connection through `port`, after 3 to warm up. */
async function medianRoundTrip(port: number): Promise<number> {
  const sock: Socket = connect(port, "127.0.0.1");
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  let got = "";
  let wake: (() => void) | undefined;
  sock.on("data", (b: Buffer) => {
    got += b.toString();
    if (got.endsWith("\n")) wake?.();
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < ROUNDS + 3; i++) {
      got = "";
      const done = new Promise<void>((r) => {
        wake = r;
      });
      const t0 = performance.now();
      sock.write("?");
      await done;
      if (i >= 3) times.push(performance.now() - t0);
      expect(got).toBe("AB\n");
    }
  } finally {
    sock.destroy();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function runFwd(mode: FwdMode, env: Record<string, string>) {
  const port = await freePort();
  const p = spawnFwd(["run", "-F", config(port), "forward1"], {
    env: { ...home.env, ...env },
    mode,
  });
  await waitFor(
    async () => {
      if (p.child.exitCode !== null) throw new Error(`fwd exited: ${p.stderr()}`);
      return p.stderr().includes("→");
    },
    { timeoutMs: 20_000, what: "fwd ready" },
  );
  return { port, p };
}

describe.skipIf(!canRunSshd)("the stall prompt ACKs remove", () => {
  test(`through ssh -N -L, the second write waits for the delayed ACK (median >= 30 ms; gap ${GAP_MS} ms)`, async () => {
    const port = await freePort();
    const ssh: ChildProcess = spawn(
      "ssh",
      [
        "-F",
        config(port),
        "-N",
        "-o",
        "BatchMode=yes",
        "-o",
        "ExitOnForwardFailure=yes",
        "forward1",
      ],
      { stdio: "ignore", env: { ...process.env, ...home.env } },
    );
    try {
      await waitForPort(port);
      expect(await medianRoundTrip(port)).toBeGreaterThanOrEqual(30);
    } finally {
      if (ssh.pid) await killTree([ssh.pid]);
    }
  });
});

describe.skipIf(!canRunSshd).each(modes)("prompt ACKs (%s)", (mode) => {
  test("TCP_QUICKACK: no wait for a delayed ACK (median < 20 ms), and no IGNORE sent", async () => {
    const start = sshd.log().length;
    const { port, p } = await runFwd(mode, {});
    try {
      expect(await medianRoundTrip(port)).toBeLessThan(20);
      await Bun.sleep(200);
      expect(ignores(start)).toBe(0);
    } finally {
      await p.kill();
    }
  });

  test("FWD_TCP_QUICKACK=0: IGNOREs instead, during setup and after; sshd takes them; no wait either", async () => {
    const start = sshd.log().length;
    const { port, p } = await runFwd(mode, { FWD_TCP_QUICKACK: "0" });
    try {
      expect(ignores(start)).toBeGreaterThan(0);
      await Bun.sleep(2_500);
      const later = sshd.log().length;
      expect(await medianRoundTrip(port)).toBeLessThan(20);
      await Bun.sleep(200);
      expect(ignores(later)).toBeGreaterThan(0);
    } finally {
      await p.kill();
    }
  });
});
