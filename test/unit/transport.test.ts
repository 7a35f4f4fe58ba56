import { afterEach, describe, expect, test } from "bun:test";
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

/** Counts `client`'s uncork() calls (each is one flush of corked writes). */
function countUncorks(client: Socket): { n: number } {
  const count = { n: 0 };
  const uncork = client.uncork.bind(client);
  client.uncork = () => {
    count.n++;
    uncork();
  };
  return count;
}

describe("coalesceWrites", () => {
  test("keeps the bytes and their order across one turn's writes", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write(Buffer.from("len:"));
    client.write(Buffer.from("ciphertext"));
    client.write("tag");
    expect((await received(17)).toString()).toBe("len:ciphertexttag");
  });

  test("uncorks once per event-loop turn, however many writes that turn made", async () => {
    const { client, received } = await pair();
    const uncorks = countUncorks(client);
    coalesceWrites(client);
    for (let i = 0; i < 10; i++) client.write(Buffer.from([i]));
    expect(uncorks.n).toBe(0);
    await received(10);
    expect(uncorks.n).toBe(1);
  });

  test("writes from separate callbacks of one turn share a flush", async () => {
    const { client, received } = await pair();
    const uncorks = countUncorks(client);
    coalesceWrites(client);
    process.nextTick(() => client.write("a"));
    process.nextTick(() => client.write("b"));
    expect((await received(2)).toString()).toBe("ab");
    expect(uncorks.n).toBe(1);
  });

  test("a write in a later turn is flushed on its own, without waiting for more writes", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write("a");
    await received(1);
    await new Promise((r) => setTimeout(r, 0));
    client.write("b");
    expect((await received(2)).toString()).toBe("ab");
  });

  test("returns the socket's own write() result and calls the write callback", async () => {
    const { client } = await pair();
    coalesceWrites(client);
    const done = new Promise<void>((r) => client.write("x", () => r()));
    expect(typeof client.write("y")).toBe("boolean");
    await done;
  });

  test("end() in the same turn as writes still delivers them", async () => {
    const { client, received } = await pair();
    coalesceWrites(client);
    client.write("bye");
    client.end();
    expect((await received(3)).toString()).toBe("bye");
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

  test("read chunks freed as they were written (splice.ts) do not count; what was freed before does not either", () => {
    const moved = { read: 0, written: 0 };
    let freed = 1000;
    const calls: boolean[] = [];
    const check = reclaimer(
      fakeSock(moved),
      (sync) => calls.push(sync),
      100,
      () => freed,
    );
    moved.read = 250;
    freed += 200;
    check();
    expect(calls).toEqual([]);
    moved.read = 400;
    check();
    expect(calls).toEqual([false]);
  });

  test("coalesceWrites runs the check once per flush", async () => {
    const { client, received } = await pair();
    let checks = 0;
    coalesceWrites(client, () => checks++);
    client.write("a");
    client.write("b");
    await received(2);
    expect(checks).toBe(1);
  });
});
