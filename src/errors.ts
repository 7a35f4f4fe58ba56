/** Exit codes of the CLI contract (DESIGN.md §3). */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  hostKey: 3,
  auth: 4,
  forward: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | "usage"
  | "config"
  | "io"
  | "runtime"
  | "dns"
  | "connect"
  | "timeout"
  | "protocol"
  | "host-key-unknown"
  | "host-key-changed"
  | "host-key-revoked"
  | "auth"
  | "forward"
  | "port-in-use"
  | "already-running"
  | "not-running"
  | "cancelled";

const exitFor: Record<ErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  config: ExitCode.usage,
  io: ExitCode.runtime,
  runtime: ExitCode.runtime,
  dns: ExitCode.runtime,
  connect: ExitCode.runtime,
  timeout: ExitCode.runtime,
  protocol: ExitCode.runtime,
  "host-key-unknown": ExitCode.hostKey,
  "host-key-changed": ExitCode.hostKey,
  "host-key-revoked": ExitCode.hostKey,
  auth: ExitCode.auth,
  forward: ExitCode.forward,
  "port-in-use": ExitCode.forward,
  "already-running": ExitCode.runtime,
  "not-running": ExitCode.runtime,
  cancelled: ExitCode.interrupted,
};

/**
 * The one error type fwd throws on purpose: a one-line message saying what
 * failed and a hint saying what to do. main.ts prints it once.
 */
export class FwdError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = "FwdError";
    this.code = code;
    this.hint = hint;
    this.exitCode = exitFor[code];
  }
}

export function isFwdError(e: unknown): e is FwdError {
  return e instanceof FwdError;
}

/** "connect ECONNREFUSED 127.0.0.1:22" -> the message of any thrown value. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** One line for a log: the message, and the hint when there is one. */
export function explain(e: unknown): string {
  return isFwdError(e) && e.hint ? `${e.message} (${e.hint})` : messageOf(e);
}
