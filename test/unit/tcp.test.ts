/**
 * The first hop's TCP leg started early (src/tunnel/tcp.ts): connectHop gets
 * the connection preconnect() opened, later dials are fresh, and an early
 * connection nobody takes does not keep the process alive.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { HopPlan } from "../../src/tunnel/plan.ts";
import { preconnect, tcpConnect } from "../../src/tunnel/tcp.ts";

let server: Server;
let port = 0;
const accepted: Socket[] = [];
beforeAll(async () => {
  // Accepts and stays silent, like an sshd that has not sent its banner yet.
  server = createServer((s) => void accepted.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => {
  for (const s of accepted) s.destroy();
  server.close();
});

const hop = (p: number) => ({ host: "127.0.0.1", port: p, connectTimeoutMs: 5000 }) as HopPlan;

test("tcpConnect takes the preconnected socket once; the next call dials again", async () => {
  preconnect(hop(port));
  await Bun.sleep(50);
  expect(accepted.length).toBe(1); // under way before anyone asked
  const a = await tcpConnect(hop(port));
  expect(accepted.length).toBe(1);
  const b = await tcpConnect(hop(port));
  expect(accepted.length).toBe(2);
  expect(a).not.toBe(b);
  a.destroy();
  b.destroy();
});

test("a refused preconnect is reported by the tcpConnect that takes it", async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const p = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  preconnect(hop(p));
  await expect(tcpConnect(hop(p))).rejects.toMatchObject({ code: "connect" });
});

test("an untaken early connection does not hold the process open", () => {
  const script = `
    import { preconnect } from ${JSON.stringify(join(import.meta.dir, "../../src/tunnel/tcp.ts"))};
    preconnect({ host: "127.0.0.1", port: ${port}, connectTimeoutMs: 30000 });
  `;
  // Held open, it would live until the 30 s ConnectTimeout: spawnSync kills it at 20 s (status null).
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000 });
  expect(r.status).toBe(0);
});
