import { afterEach, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { directPush, directReads, writeAll, writeDirect } from "../../src/tunnel/bunsocket.ts";

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair on loopback: [client side, server side]. */
async function pair(): Promise<[Socket, Socket]> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => {
    accepted = r;
  });
  const server = createServer({ allowHalfOpen: true }, (s) => accepted(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await new Promise((r) => client.once("connect", r));
  return [client, await got];
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Lets a paused reader read, waits for the writer's "drain", ends it: all the reader got. */
async function drainToEnd(writer: Socket, reader: Socket): Promise<Buffer> {
  const drained = new Promise((r) => writer.once("drain", r));
  const got = collect(reader);
  reader.resume();
  await drained;
  writer.end();
  return got;
}

function collect(sock: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  sock.on("data", (b: Buffer) => parts.push(Buffer.from(b)));
  return new Promise((r) => sock.once("end", () => r(Buffer.concat(parts))));
}

describe("directReads", () => {
  test("takes over a connected Bun socket: data skips push(), in order, counted, then end", async () => {
    const [client, server] = await pair();
    expect(directReads(client)).toBe(true);
    let pushes = 0;
    const push = client.push;
    client.push = function (this: Socket, ...args: Parameters<Socket["push"]>) {
      if (args[0] !== null) pushes++;
      return push.apply(this, args);
    };
    const body = randomBytes(4 * 2 ** 20);
    const got = collect(client);
    server.end(body);
    const all = await got;
    expect(sha(all)).toBe(sha(body));
    expect(client.bytesRead).toBe(body.length);
    // Nothing was buffered ahead of the first chunk, so none took the stream path.
    expect(pushes).toBe(0);
    client.destroy();
  });

  test("while paused, chunks queue in the Readable and come out first, in order", async () => {
    const [client, server] = await pair();
    expect(directReads(client)).toBe(true);
    client.pause();
    const first = randomBytes(300_000);
    server.write(first);
    // Let the paused socket take what it will before resuming.
    await Bun.sleep(50);
    const second = randomBytes(3 * 2 ** 20);
    const got = collect(client);
    client.resume();
    server.end(second);
    const all = await got;
    expect(sha(all)).toBe(sha(Buffer.concat([first, second])));
    client.destroy();
  });

  test("declines what is not a Bun node:net socket", () => {
    const { PassThrough } = require("node:stream") as typeof import("node:stream");
    expect(directReads(new PassThrough() as unknown as Socket)).toBe(false);
  });
});

describe.skipIf(!("Bun" in globalThis))("directPush", () => {
  /** Counts the chunks that still took Readable.push (installed before directPush, so under it). */
  function viaPush(sock: Socket) {
    const n = { chunks: 0 };
    const push = sock.push;
    sock.push = function (this: Socket, ...args: Parameters<Socket["push"]>) {
      if (args[0] !== null) n.chunks++;
      return push.apply(this, args);
    };
    return n;
  }

  test("an accepted socket: flowing chunks skip Readable.push, in order, then end", async () => {
    const [client, server] = await pair();
    const n = viaPush(server);
    directPush(server);
    const body = randomBytes(4 * 2 ** 20);
    const got = collect(server);
    client.end(body);
    expect(sha(await got)).toBe(sha(body));
    // Removing directPush makes this the number of reads.
    expect(n.chunks).toBe(0);
    server.destroy();
  });

  test("while paused, chunks queue in the Readable and come out first, in order", async () => {
    const [client, server] = await pair();
    const n = viaPush(server);
    directPush(server);
    const parts: Buffer[] = [];
    server.on("data", (b: Buffer) => parts.push(Buffer.from(b)));
    server.pause();
    const first = randomBytes(300_000);
    client.write(first);
    await Bun.sleep(50);
    const second = randomBytes(3 * 2 ** 20);
    const ended = new Promise((r) => server.once("end", r));
    server.resume();
    client.end(second);
    await ended;
    expect(sha(Buffer.concat(parts))).toBe(sha(Buffer.concat([first, second])));
    // The paused part took the stream's own path.
    expect(n.chunks).toBeGreaterThan(0);
    server.destroy();
  });
});

describe("writeDirect", () => {
  test("a reader that does not read: the rest is queued, false, then drain, and every byte in order", async () => {
    const [client, server] = await pair();
    server.pause();
    const parts = [randomBytes(1000), randomBytes(16 * 2 ** 20), randomBytes(70_000)];
    const results = parts.map((p) => writeDirect(client, p));
    expect(results[0]).toBe(true);
    // 16 MiB does not fit in loopback's buffers: the tail waits in the Writable.
    expect(results[1]).toBe(false);
    expect(client.writableLength).toBeGreaterThan(0);
    expect(sha(await drainToEnd(client, server))).toBe(sha(Buffer.concat(parts)));
    server.destroy();
  });

  test("goes behind whatever write() already queued", async () => {
    const [client, server] = await pair();
    client.cork();
    client.write("a");
    expect(writeDirect(client, Buffer.from("b"))).toBe(true);
    client.uncork();
    expect(writeDirect(client, Buffer.from("c"))).toBe(true);
    const got = collect(server);
    client.end();
    expect((await got).toString()).toBe("abc");
    server.destroy();
  });

  test("writes straight to the native socket when nothing is queued", async () => {
    const [client, server] = await pair();
    let viaStream = 0;
    const write = client.write;
    client.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
      viaStream++;
      return write.apply(this, args);
    } as Socket["write"];
    const got = collect(server);
    for (let i = 0; i < 10; i++) expect(writeDirect(client, Buffer.from(`${i},`))).toBe(true);
    expect(viaStream).toBe(0);
    client.end();
    expect((await got).toString()).toBe("0,1,2,3,4,5,6,7,8,9,");
    server.destroy();
  });
});

describe.skipIf(process.platform !== "linux")("writeAll", () => {
  /** Counts the writes that went through Bun's socket (native or stream) instead of one sendmsg. */
  function spy(sock: Socket) {
    const n = { native: 0, stream: 0 };
    const native = (sock as unknown as { _handle: { write(b: Uint8Array): number } })._handle;
    const nativeWrite = native.write.bind(native);
    native.write = (b: Uint8Array) => {
      n.native++;
      return nativeWrite(b);
    };
    const write = sock.write;
    sock.write = function (this: Socket, ...args: Parameters<Socket["write"]>) {
      n.stream++;
      return write.apply(this, args);
    } as Socket["write"];
    return n;
  }

  test("several buffers, pieces of one chunk and others: one gathered send, in order", async () => {
    const [client, server] = await pair();
    const n = spy(client);
    const chunk = randomBytes(200_000);
    const bufs = [
      chunk.subarray(0, 1000),
      chunk.subarray(5000, 70_000),
      Buffer.from("in between"),
      chunk.subarray(100_000, 100_001),
      new Uint8Array(randomBytes(300)) as Buffer, // bytes still in the JS heap
    ];
    const got = collect(server);
    expect(writeAll(client, bufs)).toBe(true);
    expect(n).toEqual({ native: 0, stream: 0 });
    client.end();
    expect(sha(await got)).toBe(sha(Buffer.concat(bufs)));
    server.destroy();
  });

  test("more buffers than one sendmsg takes (64): still all, in order", async () => {
    const [client, server] = await pair();
    const bufs = Array.from({ length: 150 }, (_, i) => randomBytes(1 + ((i * 37) % 500)));
    const got = collect(server);
    expect(writeAll(client, bufs)).toBe(true);
    client.end();
    expect(sha(await got)).toBe(sha(Buffer.concat(bufs)));
    server.destroy();
  });

  test("a reader that does not read: the kernel takes part, the rest waits in order, false, then drain", async () => {
    const [client, server] = await pair();
    server.pause();
    const bufs = [
      randomBytes(3 * 2 ** 20),
      randomBytes(10),
      randomBytes(5 * 2 ** 20),
      randomBytes(77),
    ];
    expect(writeAll(client, bufs)).toBe(false);
    expect(client.writableLength).toBeGreaterThan(0);
    // Queued behind the rest, not ahead of it.
    expect(writeAll(client, [Buffer.from("tail-1"), Buffer.from("tail-2")])).toBe(false);
    const all = Buffer.concat([...bufs, Buffer.from("tail-1tail-2")]);
    expect(sha(await drainToEnd(client, server))).toBe(sha(all));
    server.destroy();
  });

  test("a peer that is gone: no signal, no throw; the socket reports the error as write() would", async () => {
    const [client, server] = await pair();
    server.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    const failed = new Promise<Error | undefined>((r) => {
      client.once("error", r);
      client.once("close", () => r(undefined));
    });
    for (let i = 0; i < 3; i++) writeAll(client, [randomBytes(100_000), randomBytes(100_000)]);
    await failed;
    expect(client.destroyed).toBe(true);
  });
});
