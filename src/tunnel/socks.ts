/**
 * A minimal SOCKS server side (RFC 1928 SOCKS5 CONNECT without auth, and
 * SOCKS4/4a CONNECT), enough for ssh -D parity. It only parses the request;
 * the caller opens the channel and calls reply().
 */
import type { Socket } from "node:net";

export interface SocksRequest {
  host: string;
  port: number;
  /** Answer the client: success, or failure (then the socket is closed). */
  reply(ok: boolean): void;
}

const SOCKS5_REPLY_FAIL = 0x05; // connection refused
const SOCKS4_GRANTED = 0x5a;
const SOCKS4_REJECTED = 0x5b;

/** Reads the SOCKS handshake from `sock`; resolves with the CONNECT target or rejects. */
export function readSocksRequest(sock: Socket): Promise<SocksRequest> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let stage: "hello" | "request" = "hello";
    const fail = (why: string) => {
      sock.removeListener("data", onData);
      sock.destroy();
      reject(new Error(why));
    };
    const done = (req: SocksRequest, rest: Buffer) => {
      // Stop the flow first: bytes sent right after the request must wait for the channel.
      sock.pause();
      sock.removeListener("data", onData);
      if (rest.length > 0) sock.unshift(rest);
      resolve(req);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (buf.length > 1024) return fail("SOCKS request too long");
      const version = buf[0];
      if (version === 4) return parse4();
      if (version !== 5) return fail("not a SOCKS4/5 client");
      if (stage === "hello") {
        if (buf.length < 2) return;
        const n = buf[1]!;
        if (buf.length < 2 + n) return;
        const methods = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        if (!methods.includes(0)) {
          sock.end(Buffer.from([5, 0xff]));
          return fail("SOCKS5 client offers no no-auth method");
        }
        sock.write(Buffer.from([5, 0]));
        stage = "request";
        if (buf.length === 0) return;
      }
      parse5();
    };
    const parse5 = () => {
      if (buf.length < 4) return;
      const cmd = buf[1];
      const atyp = buf[3];
      let host: string;
      let off: number;
      if (atyp === 1) {
        if (buf.length < 10) return;
        host = Array.from(buf.subarray(4, 8)).join(".");
        off = 8;
      } else if (atyp === 3) {
        if (buf.length < 5) return;
        const len = buf[4]!;
        if (buf.length < 5 + len + 2) return;
        host = buf.subarray(5, 5 + len).toString("utf8");
        off = 5 + len;
      } else if (atyp === 4) {
        if (buf.length < 22) return;
        const parts: string[] = [];
        for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(4 + i).toString(16));
        host = parts.join(":");
        off = 20;
      } else {
        return fail("bad SOCKS5 address type");
      }
      const port = buf.readUInt16BE(off);
      const rest = buf.subarray(off + 2);
      if (cmd !== 1) {
        sock.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
        return fail("only SOCKS CONNECT is supported");
      }
      done(
        {
          host,
          port,
          reply(ok) {
            const code = ok ? 0 : SOCKS5_REPLY_FAIL;
            const msg = Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
            if (ok) sock.write(msg);
            else sock.end(msg);
          },
        },
        rest,
      );
    };
    const parse4 = () => {
      // VN CD DSTPORT(2) DSTIP(4) USERID\0 [HOST\0 for 4a]
      if (buf.length < 9) return;
      const userEnd = buf.indexOf(0, 8);
      if (userEnd < 0) return;
      const ip = buf.subarray(4, 8);
      const port = buf.readUInt16BE(2);
      let host = Array.from(ip).join(".");
      let end = userEnd + 1;
      const is4a = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
      if (is4a) {
        const hostEnd = buf.indexOf(0, end);
        if (hostEnd < 0) return;
        host = buf.subarray(end, hostEnd).toString("utf8");
        end = hostEnd + 1;
      }
      if (buf[1] !== 1) return fail("only SOCKS CONNECT is supported");
      done(
        {
          host,
          port,
          reply(ok) {
            const msg = Buffer.from([0, ok ? SOCKS4_GRANTED : SOCKS4_REJECTED, 0, 0, 0, 0, 0, 0]);
            if (ok) sock.write(msg);
            else sock.end(msg);
          },
        },
        buf.subarray(end),
      );
    };
    sock.on("data", onData);
    sock.once("close", () => reject(new Error("client closed before SOCKS request")));
  });
}
