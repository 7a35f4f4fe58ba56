/**
 * Where `fwd service` puts a forward's login job on this platform, what the
 * file says and which manager commands install, remove and inspect it. Pure:
 * commands are argv arrays that service.ts runs (or prints when the manager
 * is not installed).
 */
import { join } from "node:path";
import { FwdError } from "../errors.ts";
import type { Env, Paths } from "../paths.ts";
import { agentLabel, renderPlist } from "./launchd.ts";
import { renderUnit, unitName } from "./systemd.ts";

export type Manager = "systemd" | "launchd";

/** One manager command; `mayFail` when failing means "nothing to undo". */
export interface Step {
  argv: string[];
  mayFail?: boolean;
}

export interface ServiceTarget {
  manager: Manager;
  /** The unit or plist file. */
  file: string;
  /** What systemctl / launchctl calls the job. */
  id: string;
  content: string;
  /** Directories to create (0755) before writing. */
  dirs: string[];
  install: (start: boolean) => Step[];
  /** Before the file is removed. */
  uninstall: Step[];
  /** After the file is removed. */
  forget: Step[];
  status: Step[];
}

export interface TargetInput {
  /** process.platform, or FWD_SERVICE_PLATFORM (tests). */
  platform: string;
  env: Env;
  paths: Paths;
  uid: number;
  name: string;
  /** Absolute argv that runs the forward in the foreground. */
  argv: string[];
}

export function managerFor(platform: string): Manager {
  if (platform === "linux") return "systemd";
  if (platform === "darwin") return "launchd";
  throw new FwdError(
    "usage",
    `fwd service does not support ${platform}`,
    "it writes systemd user units on Linux and launchd agents on macOS",
  );
}

export function serviceTarget(t: TargetInput): ServiceTarget {
  if (managerFor(t.platform) === "systemd") {
    const dir = join(t.env.XDG_CONFIG_HOME || join(t.paths.home, ".config"), "systemd", "user");
    const id = unitName(t.name);
    const ctl = (...a: string[]): Step => ({ argv: ["systemctl", "--user", ...a] });
    return {
      manager: "systemd",
      file: join(dir, id),
      id,
      content: renderUnit({ name: t.name, argv: t.argv }),
      dirs: [dir],
      // restart, not enable --now: a re-install must replace a running old ExecStart.
      install: (start) => [
        ctl("daemon-reload"),
        ctl("enable", id),
        ...(start ? [ctl("restart", id)] : []),
      ],
      uninstall: [{ ...ctl("disable", "--now", id), mayFail: true }],
      forget: [ctl("daemon-reload")],
      status: [
        { ...ctl("is-enabled", id), mayFail: true },
        { ...ctl("is-active", id), mayFail: true },
      ],
    };
  }
  const dir = join(t.paths.home, "Library", "LaunchAgents");
  const logDir = join(t.paths.home, "Library", "Logs", "fwd");
  const id = agentLabel(t.name);
  const file = join(dir, `${id}.plist`);
  const domain = `gui/${t.uid}`;
  return {
    manager: "launchd",
    file,
    id,
    content: renderPlist({ name: t.name, argv: t.argv, logFile: join(logDir, `${t.name}.log`) }),
    dirs: [dir, logDir],
    // bootstrap loads the agent and RunAtLoad starts it; without it, launchd loads it at next login.
    // bootout first so a re-install replaces a loaded old definition.
    install: (start) =>
      start
        ? [
            { argv: ["launchctl", "bootout", `${domain}/${id}`], mayFail: true },
            { argv: ["launchctl", "bootstrap", domain, file] },
          ]
        : [],
    uninstall: [{ argv: ["launchctl", "bootout", `${domain}/${id}`], mayFail: true }],
    forget: [],
    status: [{ argv: ["launchctl", "print", `${domain}/${id}`], mayFail: true }],
  };
}
