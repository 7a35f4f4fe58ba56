/**
 * `fwd demo`: the seed on loopback with nothing installed. An in-process SSH
 * server plays the bastion (it alone resolves "target-host"), a web server
 * plays the target; `fwd init`'s writer writes the Host, `fwd run`'s engine
 * opens the forward, and the page is fetched through it. Host keys are
 * verified against a known_hosts written for the demo, as a real run would.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Ctx } from "../context.ts";
import { generateKey, startBastion } from "../demo/bastion.ts";
import { startHttpTarget } from "../demo/target.ts";
import { FwdError } from "../errors.ts";
import { fingerprint } from "../knownhosts/key.ts";
import { resolvePaths } from "../paths.ts";
import { initCommand } from "./init.ts";
import { forwardLines, openNamed } from "./run.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const discard = () =>
  new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;

export async function demoCommand(ctx: Ctx): Promise<number> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "fwd-demo-"));
  const undo: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const sshDir = join(dir, ".ssh");
    mkdirSync(sshDir, { mode: 0o700 });
    const target = await startHttpTarget();
    undo.push(() => target.close());

    const hostKey = generateKey();
    const clientKey = generateKey();
    const keyPath = join(sshDir, "id_ed25519");
    writeFileSync(keyPath, clientKey.private, { mode: 0o600 });
    writeFileSync(`${keyPath}.pub`, `${clientKey.public}\n`, { mode: 0o644 });
    const bastion = await startBastion({
      user: "bastion_user",
      authorizedKey: clientKey.public,
      hostKeyPrivate: hostKey.private,
      hosts: { "target-host": "127.0.0.1" },
    });
    undo.push(() => bastion.close());
    writeFileSync(
      join(sshDir, "known_hosts"),
      `[127.0.0.1]:${bastion.port} ${bastion.hostKeyPublic}\n`,
      { mode: 0o600 },
    );

    // A private HOME: the demo never reads or writes the user's ~/.ssh or agent.
    const env = {
      PATH: ctx.env.PATH,
      HOME: dir,
      USER: "demo",
      FWD_STATE_DIR: join(dir, "state"),
      FWD_SYSTEM_CONFIG: "none",
    };
    const configFile = join(sshDir, "config");
    const demoCtx: Ctx = {
      ...ctx,
      env,
      paths: resolvePaths(env),
      configFile,
      interactive: false,
      quiet: true,
      stdout: discard(),
      stderr: discard(),
    };
    const localPort = await freePort();
    await initCommand(demoCtx, {
      name: "forward1",
      bastion: `bastion_user@127.0.0.1:${bastion.port}`,
      identity: keyPath,
      target: `target-host:${target.port}`,
      local: String(localPort),
      yes: true,
    });

    const { plan, handle } = await openNamed(
      demoCtx,
      "forward1",
      {
        background: false,
        acceptNew: false,
        options: [],
        local: [],
        remote: [],
        dynamic: [],
        daemonChild: false,
      },
      () => {},
    );
    undo.push(() => handle.stop());
    const fetchStart = performance.now();
    const res = await fetch(`http://127.0.0.1:${localPort}/`);
    const body = (await res.text()).trim();
    const fetchMs = performance.now() - fetchStart;
    if (res.status !== 200)
      throw new FwdError("runtime", `demo: the target answered ${res.status} through the forward`);
    const stats = handle.status().forwards[0];

    const hostKeyBlob = Buffer.from(bastion.hostKeyPublic.split(" ")[1]!, "base64");
    const snippet = readFileSync(configFile, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => `    ${l}`);
    const out = [
      "fwd demo: laptop → bastion → target, all on loopback",
      `  bastion   bastion_user@127.0.0.1:${bastion.port} (in-process SSH server; host key ${fingerprint(hostKeyBlob)} verified against known_hosts)`,
      `  target    target-host:${target.port} (a web server; only the bastion resolves "target-host")`,
      "  config    written by fwd init:",
      ...snippet,
      ...forwardLines(plan, handle).map((l) => `  forward   ${l}`),
      `  fetched   GET http://127.0.0.1:${localPort}/ → ${res.status}, ${stats?.bytesIn ?? 0} bytes in, ${stats?.bytesOut ?? 0} out, ${fetchMs.toFixed(0)} ms`,
      "",
      body,
      "",
      `done in ${((performance.now() - started) / 1000).toFixed(2)} s; everything torn down.`,
    ];
    if (ctx.json) {
      const json = {
        body,
        status: res.status,
        bastion: {
          user: "bastion_user",
          host: "127.0.0.1",
          port: bastion.port,
          hostKey: fingerprint(hostKeyBlob),
        },
        target: { host: "target-host", port: target.port },
        forward: {
          listen: `127.0.0.1:${localPort}`,
          bytesIn: stats?.bytesIn ?? 0,
          bytesOut: stats?.bytesOut ?? 0,
        },
        ms: Math.round(performance.now() - started),
      };
      ctx.stdout.write(`${JSON.stringify(json)}\n`);
    } else if (ctx.quiet) ctx.stdout.write(`${body}\n`);
    else ctx.stdout.write(`${out.join("\n")}\n`);
    return 0;
  } finally {
    for (const u of undo.reverse()) await u();
  }
}
