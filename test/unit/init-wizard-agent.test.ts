/**
 * The identity step's agent keys: listed from a real ssh-agent (started here,
 * killed by PID), and turned into an IdentityFile when chosen (the key file
 * with the same public key, else a written `~/.ssh/fwd-agent-*.pub`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import type { InitFlags } from "../../src/commands/init-flags.ts";
import { agentIdentities, agentKeyFile, agentKeyLabel } from "../../src/commands/init-wizard.ts";
import { FwdError, isFwdError } from "../../src/errors.ts";
import type { Prompter } from "../../src/ui/prompts.ts";
import { type AgentKeyChoice, runWizard } from "../../src/ui/wizard.ts";
import { genKey, type KeyPair } from "../helpers/home.ts";
import { waitFor } from "../helpers/ports.ts";
import { killTree } from "../helpers/procs.ts";

/** ssh-agent, ssh-add and ssh-keygen are on PATH. */
const hasAgent = ["ssh-agent", "ssh-add", "ssh-keygen"].every(
  (c) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0,
);

let dir: string;
let sock: string;
let agentPid = 0;
let key: KeyPair;
let silent: Server | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fwd-wizard-agent-"));
  if (!hasAgent) return;
  sock = join(dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
  agentPid = agent.pid ?? 0;
  await waitFor(() => existsSync(sock), { timeoutMs: 5000, what: "ssh-agent socket" });
  key = genKey(join(dir), "ed25519", "", "agent_key");
  execFileSync("ssh-add", [key.path], {
    env: { ...process.env, SSH_AUTH_SOCK: sock },
    stdio: "ignore",
  });
});
afterAll(async () => {
  await killTree([agentPid].filter(Boolean));
  silent?.close();
  rmSync(dir, { recursive: true, force: true });
});

const blobOf = (pubLine: string) => Buffer.from(pubLine.split(/\s+/)[1]!, "base64");

/** A fresh HOME with an empty ~/.ssh. */
function home(): { home: string; sshDir: string } {
  const h = mkdtempSync(join(dir, "home-"));
  mkdirSync(join(h, ".ssh"), { mode: 0o700 });
  return { home: h, sshDir: join(h, ".ssh") };
}

describe.skipIf(!hasAgent)("agent keys in the identity step", () => {
  test("a running agent's keys are listed with type, SHA256 fingerprint and comment", async () => {
    const ids = await agentIdentities(sock);
    expect(ids.length).toBe(1);
    expect(ids[0]!.blob.equals(blobOf(key.pub))).toBe(true);
    const keygen = execFileSync("ssh-keygen", ["-lf", `${key.path}.pub`], { encoding: "utf8" });
    const fp = keygen.split(/\s+/)[1]!;
    expect(fp).toMatch(/^SHA256:/);
    expect(agentKeyLabel(ids[0]!)).toBe(`agent: ED25519 ${fp} fwd-test-agent_key`);
  });

  test("no SSH_AUTH_SOCK, a dead socket, or an agent that never answers: no agent keys", async () => {
    expect(await agentIdentities(undefined)).toEqual([]);
    expect(await agentIdentities(join(dir, "no-such.sock"))).toEqual([]);
    const mute = join(dir, "mute.sock");
    silent = createServer(() => {}).listen(mute);
    await new Promise((r) => silent!.once("listening", r));
    const t0 = Date.now();
    expect(await agentIdentities(mute, 300)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test("a key file in ~/.ssh with the same public key is used as it is", async () => {
    const h = home();
    const other = genKey(h.sshDir, "ed25519", "", "id_other");
    writeFileSync(join(h.sshDir, "id_mine"), readFileSync(key.path), { mode: 0o600 });
    writeFileSync(join(h.sshDir, "id_mine.pub"), `${key.pub}\n`);
    const [id] = await agentIdentities(sock);
    const keys = ["~/.ssh/id_other", "~/.ssh/id_mine"];
    expect(agentKeyFile(id!, { ...h, keys })).toBe("~/.ssh/id_mine");
    expect(readdirSync(h.sshDir).sort()).toEqual(
      ["id_mine", "id_mine.pub", "id_other", "id_other.pub"].sort(),
    );
    expect(other.pub).not.toBe(key.pub);
  });

  test("no key file for it: the public key is written to ~/.ssh/fwd-agent-<fingerprint>.pub (0644), once", async () => {
    const h = home();
    const [id] = await agentIdentities(sock);
    const path = agentKeyFile(id!, { ...h, keys: [] });
    const tag = agentKeyLabel(id!)
      .split(" ")[2]!
      .slice("SHA256:".length, "SHA256:".length + 12)
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    expect(path).toBe(`~/.ssh/fwd-agent-${tag}.pub`);
    expect(path).toMatch(/^~\/\.ssh\/fwd-agent-[A-Za-z0-9_-]{12}\.pub$/);
    const file = join(h.home, path.slice(2));
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const parsed = utils.parseKey(readFileSync(file));
    if (parsed instanceof Error || Array.isArray(parsed)) throw new Error("not one public key");
    expect(parsed.getPublicSSH().equals(blobOf(key.pub))).toBe(true);
    expect(parsed.isPrivateKey()).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(`${key.pub}\n`);
    // Chosen again: the same file, nothing else left in ~/.ssh (no temp files).
    expect(agentKeyFile(id!, { ...h, keys: [] })).toBe(path);
    expect(readdirSync(h.sshDir)).toEqual([path.slice("~/.ssh/".length)]);
  });

  test("a different file already at that name is never overwritten", async () => {
    const h = home();
    const [id] = await agentIdentities(sock);
    const first = agentKeyFile(id!, { ...h, keys: [] });
    const file = join(h.home, first.slice(2));
    const stranger = genKey(dir, "ed25519", "", "stranger").pub;
    writeFileSync(file, `${stranger}\n`);
    let err: unknown;
    try {
      agentKeyFile(id!, { ...h, keys: [] });
    } catch (e) {
      err = e;
    }
    expect(isFwdError(err)).toBe(true);
    expect((err as FwdError).message).toContain("already exists with another key");
    expect(readFileSync(file, "utf8")).toBe(`${stranger}\n`);
  });

  test("the wizard lists the agent keys after the key files and uses the chosen one's file", async () => {
    const h = home();
    const [id] = await agentIdentities(sock);
    const choice: AgentKeyChoice = {
      label: agentKeyLabel(id!),
      file: async () => agentKeyFile(id!, { ...h, keys: [] }),
    };
    const s = pick([choice.label]);
    const f = await runWizard(flags, deps(h, s.prompter, [choice]));
    expect(s.shown[0]).toEqual(["~/.ssh/id_x", choice.label, "another file…"]);
    expect(f.identity).toMatch(/^~\/\.ssh\/fwd-agent-.*\.pub$/);
    expect(existsSync(join(h.home, f.identity!.slice(2)))).toBe(true);
  });
});

const flags: InitFlags = {
  name: "forward1",
  bastion: "me@bastion-host",
  identity: undefined,
  target: ["target-host:22"],
  local: ["10022"],
  forward: [],
  sshTarget: undefined,
  sshName: undefined,
  alive: undefined,
};

/** Answers each select by label, in order; records the labels shown and the info lines. */
function pick(labels: string[]) {
  const shown: string[][] = [];
  const infos: string[] = [];
  const texts: string[] = [];
  const prompter: Prompter = {
    async text(q) {
      texts.push(q.message);
      const v = labels.shift() ?? "";
      const why = q.validate?.(v);
      if (why) throw new Error(`rejected ${v}: ${why}`);
      return v;
    },
    async select(q) {
      shown.push(q.options.map((o) => o.label));
      const l = labels.shift();
      const o = q.options.find((x) => x.label === l);
      if (!o) throw new Error(`no option ${l}`);
      return o.value;
    },
    async confirm() {
      return false;
    },
    info(m) {
      infos.push(m);
    },
  };
  return { prompter, shown, infos, texts };
}

function deps(h: { home: string }, prompter: Prompter, agentKeys: AgentKeyChoice[]) {
  return {
    prompter,
    user: "me",
    home: h.home,
    cwd: h.home,
    knownHosts: [],
    keys: ["~/.ssh/id_x"],
    agentKeys,
    takenNames: [],
    portFree: async () => true,
  };
}

describe("choosing an agent key (scripted)", () => {
  test("a key file that cannot be written or does not validate is explained and the list asked again", async () => {
    const h = home();
    writeFileSync(join(h.sshDir, "ok.pub"), "ssh-ed25519 AAAA x\n", { mode: 0o644 });
    const failing: AgentKeyChoice = {
      label: "agent: ED25519 SHA256:aaa one",
      file: async () => {
        throw new FwdError("io", "~/.ssh/fwd-agent-aaa.pub already exists with another key");
      },
    };
    const missing: AgentKeyChoice = {
      label: "agent: ED25519 SHA256:bbb two",
      file: async () => "~/.ssh/gone.pub",
    };
    const good: AgentKeyChoice = {
      label: "agent: ED25519 SHA256:ccc three",
      file: async () => "~/.ssh/ok.pub",
    };
    const s = pick([failing.label, missing.label, good.label]);
    const f = await runWizard(flags, deps(h, s.prompter, [failing, missing, good]));
    expect(f.identity).toBe("~/.ssh/ok.pub");
    expect(s.shown.length).toBe(3);
    expect(s.infos[0]).toContain("already exists with another key");
    expect(s.infos[1]).toContain("gone.pub does not exist");
    expect(s.infos[2]).toBe("IdentityFile ~/.ssh/ok.pub (the agent holds its private key)");
  });

  test("only agent keys and no key files: the list is still offered; 'another file…' asks for a path", async () => {
    const h = home();
    writeFileSync(join(h.sshDir, "typed"), "k", { mode: 0o600 });
    const a: AgentKeyChoice = { label: "agent: RSA SHA256:ddd", file: async () => "unused" };
    const s = pick(["another file…", "~/.ssh/typed"]);
    const f = await runWizard(flags, { ...deps(h, s.prompter, [a]), keys: [] });
    expect(s.shown).toEqual([["agent: RSA SHA256:ddd", "another file…"]]);
    expect(s.texts).toEqual(["Path of the private key"]);
    expect(f.identity).toBe("~/.ssh/typed");
  });
});
