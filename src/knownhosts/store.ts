/**
 * The known_hosts files on disk: read them all up front, append a new entry
 * the way ssh's add_host_to_hostfile does.
 */
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type KnownHostEntry, parseKnownHosts, type SkippedLine } from "./parse.ts";
import { hashHostName } from "./pattern.ts";

export interface KnownHostsDb {
  /** User files first, then global files, each in file order (ssh's load order). */
  entries: KnownHostEntry[];
  skipped: SkippedLine[];
  /** Files that exist but could not be read, with why. */
  unreadable: { file: string; reason: string }[];
}

/** Missing files are normal (ssh debug-logs and moves on); unreadable ones are noted. */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostsDb> {
  const db: KnownHostsDb = { entries: [], skipped: [], unreadable: [] };
  const texts = await Promise.all(
    files.map((f) =>
      readFile(f, "utf8").then(
        (text) => ({ f, text }),
        (e: NodeJS.ErrnoException) => ({ f, error: e }),
      ),
    ),
  );
  for (const t of texts) {
    if ("error" in t) {
      if (t.error.code !== "ENOENT" && t.error.code !== "ENOTDIR") {
        db.unreadable.push({ file: t.f, reason: t.error.code ?? t.error.message });
      }
      continue;
    }
    const parsed = parseKnownHosts(t.text, t.f);
    db.entries.push(...parsed.entries);
    db.skipped.push(...parsed.skipped);
  }
  return db;
}

/** "hostfield keytype base64", the host field hashed when HashKnownHosts is on. */
export function formatEntry(field: string, keyType: string, key: Buffer, hash: boolean): string {
  return `${hash ? hashHostName(field) : field} ${keyType} ${key.toString("base64")}`;
}

function endsWithoutNewline(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * hostfile.c add_host_to_hostfile: creates the directory (0700) and the file
 * (0600) when missing, adds a newline if the last line lacks one, appends.
 * Synchronous on purpose: it runs inside ssh2's host key callback.
 */
export function appendKnownHost(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const prefix = endsWithoutNewline(file) ? "\n" : "";
  appendFileSync(file, `${prefix}${line}\n`, { mode: 0o600 });
}
