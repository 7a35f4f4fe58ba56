import { closeSync, openSync, readFileSync, readSync, type Stats, statSync } from "node:fs";
import type { Ctx } from "../context.ts";
import { daemonFiles } from "../daemon/state.ts";
import { FwdError } from "../errors.ts";

const POLL_MS = 200;

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Bytes of `path` from `from` to its end ("" if it is gone). */
function readFrom(path: string, from: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    let pos = from;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/** `fwd logs NAME [-f]`: the rotated log (NAME.log.1) then the current one; -f keeps following, across rotation. */
export async function logsCommand(ctx: Ctx, name: string, follow: boolean): Promise<number> {
  const { log } = daemonFiles(ctx.paths.stateDir, name);
  const old = `${log}.1`;
  if (!statOf(log) && !statOf(old)) {
    throw new FwdError(
      "not-running",
      `no log for ${name}`,
      `a log is written by background runs: fwd run -d ${name}`,
    );
  }
  try {
    ctx.stdout.write(readFileSync(old));
  } catch {}
  let cur = statOf(log);
  let offset = 0;
  if (cur) {
    const text = readFrom(log, 0);
    ctx.stdout.write(text);
    offset = text.length;
  }
  if (!follow) return 0;

  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = statOf(log);
      if (cur && (!now || now.ino !== cur.ino || now.size < offset)) {
        // Rotated: finish the old file (now NAME.log.1), then start the new one from 0.
        if (now?.ino !== cur.ino) ctx.stdout.write(readFrom(old, offset));
        offset = 0;
      }
      cur = now;
      if (!now || now.size <= offset) return;
      const more = readFrom(log, offset);
      ctx.stdout.write(more);
      offset += more.length;
    }, POLL_MS);
    const end = () => {
      clearInterval(timer);
      process.off("SIGINT", end);
      process.off("SIGTERM", end);
      resolve(0);
    };
    process.on("SIGINT", end);
    process.on("SIGTERM", end);
  });
}
