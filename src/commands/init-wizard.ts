/**
 * What the wizard needs from the outside world, gathered from ctx: the Hosts
 * and keys already there, free ports, and `fwd check` on a draft config.
 */
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { OpenSSHAgent } from "ssh2";
import { tryBind } from "../check/local.ts";
import type { Ctx } from "../context.ts";
import { FwdError, isFwdError } from "../errors.ts";
import { displayType, fingerprint, keyTypeOf } from "../knownhosts/key.ts";
import { localUser } from "../paths.ts";
import { managedNames, upsertBlocks } from "../sshconfig/edit.ts";
import { listHosts, resolveHost } from "../sshconfig/resolve.ts";
import { type InitValues, renderBlocks } from "../sshconfig/snippet.ts";
import { realTarget } from "../sshconfig/write.ts";
import { clackPrompter, spinning } from "../ui/prompts.ts";
import { type AgentKeyChoice, runWizard, type WizardDeps } from "../ui/wizard.ts";
import { readOrEmpty } from "./init.ts";
import { checkBastion, checkRoute } from "./init-check.ts";
import { type InitFlags, validateFlags } from "./init-flags.ts";

/** Files in ~/.ssh that look like private keys (a .pub next to them, or named id_*). */
function privateKeys(sshDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(sshDir);
  } catch {
    return [];
  }
  return files
    .filter((f) => !f.endsWith(".pub") && (files.includes(`${f}.pub`) || /^id_[a-z0-9_]+$/.test(f)))
    .filter((f) => /^[A-Za-z0-9._-]+$/.test(f))
    .map((f) => `~/.ssh/${f}`);
}

export interface AgentIdentity {
  /** The public key blob. */
  blob: Buffer;
  comment: string;
}

/**
 * The keys of the agent at `socket` ($SSH_AUTH_SOCK). No socket, a dead agent
 * or one that does not answer within `timeoutMs` all mean: no agent keys.
 */
export function agentIdentities(
  socket: string | undefined,
  timeoutMs = 1000,
): Promise<AgentIdentity[]> {
  if (!socket) return Promise.resolve([]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve([]), timeoutMs);
    const done = (v: AgentIdentity[]) => {
      clearTimeout(timer);
      resolve(v);
    };
    try {
      new OpenSSHAgent(socket).getIdentities((err, keys) => {
        if (err || !keys) return done([]);
        done(
          keys.flatMap((k) =>
            "getPublicSSH" in k ? [{ blob: k.getPublicSSH(), comment: k.comment ?? "" }] : [],
          ),
        );
      });
    } catch {
      done([]);
    }
  });
}

/** `agent: ED25519 SHA256:… comment`, as the identity step lists it. */
export function agentKeyLabel(id: AgentIdentity): string {
  const type = displayType(keyTypeOf(id.blob) ?? "unknown");
  const comment = id.comment.replace(/[\x00-\x1f\x7f]/g, " ").trim();
  return `agent: ${type} ${fingerprint(id.blob)}${comment ? ` ${comment}` : ""}`;
}

/** The base64 blob of a public key file's first line (`type base64 comment`). */
function pubBlobOf(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim().split(/\s+/)[1];
  } catch {
    return undefined;
  }
}

/**
 * The IdentityFile for an agent key: a key file of `keys` (`~/.ssh/NAME`)
 * whose `.pub` holds the same public key, else the public key written to
 * `~/.ssh/fwd-agent-<fingerprint prefix>.pub` (0644, atomically, never over a
 * different file). ssh and fwd then sign with the agent's private key.
 */
export function agentKeyFile(
  id: AgentIdentity,
  where: { home: string; sshDir: string; keys: string[] },
): string {
  const b64 = id.blob.toString("base64");
  const shown = (p: string) =>
    p.startsWith(`${where.home}/`) ? `~/${p.slice(where.home.length + 1)}` : p;
  for (const k of where.keys) {
    const path = k.startsWith("~/") ? join(where.home, k.slice(2)) : k;
    if (pubBlobOf(`${path}.pub`) === b64) return k;
  }
  const tag = fingerprint(id.blob).slice("SHA256:".length, "SHA256:".length + 12);
  const name = `fwd-agent-${tag.replace(/\+/g, "-").replace(/\//g, "_")}.pub`;
  const file = join(where.sshDir, name);
  const type = keyTypeOf(id.blob) ?? "unknown";
  const comment = id.comment.replace(/[\x00-\x1f\x7f]/g, " ").trim();
  const other = () =>
    new FwdError(
      "io",
      `${shown(file)} already exists with another key; not overwriting it`,
      "move it away, or choose the key file instead",
    );
  if (existsSync(file)) {
    if (pubBlobOf(file) === b64) return shown(file);
    throw other();
  }
  const tmp = join(where.sshDir, `.${name}.${process.pid}.tmp`);
  try {
    mkdirSync(where.sshDir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, `${type} ${b64}${comment ? ` ${comment}` : ""}\n`, {
      mode: 0o644,
      flag: "wx",
    });
    chmodSync(tmp, 0o644);
    // link() never replaces: a file that appeared meanwhile is kept.
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && existsSync(file)) {
      if (pubBlobOf(file) === b64) return shown(file);
      throw other();
    }
    throw new FwdError(
      "io",
      `cannot write ${shown(file)}: ${code ?? (e as Error).message}`,
      "choose a key file instead",
    );
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
  return shown(file);
}

async function existingHosts(ctx: Ctx, configPath: string) {
  const base = {
    configFile: existsSync(configPath) ? configPath : "none",
    env: ctx.env,
    paths: ctx.paths,
    localUser: localUser(ctx.env),
    localHostname: hostname(),
  };
  try {
    const names = [...new Set((await listHosts(base)).map((h) => h.name))];
    const managed = new Set(managedNames(readOrEmpty(realTarget(configPath))));
    const known: WizardDeps["knownHosts"] = [];
    for (const name of names.filter((n) => !managed.has(n)).slice(0, 20)) {
      const o = (await resolveHost({ ...base, host: name })).options;
      const port = o.get("port")?.[0] ?? "22";
      const host = o.get("hostname")?.[0] ?? name;
      known.push({
        name,
        target: `${o.get("user")?.[0]}@${host.includes(":") ? `[${host}]` : host}${port === "22" ? "" : `:${port}`}`,
      });
    }
    return { known, taken: names.filter((n) => !managed.has(n)) };
  } catch {
    return { known: [], taken: [] };
  }
}

export async function askMissing(
  ctx: Ctx,
  flags: InitFlags,
  where: { configPath: string; cwd: string; force: boolean },
): Promise<InitFlags> {
  const { known, taken } = await existingHosts(ctx, where.configPath);
  const env = {
    home: ctx.paths.home,
    sshDir: ctx.paths.sshDir,
    cwd: where.cwd,
    user: localUser(ctx.env),
  };
  const prompter = clackPrompter(ctx);
  const keys = privateKeys(ctx.paths.sshDir);
  const agentKeys: AgentKeyChoice[] = (await agentIdentities(ctx.env.SSH_AUTH_SOCK)).map((id) => ({
    label: agentKeyLabel(id),
    file: async () => agentKeyFile(id, { home: env.home, sshDir: ctx.paths.sshDir, keys }),
  }));
  const check = async (
    draft: InitFlags,
    run: (c: Ctx, v: InitValues, config: Buffer, shownAs: string) => Promise<boolean>,
    busy: string,
  ): Promise<boolean> => {
    try {
      const { values } = validateFlags({ ...draft, name: draft.name ?? "forward1" }, env);
      const before = readOrEmpty(realTarget(where.configPath));
      const config = upsertBlocks(before, renderBlocks(values), { force: true }).data;
      return await spinning(ctx, busy, (c) => run(c, values, config, where.configPath));
    } catch (e) {
      if (!isFwdError(e) || e.code === "cancelled") throw e;
      prompter.info(e.message);
      return false;
    }
  };
  return runWizard(flags, {
    prompter,
    user: env.user,
    home: env.home,
    cwd: env.cwd,
    knownHosts: known,
    keys,
    agentKeys,
    takenNames: taken,
    portFree: async (port) => (await tryBind("127.0.0.1", port)).ok,
    checkRoute: (draft) => check(draft, checkRoute, "Checking the route"),
    // Targets are not known yet: a placeholder forward lets the Host resolve; it is not checked.
    checkBastion: (draft) =>
      check(
        { ...draft, target: ["localhost:22"], local: ["1"], forward: [] },
        checkBastion,
        "Connecting to bastion",
      ),
  });
}
