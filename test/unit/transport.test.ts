import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { coalesceWrites, reclaimer } from "../../src/tunnel/transport.ts";

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.close();
  server = undefined;
});

/** A loopback pair: `client` is ours, `received` resolves once `n` bytes reached the server. */
async function pair(): Promise<{ client: Socket; received: (n: number) => Promise<Buffer> }> {
  let all = Buffer.alloc(0);
  let waiting: { n: number; resolve: (b: Buffer) => void } | undefined;
  const check = () => {
    if (waiting && all.length >= waiting.n) {
      waiting.resolve(all);
      waiting = undefined;
    }
  };
  server = createServer((s) => {
    sockets.push(s);
    s.on("data", (b: Buffer) => {
      all = Buffer.concat([all, b]);
      check();
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: "127.0.0.1", port });
  sockets.push(client);
  await new Promise<void>((r) => client.once("connect", r));
  return {
    client,
    received: (n) =>
      new Promise((resolve) => {
        waiting = { n, resolve };
        check();
      }),
  };
}

const b = (s: string) => Buffer.from(s);

/** A schedule() for coalesceWrites that counts the flushes it was asked for. */
function counted() {
  const n = { flushes: 0 };
  const schedule = (f: () => void) => {
    n.flushes++;
    setImmediate(f);
  };
  return { n, schedule };
}

/** Counts what went through the socket's Writable (_write/_writev) rather than around it. */
function streamWrites(sock: Socket) {
  const n = { stream: 0 };
  const s = sock as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const k of ["_write", "_writev"]) {
    const f = s[k];
    if (typeof f === "function")
      s[k] = function (this: unknown, ...a: unknown[]) {
        n.stream++;
        return f.apply(this, a);
      };
  }
  return n;
}

describe("coalesceWrites", () => {
  test("keeps the bytes and their order across one turn's writes, a string among them", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write(b("len:"));
    client.write(b("ciphertext"));
    client.write("tag");
    client.write(b("!"));
    expect((await received(18)).toString()).toBe("len:ciphertexttag!");
  });

  test("one flush per event-loop turn, however many writes that turn made", async () => {
    const { client, received } = await pair();
    const { n, schedule } = counted();
    coalesceWrites(client, undefined, schedule);
    for (let i = 0; i < 10; i++) client.write(Buffer.from([48 + i]));
    expect(n.flushes).toBe(1);
    expect((await received(10)).toString()).toBe("0123456789");
    expect(n.flushes).toBe(1);
  });

  test("writes from separate callbacks of one turn share a flush", async () => {
    const { client, received } = await pair();
    const { n, schedule } = counted();
    coalesceWrites(client, undefined, schedule);
    process.nextTick(() => client.write(b("a")));
    process.nextTick(() => client.write(b("b")));
    expect((await received(2)).toString()).toBe("ab");
    expect(n.flushes).toBe(1);
  });

  test("a write in a later turn is flushed on its own, without waiting for more writes", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write(b("a"));
    await received(1);
    await new Promise((r) => setTimeout(r, 0));
    client.write(b("b"));
    expect((await received(2)).toString()).toBe("ab");
  });

  test("returns a boolean and calls a write's callback", async () => {
    const { client } = await pair();
    coalesceWrites(client);
    const done = new Promise<void>((r) => client.write("x", () => r()));
    expect(typeof client.write(b("y"))).toBe("boolean");
    await done;
  });

  test("end() in the same turn as writes still delivers them", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write(b("by"));
    client.write(b("e"));
    client.end();
    expect((await received(3)).toString()).toBe("bye");
  });

  test("a socket destroyed before the flush drops the turn's writes, without an error", async () => {
    const { client } = await pair();
    coalesceWrites(client);
    let error: unknown;
    client.on("error", (e) => (error = e));
    client.write(b("lost"));
    client.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(error).toBeUndefined();
  });

  test.skipIf(!("Bun" in globalThis) || process.platform !== "linux")(
    "under Bun on Linux a turn's buffers leave around the Writable, and bytesWritten counts them",
    async () => {
      const { client, received } = await pair();
      const n = streamWrites(client);
      coalesceWrites(client);
      client.write(b("len:"));
      client.write(b("ciphertext"));
      client.write(b("tag"));
      expect(client.bytesWritten).toBe(17);
      expect((await received(17)).toString()).toBe("len:ciphertexttag");
      await new Promise((r) => setTimeout(r, 0));
      client.write(b("one"));
      expect((await received(20)).toString()).toBe("len:ciphertexttagone");
      // Both turns left without the stream: removing sendNow() makes this 2.
      expect(n.stream).toBe(0);
      expect(client.bytesWritten).toBe(20);
    },
  );

  test("a reader that does not read: the rest waits in the Writable, later turns go behind it, every byte counted once", async () => {
    const got: Buffer[] = [];
    let reader!: Socket;
    server = createServer((s) => {
      sockets.push(s);
      reader = s;
      s.pause();
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const client = connect({
      host: "127.0.0.1",
      port: (server.address() as { port: number }).port,
    });
    sockets.push(client);
    await new Promise<void>((r) => client.once("connect", r));
    coalesceWrites(client);
    const parts = [randomBytes(3 * 2 ** 20), randomBytes(10), randomBytes(5 * 2 ** 20)];
    for (const p of parts) client.write(p);
    await new Promise((r) => setTimeout(r, 20));
    expect(client.writableLength).toBeGreaterThan(0);
    const tail = [b("tail-1"), b("tail-2")];
    for (const t of tail) client.write(t);
    await new Promise((r) => setTimeout(r, 20));
    const all = Buffer.concat([...parts, ...tail]);
    expect(client.bytesWritten).toBe(all.length);
    const done = new Promise<void>((r) => reader.once("end", () => r()));
    reader.on("data", (d: Buffer) => got.push(Buffer.from(d)));
    reader.resume();
    await new Promise((r) => client.once("drain", r));
    client.end();
    await done;
    expect(Buffer.concat(got).equals(all)).toBe(true);
    expect(client.bytesWritten).toBe(all.length);
  });
});

describe("reclaimer", () => {
  const fakeSock = (moved: { read: number; written: number }) =>
    ({
      get bytesRead() {
        return moved.read;
      },
      get bytesWritten() {
        return moved.written;
      },
    }) as unknown as Socket;

  test("collects once per `every` bytes moved, counting both directions, never blocking", () => {
    const moved = { read: 0, written: 0 };
    const calls: boolean[] = [];
    const check = reclaimer(fakeSock(moved), (sync) => calls.push(sync), 100);
    check();
    expect(calls).toEqual([]);
    moved.read = 60;
    check();
    expect(calls).toEqual([]);
    moved.written = 40;
    check();
    expect(calls).toEqual([false]);
    moved.read = 150;
    check();
    expect(calls).toEqual([false]);
    moved.read = 500;
    check();
    expect(calls).toEqual([false, false]);
  });

  test("coalesceWrites runs the check once per flush", async () => {
    const { client, received } = await pair();
    let checks = 0;
    coalesceWrites(client, () => checks++);
    client.write(b("a"));
    client.write(b("b"));
    await received(2);
    expect(checks).toBe(1);
  });
});
