/**
 * Who holds a local TCP port? Linux only: /proc/net/tcp{,6} gives the socket
 * inode of the listener, /proc/<pid>/fd links name it. Best effort: any error
 * means "unknown", never a crash.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A is LISTEN.
      if (f[1]?.endsWith(`:${hex}`) && f[3] === "0A" && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** "pid 1234 (ssh)" for the process listening on `port`, or undefined. */
export function portHolder(port: number): string | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) {
          const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
          return `pid ${pid} (${comm})`;
        }
      } catch {}
    }
  }
  return undefined;
}
