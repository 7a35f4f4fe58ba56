/**
 * The wizard in a real terminal: tmux runs fwd in a pseudo-terminal, the test
 * types with send-keys and reads the screen with capture-pane, against a real
 * sshd. Uses the compiled binary when built (dist/fwd-linux-x64, $FWD_E2E_BIN or $FWD_BIN).
 */
import { afterEach, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fwdCommand, hasBinary } from "../helpers/fwd.ts";
import { genKey } from "../helpers/home.ts";
import { fixture, type InitHome, initHome, root } from "../helpers/init-home.ts";
import { freePort } from "../helpers/ports.ts";
import { canRunSshd, type Sshd, startSshd } from "../helpers/sshd.ts";

const FWD = fwdCommand(hasBinary ? "binary" : "source");
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

let h: InitHome | undefined;
let sshd: Sshd | undefined;
let session: string | undefined;
let stopForward: (() => unknown) | undefined;
afterEach(async () => {
  stopForward?.();
  stopForward = undefined;
  if (session) spawnSync("tmux", ["kill-session", "-t", session]);
  await sshd?.cleanup();
  h?.remove();
  [session, sshd, h] = [undefined, undefined, undefined];
});

/** Starts `fwd init` in a fresh tmux session; the pane stays after exit to read EXIT=code. */
function startWizard(home: InitHome, args: string[] = []): string {
  const name = `fwd-init-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env = `env -i HOME=${quote(home.home)} PATH=${quote(process.env.PATH ?? "")} USER=root TERM=xterm-256color`;
  const cmd = `${env} ${[...FWD, "init", ...args].map(quote).join(" ")}; echo EXIT=$?; sleep 600`;
  execFileSync("tmux", ["new-session", "-d", "-s", name, "-x", "110", "-y", "50", cmd]);
  session = name;
  return name;
}

const screen = (s: string) =>
  execFileSync("tmux", ["capture-pane", "-p", "-J", "-S", "-400", "-t", s], { encoding: "utf8" });
const keys = (s: string, ...k: string[]) => execFileSync("tmux", ["send-keys", "-t", s, ...k]);
const type = (s: string, text: string) => execFileSync("tmux", ["send-keys", "-t", s, "-l", text]);

/** Waits until the screen shows `text` (after `from` occurrences of it), returning the screen. */
async function waitFor(s: string, text: string, count = 1, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const now = screen(s);
    if (now.split(text).length - 1 >= count) return now;
    if (Date.now() > end) throw new Error(`screen never showed ${JSON.stringify(text)}:\n${now}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tcpBanner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    const done = (v: string) => {
      c.destroy();
      resolve(v);
    };
    c.setTimeout(2000, () => done(""));
    c.once("data", (b) => done(b.toString()));
    c.once("error", () => done(""));
  });
}

test.skipIf(!canRunSshd || !hasTmux)(
  "happy path of the seed: bastion, unknown host key accepted, ssh and web targets, second Host",
  async () => {
    h = initHome();
    const key = genKey(join(h.home, "keys"), "ed25519", "", "bastion_key");
    sshd = await startSshd({ authorized: { root: [key.pub] } });
    const web = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response("Hello World\n"),
    });
    try {
      const [sshLocal, webLocal] = [await freePort(), await freePort()];
      const s = startWizard(h);
      await waitFor(s, "Bastion as user@host[:port]");
      type(s, `root@127.0.0.1:${sshd.port}x`);
      keys(s, "Enter");
      await waitFor(s, "is not a port");
      keys(s, "BSpace", "Enter");
      await waitFor(s, "Path of the private key");
      type(s, key.path);
      keys(s, "Enter");
      // First contact with the bastion, before any target: the host key is asked.
      await waitFor(s, "Trust it and remember it?");
      type(s, "y");
      await waitFor(s, "authenticated as root");
      for (const [target, local, more] of [
        [`localhost:${sshd.port}`, sshLocal, "y"],
        [`localhost:${web.port}`, webLocal, "n"],
      ] as const) {
        await waitFor(s, "Target as host:port", target.endsWith(String(sshd.port)) ? 1 : 2);
        type(s, target);
        keys(s, "Enter");
        await waitFor(s, `Local port for ${target}`);
        keys(s, ...Array(6).fill("BSpace"));
        type(s, String(local));
        keys(s, "Enter");
        await waitFor(s, "Forward another port", more === "y" ? 1 : 2);
        type(s, more);
      }
      await waitFor(s, "Also create a Host to ssh to");
      type(s, "y");
      await waitFor(s, "User on localhost");
      keys(s, "Enter");
      await waitFor(s, "Name of the Host for the forward");
      keys(s, "Enter");
      await waitFor(s, "Name of the Host for ssh to localhost");
      keys(s, "Enter");
      await waitFor(s, "Write ");
      type(s, "y");
      const final = await waitFor(s, "EXIT=");
      expect(final).toContain("EXIT=0");
      expect(final).toContain("SHA256:");
      expect(final).toContain(`localhost:${sshd.port}`);
      expect(final).toContain("fwd run forward1 -d");
      // The check names the file being written, not the temp copy it checked.
      expect(final).toMatch(/Host forward1 \(~\/\.ssh\/config:\d+\)/);
      writeFileSync(join(h.home, "screen.txt"), final);
      if (process.env.FWD_SAVE_SCREENS) {
        const sanitized = final
          .replace(/\/tmp\/fwd-init-home-\w+/g, "~")
          .replace(/EXIT=0[\s\S]*/, "");
        writeFileSync(
          join(root, "test/fixtures/edit/wizard-happy-path.txt"),
          `${sanitized.trimEnd()}\n`,
        );
      }

      const config = readFileSync(h.config, "utf8");
      expect(config).toContain(`LocalForward 127.0.0.1:${sshLocal} localhost:${sshd.port}`);
      expect(config).toContain(`LocalForward 127.0.0.1:${webLocal} localhost:${web.port}`);
      expect(config).toContain(
        `Host forward2\n  HostName localhost\n  Port ${sshLocal}\n  User root\n`,
      );
      // Done when: fwd run forward1 + ssh forward2 work. The bastion's key was
      // recorded by the wizard's check, so no --accept-new is needed here.
      const fwdRun = (args: string[]) =>
        spawnSync(FWD[0]!, [...FWD.slice(1), ...args], {
          env: h!.env,
          encoding: "utf8",
          timeout: 30_000,
        });
      const up = fwdRun(["run", "forward1", "-d"]);
      stopForward = () => fwdRun(["stop", "forward1"]);
      expect(up.stderr + up.stdout).toContain("forward1 running in the background");
      expect(up.status).toBe(0);
      expect(await (await fetch(`http://127.0.0.1:${webLocal}/`)).text()).toBe("Hello World\n");
      expect((await tcpBanner(sshLocal)).startsWith("SSH-2.0-")).toBe(true);
      const second = spawnSync(
        "/usr/bin/ssh",
        [
          "-F",
          h.config,
          "-o",
          `UserKnownHostsFile=${join(h.home, ".ssh/known_hosts")}`,
          "-o",
          "StrictHostKeyChecking=accept-new",
          "-o",
          "BatchMode=yes",
          "-i",
          key.path,
          "forward2",
          "echo",
          "through-forward2",
        ],
        { encoding: "utf8", timeout: 20_000 },
      );
      expect(second.stdout.trim()).toBe("through-forward2");
    } finally {
      web.stop(true);
    }
  },
  90_000,
);

async function interrupt(key: string): Promise<void> {
  h = initHome();
  copyFileSync(fixture("realistic.conf"), h.config);
  const s = startWizard(h, ["--name", "web"]);
  await waitFor(s, "Bastion");
  keys(s, "Down", "Enter");
  await waitFor(s, "Bastion as user@host[:port]");
  type(s, "u@bastion-host");
  keys(s, "Enter");
  await waitFor(s, "private key");
  keys(s, key);
  const final = await waitFor(s, "EXIT=");
  expect(final).toContain("EXIT=130");
  expect(readFileSync(h.config)).toEqual(readFileSync(fixture("realistic.conf")));
  expect(existsSync(`${h.config}.fwd.bak`)).toBe(false);
}

test.skipIf(!hasTmux)(
  "Ctrl-C in the middle exits 130 and leaves ~/.ssh/config byte-identical",
  () => interrupt("C-c"),
);
test.skipIf(!hasTmux)("Esc in the middle exits 130 and leaves ~/.ssh/config byte-identical", () =>
  interrupt("Escape"),
);
