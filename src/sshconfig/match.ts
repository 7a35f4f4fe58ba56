/**
 * Pattern matching as match.c: `*` and `?` wildcards, comma-separated
 * pattern lists with `!` negation. Host lines use single patterns
 * (case-sensitive, a comma is an ordinary character); Match host uses
 * lists, lower-cased.
 */

/** match.c match_pattern(): `*` any run, `?` one character, everything else literal. */
export function matchPattern(s: string, pattern: string): boolean {
  // Iterative glob with backtracking to the last `*`: same language as ssh's recursion.
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const p = pattern[pi];
    if (p === "*") {
      star = pi++;
      mark = si;
    } else if (p !== undefined && (p === "?" || p === s[si])) {
      si++;
      pi++;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (pattern[pi] === "*") pi++;
  return pi === pattern.length;
}

/**
 * match.c match_pattern_list(): 1 on a positive match, -1 when a negated
 * pattern matches, 0 otherwise. `lower` lower-cases the patterns (not `s`).
 */
export function matchPatternList(s: string, patterns: string, lower: boolean): -1 | 0 | 1 {
  let positive = false;
  for (const raw of patterns.split(",")) {
    const neg = raw.startsWith("!");
    let sub = neg ? raw.slice(1) : raw;
    if (sub.length >= 1023) return 0;
    if (lower) sub = sub.replace(/[A-Z]/g, (c) => c.toLowerCase());
    if (matchPattern(s, sub)) {
      if (neg) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** match.c match_hostname(): the host lower-cased against a lower-cased list. */
export function matchHostname(host: string, patterns: string): -1 | 0 | 1 {
  return matchPatternList(host.toLowerCase(), patterns, true);
}

/**
 * readconf.c oHost: the block applies when some pattern matches and no
 * negated one does. Patterns are matched against `host` case-sensitively.
 */
export function hostMatches(
  host: string,
  patterns: string[],
): { active: boolean; matched?: string } {
  let active = false;
  let matched: string | undefined;
  for (const arg of patterns) {
    const neg = arg.startsWith("!");
    const p = neg ? arg.slice(1) : arg;
    if (matchPattern(host, p)) {
      if (neg) return { active: false };
      if (!active) matched = p;
      active = true;
    }
  }
  return matched === undefined ? { active } : { active, matched };
}
