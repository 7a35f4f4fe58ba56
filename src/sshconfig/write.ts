/**
 * Atomic update of an ssh_config file: lock, read, transform, write a temp
 * file in the same directory, fsync, verify, keep one backup, rename over.
 * A crash at any point leaves the old file or the new one, never a mix.
 * A symlinked config is written through to its target (the link survives);
 * mode and owner are preserved; a new file is 0600 in a 0700 directory.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FwdError, messageOf } from "../errors.ts";

export interface WriteHooks {
  /** After the temp file is complete and fsynced, before the backup and the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

export interface UpdateOptions {
  path: string;
  /** Runs under the lock with the current content (undefined: no file yet). */
  transform: (current: Buffer | undefined) => Buffer;
  /** Runs on the complete temp file; throwing aborts, leaving the config untouched. */
  verify?: (tempPath: string) => Promise<void>;
  hooks?: WriteHooks;
  /** How long to wait for another fwd holding the lock. */
  lockTimeoutMs?: number;
}

export interface UpdateResult {
  status: "created" | "updated" | "unchanged";
  /** The file actually written (the symlink's target). */
  path: string;
  backup: string | undefined;
}

const backupPath = (target: string) => `${target}.fwd.bak`;

/** Follow a symlink chain to the file to replace (which may not exist yet). */
export function realTarget(path: string): string {
  let cur = resolve(path);
  for (let i = 0; i < 40; i++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      return cur;
    }
    if (!st.isSymbolicLink()) return cur;
    cur = resolve(dirname(cur), fs.readlinkSync(cur));
  }
  throw new FwdError("io", `${path}: too many levels of symbolic links`);
}

export async function updateFile(opts: UpdateOptions): Promise<UpdateResult> {
  const target = realTarget(opts.path);
  const dir = dirname(target);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new FwdError("io", `cannot create ${dir}: ${messageOf(e)}`);
  }
  const release = await lock(target, opts.lockTimeoutMs ?? 5000);
  try {
    removeStaleTemps(target);
    const current = readOrUndefined(target);
    const next = opts.transform(current);
    if (current?.equals(next)) return { status: "unchanged", path: target, backup: undefined };
    const st = current ? fs.statSync(target) : undefined;
    const temp = writeTemp(target, next, st);
    try {
      await opts.verify?.(temp);
      await opts.hooks?.beforeRename?.(temp);
      const backup = current ? backupPath(target) : undefined;
      if (current && backup) fs.renameSync(writeTemp(target, current, st, 0o600), backup);
      fs.renameSync(temp, target);
      syncDir(dir);
      return { status: current ? "updated" : "created", path: target, backup };
    } finally {
      fs.rmSync(temp, { force: true });
    }
  } finally {
    release();
  }
}

function readOrUndefined(path: string): Buffer | undefined {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FwdError("io", `cannot read ${path}: ${messageOf(e)}`);
  }
}

const tempPrefix = (target: string) => `.${basename(target)}.fwd-`;

/** A complete, fsynced copy next to the target, with its mode and owner. */
function writeTemp(target: string, data: Buffer, st: fs.Stats | undefined, mode?: number): string {
  const temp = join(
    dirname(target),
    `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString("hex")}.tmp`,
  );
  const fd = fs.openSync(temp, "wx", 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode ?? (st ? st.mode & 0o7777 : 0o600));
    if (st) {
      try {
        fs.fchownSync(fd, st.uid, st.gid);
      } catch {
        // Not root: the file is ours already, as rename keeps the writer's owner.
      }
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw new FwdError("io", `cannot write ${temp}: ${messageOf(e)}`);
  }
  fs.closeSync(fd);
  return temp;
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Temp files left by a fwd that was killed mid-write. */
function removeStaleTemps(target: string): void {
  const prefix = tempPrefix(target);
  for (const f of fs.readdirSync(dirname(target))) {
    const m = f.startsWith(prefix) ? /-(\d+)-[0-9a-f]+\.tmp$/.exec(f) : null;
    if (m && !alive(Number(m[1]))) fs.rmSync(join(dirname(target), f), { force: true });
  }
}

/** An O_EXCL lock file holding our pid; a lock whose pid is gone is stale and taken over. */
async function lock(target: string, timeoutMs: number): Promise<() => void> {
  const path = `${target}.fwd.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(path, "wx", 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new FwdError("io", `cannot lock ${target}: ${messageOf(e)}`);
      }
    }
    const pid = Number.parseInt(readOrUndefined(path)?.toString() ?? "", 10);
    // An empty lock may be one being created right now: stale only once it is old.
    const stale = Number.isFinite(pid) ? !alive(pid) : ageMs(path) > 2000;
    if (stale) {
      fs.rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new FwdError(
        "io",
        `${target} is being edited by another fwd (pid ${pid})`,
        `wait for it, or remove ${path} if that process is gone`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - fs.statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
