import { describe, expect, test } from "bun:test";
import { attemptAfterDrop, backoffDelay, defaultBackoff } from "../../src/tunnel/backoff.ts";

describe("full-jitter backoff", () => {
  test.each([
    [0, 1, 999],
    [1, 1, 1999],
    [3, 1, 7999],
    [6, 1, 59_999],
    [40, 1, 59_999],
  ])("attempt %i with random→1 stays under min(cap, base·2^n)", (attempt, r, max) => {
    expect(backoffDelay(defaultBackoff, attempt, () => r - 1e-9)).toBe(max);
  });

  test("random→0 retries at once", () => {
    expect(backoffDelay(defaultBackoff, 5, () => 0)).toBe(0);
  });

  test("a connection up for 30 s resets the attempt counter; a shorter one does not", () => {
    expect(attemptAfterDrop(defaultBackoff, 7, 30_000)).toBe(0);
    expect(attemptAfterDrop(defaultBackoff, 7, 29_999)).toBe(7);
  });
});
