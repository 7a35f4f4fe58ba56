/**
 * The background run's log: one line per event, ISO timestamp first, file
 * 0600. Past `maxBytes` the file is renamed to NAME.log.1 (replacing the older
 * one) and a new one is started, so a long-lived tunnel keeps at most ~2×maxBytes.
 */
import { appendFileSync, chmodSync, renameSync, statSync } from "node:fs";

export interface LogFile {
  readonly path: string;
  write(line: string): void;
}

export const LOG_MAX_BYTES = 1024 * 1024;

/** Control characters would let a logged value forge lines or terminal escapes. */
function clean(line: string): string {
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "?").replace(/\n/g, " ⏎ ");
}

export function openLogFile(
  path: string,
  opts: { maxBytes?: number; now?: () => Date } = {},
): LogFile {
  const maxBytes = opts.maxBytes ?? LOG_MAX_BYTES;
  const now = opts.now ?? (() => new Date());
  return {
    path,
    write(line: string) {
      const text = `${now().toISOString()} ${clean(line)}\n`;
      try {
        let size = 0;
        try {
          size = statSync(path).size;
        } catch {}
        if (size > 0 && size + text.length > maxBytes) renameSync(path, `${path}.1`);
        appendFileSync(path, text, { mode: 0o600 });
        if (size === 0) chmodSync(path, 0o600);
      } catch {
        // Logging must never take the tunnel down (disk full, dir removed).
      }
    },
  };
}
