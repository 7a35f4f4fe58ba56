/**
 * The wizard's spinner in a real terminal (tmux, the compiled binary when
 * built): a bastion that accepts TCP and then stays silent keeps the SSH layer
 * waiting, so the spinner is on screen for as long as the test wants; the
 * test then closes the connection or presses Ctrl-C/Esc.
 */
import { afterEach, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { fwdCommand, hasBinary } from "../helpers/fwd.ts";
import { genKey } from "../helpers/home.ts";
import { type InitHome, initHome } from "../helpers/init-home.ts";
import { canRunSshd, type Sshd, startSshd } from "../helpers/sshd.ts";

const FWD = fwdCommand(hasBinary ? "binary" : "source");
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

let h: InitHome | undefined;
let session: string | undefined;
let mute: { server: Server; port: number; release(): void } | undefined;
let sshd: Sshd | undefined;
afterEach(async () => {
  if (session) spawnSync("tmux", ["kill-session", "-t", session]);
  await sshd?.cleanup();
  sshd = undefined;
  mute?.release();
  mute?.server.close();
  h?.remove();
  [session, mute, h] = [undefined, undefined, undefined];
});

/** A loopback server that accepts and never says a word until released. */
async function muteServer() {
  const sockets: Socket[] = [];
  const server = createServer((c) => {
    c.on("error", () => {});
    sockets.push(c);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const release = () => {
    for (const c of sockets.splice(0)) c.destroy();
  };
  return { server, port, release };
}

function startWizard(home: InitHome, extraEnv: string[] = []): string {
  const name = `fwd-spin-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env = `env -i HOME=${quote(home.home)} PATH=${quote(process.env.PATH ?? "")} USER=root TERM=xterm-256color ${extraEnv.map(quote).join(" ")}`;
  const cmd = `${env} ${[...FWD, "init"].map(quote).join(" ")}; echo EXIT=$?; sleep 600`;
  execFileSync("tmux", ["new-session", "-d", "-s", name, "-x", "110", "-y", "50", cmd]);
  session = name;
  return name;
}

/** The screen; with `escapes`, colours and attributes included (capture-pane -e). */
const screen = (s: string, escapes = false) =>
  execFileSync("tmux", ["capture-pane", "-p", "-J", ...(escapes ? ["-e"] : []), "-t", s], {
    encoding: "utf8",
  });
const keys = (s: string, ...k: string[]) => execFileSync("tmux", ["send-keys", "-t", s, ...k]);
const type = (s: string, text: string) => execFileSync("tmux", ["send-keys", "-t", s, "-l", text]);

async function waitFor(s: string, text: string, escapes = false, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const now = screen(s, escapes);
    if (now.includes(text)) return now;
    if (Date.now() > end) throw new Error(`screen never showed ${JSON.stringify(text)}:\n${now}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the wizard against the mute bastion and waits until the spinner turns. */
async function spinning(extraEnv: string[] = []): Promise<{ s: string; line: string }> {
  h = initHome();
  mute = await muteServer();
  const key = genKey(join(h.home, "keys"), "ed25519", "", "bastion_key");
  const s = startWizard(h, extraEnv);
  await waitFor(s, "Bastion as user@host[:port]");
  type(s, `root@127.0.0.1:${mute.port}`);
  keys(s, "Enter");
  await waitFor(s, "Path of the private key");
  type(s, key.path);
  keys(s, "Enter");
  const now = await waitFor(s, "Connecting to bastion", true);
  const line = now.split("\n").find((l) => l.includes("Connecting to bastion")) ?? "";
  // The result lines so far printed as they do without a spinner, above it.
  expect(now).toContain(`tcp         127.0.0.1 port ${mute.port} accepts connections`);
  return { s, line };
}

test.skipIf(!hasTmux)(
  "a spinner turns while the wizard connects, in colour on a terminal, and leaves no trace",
  async () => {
    const { s, line } = await spinning();
    expect(line).toContain("\x1b[35m"); // the frame, magenta
    mute!.release();
    const after = await waitFor(s, "The bastion does not work yet");
    expect(after).toContain("does not speak SSH");
    expect(after).not.toContain("Connecting to bastion");
    keys(s, "Escape");
    expect(await waitFor(s, "EXIT=")).toContain("EXIT=130");
  },
  60_000,
);

test.skipIf(!hasTmux)(
  "NO_COLOR: the spinner has no colour; Ctrl-C while it turns exits 130 writing nothing",
  async () => {
    const { s, line } = await spinning(["NO_COLOR=1"]);
    expect(line).not.toContain("\x1b[");
    keys(s, "C-c");
    const final = await waitFor(s, "EXIT=");
    expect(final).toContain("cancelled; nothing written");
    expect(final).toContain("EXIT=130");
    expect(existsSync(h!.config)).toBe(false);
  },
  60_000,
);

test.skipIf(!hasTmux)(
  "Esc while the spinner turns exits 130 writing nothing",
  async () => {
    const { s } = await spinning();
    keys(s, "Escape");
    const final = await waitFor(s, "EXIT=");
    expect(final).toContain("EXIT=130");
    expect(existsSync(h!.config)).toBe(false);
  },
  60_000,
);

test.skipIf(!hasTmux || !canRunSshd)(
  "prompts inside the connection (host key, then passphrase) stop the spinner and work as keys",
  async () => {
    h = initHome();
    const key = genKey(join(h.home, "keys"), "ed25519", "open sesame", "locked_key");
    sshd = await startSshd({ authorized: { root: [key.pub] } });
    const s = startWizard(h);
    await waitFor(s, "Bastion as user@host[:port]");
    type(s, `root@127.0.0.1:${sshd.port}`);
    keys(s, "Enter");
    await waitFor(s, "Path of the private key");
    type(s, key.path);
    keys(s, "Enter");
    await waitFor(s, "Trust it and remember it?");
    type(s, "y");
    await waitFor(s, `Passphrase for ${key.path}`);
    type(s, "open sesame");
    keys(s, "Enter");
    const after = await waitFor(s, "Target as host:port");
    expect(after).toContain("authenticated as root");
    expect(after).not.toContain("Connecting to bastion");
    expect(after).not.toContain("open sesame");
    keys(s, "C-c");
    expect(await waitFor(s, "EXIT=")).toContain("EXIT=130");
    expect(existsSync(h.config)).toBe(false);
  },
  60_000,
);
