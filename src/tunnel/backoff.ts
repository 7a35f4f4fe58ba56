/**
 * Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff
 * And Jitter"): delay = random(0, min(cap, base * 2^attempt)). Pure: the random
 * source is passed in.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** A connection that stayed up this long resets the attempt counter. */
  resetAfterMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1000, capMs: 60_000, resetAfterMs: 30_000 };

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** The attempt counter to use after a connection that was up for `upMs` dropped. */
export function attemptAfterDrop(policy: BackoffPolicy, attempt: number, upMs: number): number {
  return upMs >= policy.resetAfterMs ? 0 : attempt;
}
