import { expect, test } from "bun:test";
import { matchHostname, matchPattern, matchPatternList } from "../../src/sshconfig/match.ts";

test.each([
  ["host", "host", true],
  ["host", "h*", true],
  ["host", "*", true],
  ["", "*", true],
  ["host", "h?st", true],
  ["hst", "h?st", false],
  ["web12", "web?", false],
  ["api.prod", "*.prod", true],
  ["prod", "*.prod", false],
  ["MyHost", "myhost", false],
  ["a,b", "a,b", true],
  ["a", "a,b", false],
  ["a.b.c", "*.*", true],
  ["aXbXc", "a*b*c", true],
  ["abc", "a**c", true],
  ["[x]", "[x]", true],
])("match_pattern(%p, %p) is %p", (s, p, want) => {
  expect(matchPattern(s, p)).toBe(want);
});

test.each([
  ["a.corp", "*.corp,!secret.corp", 1],
  ["secret.corp", "*.corp,!secret.corp", -1],
  ["x", "*.corp,!secret.corp", 0],
  ["x", "!y", 0],
  ["fwdtest", "root,fwd*", 1],
])("match_pattern_list(%p, %p) is %p", (s, p, want) => {
  expect(matchPatternList(s, p, false)).toBe(want as -1 | 0 | 1);
});

test("Match host lower-cases both the host and the patterns", () => {
  expect(matchHostname("Web.Example.COM", "*.EXAMPLE.com")).toBe(1);
  expect(matchPatternList("User", "user", true)).toBe(0); // the string itself is not lower-cased
});
