/**
 * A throwaway HOME for running fwd (never the real ~/.ssh) and key generation
 * with ssh-keygen. The env is minimal on purpose, like DESIGN.md §4 promises
 * fwd works with: HOME, USER, PATH, no XDG_*, no SSH_AUTH_SOCK.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempHome {
  dir: string;
  /** dir/.ssh, mode 0700. */
  sshDir: string;
  /** dir/.ssh/config (not created). */
  config: string;
  /** Environment for a fwd process living in this home. */
  env: Record<string, string>;
  cleanup(): void;
}

export function tempHome(prefix = "fwd-home-"): TempHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // mkdtemp gives 0700 already; ssh wants a home that is not group/world-writable.
  chmodSync(dir, 0o755);
  const sshDir = join(dir, ".ssh");
  mkdirSync(sshDir, { mode: 0o700 });
  chmodSync(sshDir, 0o700);
  const env: Record<string, string> = {
    HOME: dir,
    USER: process.env.USER || "root",
    PATH: process.env.PATH || "/usr/local/bin:/usr/bin:/bin",
    FWD_STATE_DIR: join(dir, ".local", "state", "fwd"),
    FWD_SYSTEM_CONFIG: "none",
  };
  return {
    dir,
    sshDir,
    config: join(sshDir, "config"),
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface KeyPair {
  /** Private key file (mode 0600); the public key is `${path}.pub`. */
  path: string;
  /** The public key line: "ssh-ed25519 AAAA... comment". */
  pub: string;
}

/** Generates a key pair at dir/id_<type> (or dir/<name>) with ssh-keygen. */
export function genKey(
  dir: string,
  type: "ed25519" | "rsa" | "ecdsa" = "ed25519",
  passphrase = "",
  name = `id_${type}`,
): KeyPair {
  const path = join(dir, name);
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  const bits = type === "rsa" ? ["-b", "2048"] : [];
  execFileSync(
    "ssh-keygen",
    ["-q", "-t", type, ...bits, "-N", passphrase, "-C", `fwd-test-${name}`, "-f", path],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return { path, pub: readFileSync(`${path}.pub`, "utf8").trim() };
}
