import { afterEach, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { readSocksRequest } from "../../src/tunnel/socks.ts";

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that parses one SOCKS request and answers ok; returns what it parsed and what the client got back. */
async function roundTrip(
  bytes: number[][],
  replyLen: number,
): Promise<{ host: string; port: number; reply: Buffer }> {
  let parsed: { host: string; port: number } | undefined;
  server = createServer((sock) => {
    readSocksRequest(sock).then((req) => {
      parsed = { host: req.host, port: req.port };
      req.reply(true);
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const client: Socket = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  client.on("data", (b: Buffer) => chunks.push(b));
  await new Promise((r) => client.once("connect", r));
  for (const b of bytes) {
    client.write(Buffer.from(b));
    await Bun.sleep(5);
  }
  const deadline = Date.now() + 2000;
  while ((!parsed || Buffer.concat(chunks).length < replyLen) && Date.now() < deadline)
    await Bun.sleep(5);
  client.destroy();
  return { ...parsed!, reply: Buffer.concat(chunks) };
}

const domain = (name: string) => [...Buffer.from(name)];

describe("SOCKS request parsing", () => {
  test("SOCKS5 CONNECT to a domain name keeps the name unresolved", async () => {
    const r = await roundTrip(
      [
        [5, 1, 0],
        [5, 1, 0, 3, 11, ...domain("target-host"), 0x1f, 0x90],
      ],
      12,
    );
    expect(r.host).toBe("target-host");
    expect(r.port).toBe(8080);
    expect([...r.reply.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
  });

  test("SOCKS5 CONNECT to IPv4, hello and request in one packet", async () => {
    const r = await roundTrip([[5, 1, 0, 5, 1, 0, 1, 203, 0, 113, 5, 0, 22]], 12);
    expect(r).toMatchObject({ host: "203.0.113.5", port: 22 });
  });

  test("SOCKS5 CONNECT to IPv6", async () => {
    const r = await roundTrip(
      [
        [5, 1, 0],
        [5, 1, 0, 4, ...Array(15).fill(0), 1, 0, 80],
      ],
      12,
    );
    expect(r).toMatchObject({ host: "0:0:0:0:0:0:0:1", port: 80 });
  });

  test("SOCKS4a carries the name to the far side", async () => {
    const r = await roundTrip(
      [[4, 1, 0, 22, 0, 0, 0, 1, ...domain("u"), 0, ...domain("target-host"), 0]],
      8,
    );
    expect(r).toMatchObject({ host: "target-host", port: 22 });
    expect(r.reply[1]).toBe(0x5a);
  });

  test("SOCKS4 with an IPv4 address", async () => {
    const r = await roundTrip([[4, 1, 0, 80, 127, 0, 0, 1, 0]], 8);
    expect(r).toMatchObject({ host: "127.0.0.1", port: 80 });
  });
});
