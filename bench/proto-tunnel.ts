/**
 * Prototype for issue 12: the smallest ssh2 -L tunnel, to measure data-path
 * changes apart from the rest of fwd. Not shipped.
 *   proto-tunnel SSH_PORT KEY USER LOCAL_PORT TARGET_PORT [MODE]
 * MODE: naive (ssh2 as is), coalesce (src/tunnel/transport.ts's
 * coalesceWrites on the SSH socket, its default flush: setImmediate; it was
 * process.nextTick when the first figures were taken), imm (the same, spelled
 * out), coalesce2 / imm2 (also on each local socket: made bulk worse, extra
 * copy), gc / gcsync (coalesce plus
 * Bun.gc every GC_MIB MiB read), onread / onread-gc (SSH socket reads into one
 * reused buffer once the handshake is done). MEM_LOG=1 prints memoryUsage().
 * Build: bun build --compile bench/proto-tunnel.ts --outfile /tmp/proto-tunnel
 * Use:   npm run bench -- --proto /tmp/proto-tunnel --rows ssh,proto-naive,proto-coalesce
 */
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { Client } from "ssh2";
import { coalesceWrites } from "../src/tunnel/transport.ts";

const [sshPort, key, user, localPort, targetPort, mode = "naive"] = process.argv.slice(2);
// "onread" modes: the SSH socket reads into one reused buffer (no allocation per read).
let handshakeDone = false;
const readBuf = Buffer.allocUnsafe(Number(process.env.READ_KIB ?? 64) * 1024);
const raw = mode.startsWith("onread")
  ? connect({
      host: "127.0.0.1",
      port: Number(sshPort),
      onread: {
        buffer: readBuf,
        callback: (n: number, b: Buffer) => {
          raw.emit("data", handshakeDone ? b.subarray(0, n) : Buffer.from(b.subarray(0, n)));
          return true;
        },
      },
    } as never)
  : connect({ host: "127.0.0.1", port: Number(sshPort) });
raw.once("connect", () => {
  raw.setNoDelay(true);
  const sock =
    mode === "naive"
      ? raw
      : mode === "imm" || mode === "imm2"
        ? coalesceWrites(raw, undefined, (f) => setImmediate(f))
        : coalesceWrites(raw);
  const gcEvery = Number(process.env.GC_MIB ?? 16) * 2 ** 20;
  if (mode === "gc" || mode === "gcsync" || mode === "onread-gc") {
    let n = 0;
    raw.on("data", (b: Buffer) => {
      n += b.length;
      if (n >= gcEvery) {
        n = 0;
        Bun.gc(mode === "gcsync");
      }
    });
  }
  const client = new Client();
  client.once("handshake", () => {
    handshakeDone = true;
  });
  client.on("error", (e) => {
    console.error(e.message);
    process.exit(1);
  });
  client.on("ready", () => {
    createServer((s) => {
      s.setNoDelay(true);
      if (mode === "coalesce2") coalesceWrites(s);
      if (mode === "imm2") coalesceWrites(s, undefined, (f) => setImmediate(f));
      s.pause();
      client.forwardOut("127.0.0.1", s.remotePort ?? 0, "127.0.0.1", Number(targetPort), (err, ch) => {
        if (err) return s.destroy();
        s.pipe(ch).pipe(s);
        s.on("error", () => ch.destroy());
        ch.on("error", () => s.destroy());
        s.on("close", () => ch.destroy());
        ch.on("close", () => s.destroy());
        s.resume();
      });
    }).listen(Number(localPort), "127.0.0.1");
  });
  client.connect({
    sock,
    username: user,
    privateKey: readFileSync(key),
    hostVerifier: () => true,
  });
});
// A clean exit on SIGINT/SIGTERM lets --cpu-prof write its profile.
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => process.exit(0));
if (process.env.MEM_LOG) {
  setInterval(() => {
    const m = process.memoryUsage();
    const mb = (x: number) => (x / 2 ** 20).toFixed(1);
    console.error(`rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} ab ${mb(m.arrayBuffers)}`);
  }, 100).unref();
}
