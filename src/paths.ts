import { userInfo } from "node:os";
import { join } from "node:path";

export type Env = Readonly<Record<string, string | undefined>>;

export interface Paths {
  /** The user's home: $HOME, else the passwd entry. */
  home: string;
  /** ~/.ssh */
  sshDir: string;
  /** ~/.ssh/config */
  userConfig: string;
  /** /etc/ssh/ssh_config (FWD_SYSTEM_CONFIG overrides, "none" disables). */
  systemConfig: string | undefined;
  /** $FWD_STATE_DIR, else $XDG_STATE_HOME/fwd, else ~/.local/state/fwd */
  stateDir: string;
}

function passwdHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return "/";
  }
}

/** Every path fwd touches, derived from the environment alone (tests pass their own). */
export function resolvePaths(env: Env): Paths {
  const home = env.FWD_HOME || env.HOME || passwdHome();
  const sshDir = join(home, ".ssh");
  const sys = env.FWD_SYSTEM_CONFIG;
  const stateDir =
    env.FWD_STATE_DIR ||
    (env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, "fwd") : join(home, ".local", "state", "fwd"));
  return {
    home,
    sshDir,
    userConfig: join(sshDir, "config"),
    systemConfig: sys === "none" ? undefined : sys || "/etc/ssh/ssh_config",
    stateDir,
  };
}

/** The local user name: $USER, else the passwd entry. */
export function localUser(env: Env): string {
  if (env.USER) return env.USER;
  try {
    return userInfo().username;
  } catch {
    return "root";
  }
}
