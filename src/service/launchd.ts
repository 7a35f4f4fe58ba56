/**
 * The launchd agent of `fwd service install NAME` (macOS). Pure.
 * launchd.plist(5): KeepAlive {SuccessfulExit: false} restarts the job when it
 * exits with an error (like systemd's Restart=on-failure), ThrottleInterval
 * spaces restarts, RunAtLoad starts it at login.
 */
export function agentLabel(name: string): string {
  return `dev.fwd.${name}`;
}

const xml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export interface AgentInput {
  name: string;
  /** Absolute argv: this fwd, then `run NAME` (and -F FILE when one was given). */
  argv: string[];
  /** Where launchd appends fwd's stdout and stderr. */
  logFile: string;
}

export function renderPlist({ name, argv, logFile }: AgentInput): string {
  const args = argv.map((a) => `    <string>${xml(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by fwd service install; remove it with fwd service uninstall. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(agentLabel(name))}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ProcessType</key>
  <string>Background</string>
  <key>StandardOutPath</key>
  <string>${xml(logFile)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(logFile)}</string>
</dict>
</plist>
`;
}
