import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { ASK_FD_ENV, serveRelay } from "../../src/daemon/relay.ts";

const child = join(import.meta.dir, "../helpers/daemon-relay-child.ts");

function run(withPipe: boolean, asked: string[]): Promise<string[]> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [child], {
      stdio: withPipe ? ["ignore", "pipe", "inherit", "pipe"] : ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...(withPipe ? { [ASK_FD_ENV]: "3" } : {}) },
    });
    if (withPipe) {
      const pipe = p.stdio[3] as Duplex;
      serveRelay(
        pipe,
        pipe,
        {
          passphrase: async (path) => {
            asked.push(`passphrase ${path}`);
            return "s3cret";
          },
          hostKey: async (q) => {
            asked.push(`hostkey ${q.host} ${q.fingerprint} ${q.keyType}`);
            return true;
          },
        },
        () => {},
      );
    }
    let out = "";
    p.stdout?.on("data", (b) => {
      out += b;
    });
    p.on("close", () => res(out.trim().split("\n")));
  });
}

describe("question relay between a background child and its run -d", () => {
  test("questions go to the parent; a passphrase is asked once, then remembered in memory", async () => {
    const asked: string[] = [];
    expect(await run(true, asked)).toEqual([
      '"s3cret"',
      '"s3cret"',
      "true",
      // After close(): no one to ask; a known passphrase still serves a reconnect.
      "null",
      '"s3cret"',
    ]);
    expect(asked).toEqual(["passphrase /keys/a", "hostkey bastion SHA256:x ED25519"]);
  });

  test("without the fd the child has no relay", async () => {
    expect(await run(false, [])).toEqual(['"no relay"']);
  });
});
