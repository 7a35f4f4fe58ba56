/**
 * The systemd user unit of `fwd service install NAME` (Linux). Pure.
 * systemd.service(5): ExecStart is split on spaces with "double quotes" and
 * C escapes; `%` starts a specifier and `$` a variable, so both are doubled.
 */
import { FwdError } from "../errors.ts";

/** Exit codes that retrying cannot fix (errors.ts): usage, host key, authentication. */
const PERMANENT_EXITS = [2, 3, 4];

export function unitName(name: string): string {
  return `fwd-${name}.service`;
}

/**
 * One ExecStart word: bare when safe, else double-quoted; `%` doubled always.
 * `$$` is a literal `$` in arguments, but the executable path is taken
 * verbatim, and systemd refuses one holding a quote or a backslash
 * ("Executable name contains special characters"; checked with systemd-analyze).
 */
export function execWord(arg: string, executable = false): string {
  if (/[\0-\x1f\x7f]/.test(arg)) {
    throw new FwdError(
      "usage",
      `cannot put a control character in a unit file: ${JSON.stringify(arg)}`,
    );
  }
  if (executable && /["\\]/.test(arg)) {
    throw new FwdError(
      "usage",
      `systemd cannot run ${arg}: its path has a quote or a backslash`,
      "install fwd in a directory without them (e.g. ~/.local/bin)",
    );
  }
  let escaped = arg.replace(/%/g, "%%");
  if (!executable) escaped = escaped.replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_./:=@+,%$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export interface UnitInput {
  name: string;
  /** Absolute argv: this fwd, then `run NAME` (and -F FILE when one was given). */
  argv: string[];
}

export function renderUnit({ name, argv }: UnitInput): string {
  return `# Written by \`fwd service install ${name}\`; remove it with \`fwd service uninstall ${name}\`.
[Unit]
Description=fwd: SSH forwards of Host ${name}
Documentation=man:ssh_config(5)

[Service]
Type=simple
ExecStart=${argv.map((a, i) => execWord(a, i === 0)).join(" ")}
# fwd run re-reads ssh_config on SIGHUP: systemctl --user reload ${unitName(name)}
ExecReload=kill -HUP $MAINPID
# fwd reconnects by itself; a restart is for a crash or an exit on error.
Restart=on-failure
RestartSec=5
# A bad config, a refused host key or refused authentication will not heal by retrying.
RestartPreventExitStatus=${PERMANENT_EXITS.join(" ")}

[Install]
WantedBy=default.target
`;
}
