/**
 * Questions a background child cannot ask (it has no terminal) relayed to the
 * `run -d` that started it, which has one — so `fwd run -d` prompts for an
 * unknown host key or a key's passphrase exactly like the foreground run, the
 * way `ssh -f` asks before going to the background.
 *
 * Channel: a pipe on the child's fd 3 (FWD_DAEMON_ASK_FD=3), one JSON object
 * per line. Child → parent: {"id":1,"kind":"passphrase","path":…} or
 * {"id":2,"kind":"hostkey","host":…,"fingerprint":…,"keyType":…}.
 * Parent → child: {"id":1,"value":"…"|true|false|null}. Nothing is ever
 * written to disk. Once the child is up the relay closes; a passphrase given
 * through it stays in the child's memory only, so a reconnect can use the key
 * again (as it could if the key sat in ssh-agent).
 */
import { createReadStream, writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

export const ASK_FD_ENV = "FWD_DAEMON_ASK_FD";

export interface HostKeyQuestion {
  host: string;
  fingerprint: string;
  keyType: string;
}

type Question = { kind: "passphrase"; path: string } | ({ kind: "hostkey" } & HostKeyQuestion);
type Request = Question & { id: number };
type Answer = { id: number; value: string | boolean | null };

/** Splits a byte stream into JSON lines; bad lines are skipped. */
function onLines(stream: Readable, fn: (v: unknown) => void): void {
  let buf = "";
  stream.on("data", (chunk: Buffer | string) => {
    buf += chunk.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        fn(JSON.parse(line));
      } catch {}
    }
  });
}

export interface ChildRelay {
  askPassphrase(path: string): Promise<string | undefined>;
  askHostKey(q: HostKeyQuestion): Promise<boolean>;
  /** Stops relaying (the parent is about to leave); later questions get "no answer". */
  close(): void;
}

let singleton: ChildRelay | undefined | null;

/** The child's end, when its parent offered one (it had a terminal); undefined otherwise. */
export function childRelay(
  env: Readonly<Record<string, string | undefined>>,
): ChildRelay | undefined {
  if (singleton !== undefined) return singleton ?? undefined;
  const fd = Number(env[ASK_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) {
    singleton = null;
    return undefined;
  }
  let open = true;
  let next = 1;
  const waiting = new Map<number, (v: Answer["value"]) => void>();
  const passphrases = new Map<string, string>();
  const input = createReadStream("", { fd, autoClose: true });
  const endAll = () => {
    open = false;
    for (const done of waiting.values()) done(null);
    waiting.clear();
  };
  input.on("end", endAll);
  input.on("error", endAll);
  onLines(input, (v) => {
    const a = v as Partial<Answer>;
    const done = typeof a.id === "number" ? waiting.get(a.id) : undefined;
    if (!done) return;
    waiting.delete(a.id as number);
    done(a.value ?? null);
  });
  const ask = (req: Question): Promise<Answer["value"]> => {
    if (!open) return Promise.resolve(null);
    const id = next++;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      try {
        writeSync(fd, `${JSON.stringify({ ...req, id })}\n`);
      } catch {
        waiting.delete(id);
        endAll();
        resolve(null);
      }
    });
  };
  singleton = {
    async askPassphrase(path) {
      const known = passphrases.get(path);
      if (known !== undefined) return known;
      const v = await ask({ kind: "passphrase", path });
      if (typeof v !== "string") return undefined;
      passphrases.set(path, v);
      return v;
    },
    async askHostKey(q) {
      return (await ask({ kind: "hostkey", ...q })) === true;
    },
    close() {
      if (!open) return;
      endAll();
      // A pending read ends when the parent closes its end (it does right after
      // the report); destroy() then closes the fd once, never under a live read.
      input.destroy();
    },
  };
  return singleton;
}

export interface Answerers {
  passphrase?: ((path: string) => Promise<string | undefined>) | undefined;
  hostKey?: ((q: HostKeyQuestion) => Promise<boolean>) | undefined;
}

/**
 * The parent's end: answers the child's questions with the terminal's
 * answerers, one at a time. `busy` tells the caller a person is being asked
 * (the start deadline must not run out while they type).
 */
export function serveRelay(
  input: Readable,
  output: Writable,
  answer: Answerers,
  busy: (asking: boolean) => void,
): void {
  let queue = Promise.resolve();
  onLines(input, (v) => {
    const req = v as Partial<Request>;
    if (typeof req.id !== "number") return;
    const id = req.id;
    queue = queue.then(async () => {
      let value: Answer["value"] = null;
      busy(true);
      try {
        if (req.kind === "passphrase" && typeof req.path === "string" && answer.passphrase) {
          value = (await answer.passphrase(req.path)) ?? null;
        } else if (req.kind === "hostkey" && answer.hostKey) {
          const q = req as HostKeyQuestion;
          value = await answer.hostKey({
            host: q.host,
            fingerprint: q.fingerprint,
            keyType: q.keyType,
          });
        }
      } catch {
        value = null;
      } finally {
        busy(false);
      }
      if (!output.destroyed) output.write(`${JSON.stringify({ id, value })}\n`);
    });
  });
}
