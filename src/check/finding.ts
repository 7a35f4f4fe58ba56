/**
 * A Finding is one line of `fwd check`: which layer, whether it passed, what
 * was seen, and what to do when it did not. Layers run in route order and the
 * first failure ends the check; its layer decides the exit code.
 */
import { ExitCode } from "../errors.ts";

export type Layer =
  | "config"
  | "dns"
  | "tcp"
  | "ssh"
  | "host-key"
  | "auth"
  | "forward"
  | "destination"
  | "local";

export interface Finding {
  layer: Layer;
  ok: boolean;
  /** One short line: what was checked and how it went. */
  title: string;
  /** What was seen (addresses, versions, fingerprints…); may span lines. */
  detail: string;
  /** On failure: what to do. */
  hint?: string;
  /** Measured time of this step, in milliseconds. */
  ms: number;
}

/** DESIGN.md exit codes by the class of the failing layer. */
const exitFor: Record<Layer, ExitCode> = {
  config: ExitCode.usage,
  dns: ExitCode.runtime,
  tcp: ExitCode.runtime,
  ssh: ExitCode.runtime,
  "host-key": ExitCode.hostKey,
  auth: ExitCode.auth,
  forward: ExitCode.forward,
  destination: ExitCode.forward,
  local: ExitCode.forward,
};

export function exitCodeOf(findings: readonly Finding[]): ExitCode {
  const failed = findings.find((f) => !f.ok);
  return failed ? exitFor[failed.layer] : ExitCode.ok;
}

/** A Finding before its time is stamped. */
export type Draft = Omit<Finding, "ms">;

/** Runs a step and stamps its Finding with the time it took. */
export async function timed(
  step: () => Promise<Draft> | Draft,
  now = () => performance.now(),
): Promise<Finding> {
  const t0 = now();
  const f = await step();
  return { ...f, ms: Math.round(now() - t0) };
}

export const pass = (layer: Layer, title: string, detail = ""): Draft => ({
  layer,
  ok: true,
  title,
  detail,
});

export const fail = (layer: Layer, title: string, detail: string, hint: string): Draft => ({
  layer,
  ok: false,
  title,
  detail,
  hint,
});
