/**
 * What answers at the far end of a forward, from the first bytes it sends.
 * Pure: bytes in, a recognised service out; plus the two probes sent to
 * services that wait for the client to speak first (HTTP, TLS).
 */
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";

export type Service =
  | { kind: "ssh"; banner: string }
  | { kind: "http"; status: string }
  | { kind: "tls"; detail: string }
  | { kind: "text"; line: string }
  | { kind: "binary"; hex: string };

const firstLine = (b: Buffer) => b.toString("latin1").split(/\r?\n/)[0]!.slice(0, 120);
const printable = (s: string) => /^[\x20-\x7e\t]*$/.test(s);

export function recognise(b: Buffer): Service {
  const line = firstLine(b);
  if (line.startsWith("SSH-")) return { kind: "ssh", banner: line };
  if (/^HTTP\/\d(\.\d)? \d{3}/.test(line)) return { kind: "http", status: line };
  if ((b[0] === 0x16 || b[0] === 0x15) && b[1] === 0x03 && (b[2] ?? 9) <= 0x04) {
    if (b[0] === 0x15) return { kind: "tls", detail: "answered with an alert" };
    return {
      kind: "tls",
      detail: b[5] === 0x02 ? "answered with a ServerHello" : "answered with a handshake",
    };
  }
  if (line.length > 0 && printable(line)) return { kind: "text", line };
  return { kind: "binary", hex: b.subarray(0, 16).toString("hex") };
}

export function describe(s: Service): string {
  switch (s.kind) {
    case "ssh":
      return `an SSH server (${s.banner})`;
    case "http":
      return `an HTTP server (${s.status})`;
    case "tls":
      return `a TLS server (${s.detail})`;
    case "text":
      return `a service that says "${s.line}"`;
    case "binary":
      return `a binary protocol (first bytes ${s.hex})`;
  }
}

/** A HEAD request: harmless, and any HTTP server answers it with a status line. */
export function httpProbe(host: string, port: number): Buffer {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return Buffer.from(
    `HEAD / HTTP/1.1\r\nHost: ${h}:${port}\r\nUser-Agent: fwd-check\r\nConnection: close\r\n\r\n`,
  );
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const ext = (type: number, body: Buffer) => Buffer.concat([u16(type), vec16(body)]);

/** A minimal TLS 1.2 ClientHello (SNI when the host is a name): any TLS server answers it. */
export function tlsProbe(host: string): Buffer {
  const suites = [0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009c, 0x009d, 0x002f, 0x0035];
  const exts = [
    ext(0x000a, vec16(Buffer.concat([0x001d, 0x0017, 0x0018].map(u16)))), // supported_groups
    ext(0x000b, Buffer.from([1, 0])), // ec_point_formats: uncompressed
    ext(
      0x000d,
      vec16(
        Buffer.concat([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601].map(u16)),
      ),
    ),
  ];
  if (!isIP(host)) {
    const name = Buffer.from(host);
    exts.push(ext(0x0000, vec16(Buffer.concat([Buffer.from([0]), vec16(name)]))));
  }
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    randomBytes(32),
    Buffer.from([0]), // session id
    vec16(Buffer.concat(suites.map(u16))),
    Buffer.from([1, 0]), // compression: null
    vec16(Buffer.concat(exts)),
  ]);
  const hs = Buffer.concat([
    Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}
