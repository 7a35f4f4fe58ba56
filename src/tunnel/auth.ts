/**
 * Public-key authentication in OpenSSH's order: agent keys first (only those
 * matching IdentityFile when IdentitiesOnly is set), then the IdentityFile
 * keys. Passphrases are asked for only when a key is reached, never logged.
 */
import { readFile } from "node:fs/promises";
import type { AuthHandlerMiddleware, ParsedKey } from "ssh2";
import { FwdError } from "../errors.ts";
import type { HopPlan } from "./plan.ts";
import { OpenSSHAgent, parseKey } from "./ssh2.ts";

export interface AuthDeps {
  /** Ask for a key's passphrase (TTY or SSH_ASKPASS); undefined = none available. */
  askPassphrase?: (path: string) => Promise<string | undefined>;
  /** Shown paths use ~ for the home directory. */
  home: string;
}

type NextAuth = Parameters<Parameters<AuthHandlerMiddleware>[2]>[0];

function keyOf(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  return Array.isArray(parsed) ? (parsed[0] ?? new Error("no key in file")) : parsed;
}

/** Agent that only offers the keys whose public blobs are in `allowed`. */
class FilteredAgent extends OpenSSHAgent {
  constructor(
    socket: string,
    private readonly allowed: Set<string>,
  ) {
    super(socket);
  }
  override getIdentities(cb: Parameters<OpenSSHAgent["getIdentities"]>[0]): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err ?? undefined, keys);
      const blob = (k: (typeof keys)[number]) =>
        ("getPublicSSH" in k ? k.getPublicSSH() : k.pubKey).toString("base64");
      cb(
        undefined,
        keys.filter((k) => this.allowed.has(blob(k))),
      );
    });
  }
}

/** The public blob of an identity, from `path.pub` or the private key itself. */
async function publicBlob(path: string): Promise<string | undefined> {
  try {
    const pub = (await readFile(`${path}.pub`, "utf8")).trim().split(/\s+/)[1];
    if (pub) return pub;
  } catch {}
  try {
    const k = keyOf(parseKey(await readFile(path)));
    if (!(k instanceof Error)) return k.getPublicSSH().toString("base64");
  } catch {}
  return undefined;
}

export interface Authenticator {
  handler: AuthHandlerMiddleware;
  /** What was offered, for the "all failed" message. */
  tried: string[];
}

export function createAuthenticator(hop: HopPlan, deps: AuthDeps): Authenticator {
  const tried: string[] = [];
  const show = (p: string) => (p.startsWith(`${deps.home}/`) ? `~${p.slice(deps.home.length)}` : p);
  const steps: (() => Promise<NextAuth | undefined>)[] = [];

  if (hop.agent) {
    const socket = hop.agent;
    steps.push(async () => {
      if (!hop.identitiesOnly) {
        tried.push(`agent (${show(socket)})`);
        return { type: "agent", username: hop.user, agent: new OpenSSHAgent(socket) };
      }
      const blobs = await Promise.all(hop.identityFiles.map(publicBlob));
      const allowed = new Set(blobs.filter((b): b is string => b !== undefined));
      if (allowed.size === 0) return undefined;
      tried.push(`agent keys matching IdentityFile (${show(socket)})`);
      return { type: "agent", username: hop.user, agent: new FilteredAgent(socket, allowed) };
    });
  }

  for (const path of hop.identityFiles) {
    steps.push(async () => {
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (hop.identityFilesExplicit)
          tried.push(`${show(path)} (${code === "ENOENT" ? "not found" : "unreadable"})`);
        return undefined;
      }
      let key = keyOf(parseKey(data));
      if (key instanceof Error && /passphrase|encrypted/i.test(key.message)) {
        const pass = await deps.askPassphrase?.(path);
        if (pass === undefined) {
          tried.push(
            `${show(path)} (encrypted; no passphrase: no terminal, and SSH_ASKPASS unset or it failed)`,
          );
          return undefined;
        }
        key = keyOf(parseKey(data, pass));
        if (key instanceof Error) {
          tried.push(`${show(path)} (wrong passphrase)`);
          return undefined;
        }
      }
      if (key instanceof Error) {
        tried.push(`${show(path)} (not a usable key: ${key.message})`);
        return undefined;
      }
      // A public key file (IdentityFile ~/.ssh/x.pub) only selects an agent key, as in ssh.
      if (!key.isPrivateKey()) {
        tried.push(`${show(path)} (a public key: its private key must be in the agent)`);
        return undefined;
      }
      tried.push(`${show(path)} (${key.type})`);
      return { type: "publickey", username: hop.user, key };
    });
  }

  let next = 0;
  const handler: AuthHandlerMiddleware = (_methodsLeft, _partial, callback) => {
    const advance = (): void => {
      const step = steps[next++];
      if (!step) {
        callback(false as unknown as NextAuth);
        return;
      }
      step().then(
        (auth) => (auth ? callback(auth) : advance()),
        () => advance(),
      );
    };
    advance();
  };
  return { handler, tried };
}

export function authFailed(hop: HopPlan, tried: string[], label: string): FwdError {
  const list = tried.length ? tried.join(", ") : "no identities (no agent, no IdentityFile found)";
  const certs = hop.certificateFiles.length
    ? ` (CertificateFile ${hop.certificateFiles.join(", ")} was not offered: fwd cannot authenticate with certificates)`
    : "";
  return new FwdError(
    "auth",
    `authentication failed for ${label}: tried ${list}${certs}`,
    `add the public key to ~${hop.user ? `${hop.user}` : ""}/.ssh/authorized_keys on ${hop.host}, or set IdentityFile for this Host`,
  );
}
