/**
 * Bulk data with a known checksum, for transfers through a tunnel: `blocks`
 * MiB blocks of a fixed pattern, written as fast as a socket takes them
 * (pour), and everything a socket brings until its end, counted and hashed
 * (drink).
 */
import { createHash } from "node:crypto";
import type { Socket } from "node:net";

export const MiB = 2 ** 20;
const block = (i: number) => Buffer.alloc(MiB, (i * 37) % 251);

/** What drink() must return for `blocks` poured blocks. */
export function poured(blocks: number): { n: number; sha: string } {
  const h = createHash("sha256");
  for (let i = 0; i < blocks; i++) h.update(block(i));
  return { n: blocks * MiB, sha: h.digest("hex") };
}

/** Writes the blocks as fast as `sock` takes them, then ends it; `taken` runs as the kernel accepts each. */
export function pour(sock: Socket, blocks: number, taken: () => void = () => {}): void {
  let i = 0;
  const more = () => {
    while (i < blocks) {
      if (!sock.write(block(i++), taken)) return void sock.once("drain", more);
    }
    sock.end();
  };
  more();
}

/** All `sock` brings until its end: byte count and sha256. */
export function drink(sock: Socket): Promise<{ n: number; sha: string }> {
  const got = createHash("sha256");
  let n = 0;
  sock.on("data", (b: Buffer) => {
    n += b.length;
    got.update(b);
  });
  const done = new Promise<{ n: number; sha: string }>((r) =>
    sock.on("end", () => r({ n, sha: got.digest("hex") })),
  );
  sock.resume();
  return done;
}
