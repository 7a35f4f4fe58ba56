import { createServer, type Server } from "node:http";

export const DEMO_BODY = "Hello World, This server is TARGET-HOST.";

/** The seed's web target: answers every request with one line. */
export function startHttpTarget(
  host = "127.0.0.1",
  body = DEMO_BODY,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, {
      "content-type": "text/plain",
      "content-length": Buffer.byteLength(`${body}\n`),
    });
    res.end(`${body}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      const a = server.address();
      resolve({
        port: typeof a === "object" && a ? a.port : 0,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}
