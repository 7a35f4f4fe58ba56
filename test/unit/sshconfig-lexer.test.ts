import { expect, test } from "bun:test";
import { argvSplit, lex, lexLine, strdelim } from "../../src/sshconfig/lexer.ts";

test.each([
  ["Host a", "host", "a", ["a"]],
  ["  HostName\texample.com", "hostname", "example.com", ["example.com"]],
  ["User=alice", "user", "alice", ["alice"]],
  ["Port = 2222", "port", "2222", ["2222"]],
  ["Port= 2222", "port", "2222", ["2222"]],
  ["IdentityFile =~/.ssh/k", "identityfile", "~/.ssh/k", ["~/.ssh/k"]],
  ['"User" quoted', "user", "quoted", ["quoted"]],
  ["User u # trailing comment", "user", "u # trailing comment", ["u"]],
  ["Host a#b", "host", "a#b", ["a#b"]],
  ['User "jo hn"', "user", '"jo hn"', ["jo hn"]],
  ["IdentityFile '/k e y'", "identityfile", "'/k e y'", ["/k e y"]],
  ['SetEnv X=\\"y\\" Z=a\\ b', "setenv", 'X=\\"y\\" Z=a\\ b', ['X="y"', "Z=a b"]],
  ["SendEnv a\\x", "sendenv", "a\\x", ["a\\x"]],
  ["User crlf\r", "user", "crlf", ["crlf"]],
  ["User ff\f", "user", "ff", ["ff"]],
  ["PROXYCOMMAND   nc %h %p", "proxycommand", "nc %h %p", ["nc", "%h", "%p"]],
])("lexes %p into keyword, rest and arguments", (text, keyword, rest, args) => {
  expect(lexLine(text, 7)).toEqual({ kind: "line", value: { line: 7, keyword, rest, args } });
});

test.each(["", "   ", "# comment", "  # indented comment", "\t\r"])(
  "skips blank and comment line %p",
  (text) => {
    expect(lexLine(text, 1)).toBeUndefined();
  },
);

test("a keyword without a value is an error on its line", () => {
  expect(lexLine("  User", 4)).toEqual({
    kind: "error",
    line: 4,
    message: 'no argument after keyword "user"',
  });
});

test("an unterminated quote leaves the arguments undefined (ssh: invalid quotes)", () => {
  const r = lexLine('User "abc', 2);
  expect(r?.kind === "line" && r.value.args).toBeUndefined();
});

test("keeps line numbers across blank lines and CRLF", () => {
  const lines = lex("# c\r\n\r\nHost a\r\n  User u\r\n").map((l) =>
    l.kind === "line" ? [l.value.line, l.value.keyword] : l,
  );
  expect(lines).toEqual([
    [3, "host"],
    [4, "user"],
  ]);
});

test.each([
  ["a b", ["a", "b"]],
  ["a=b", ["a", "b"]],
  ["a = b", ["a", "b"]],
  ["a= =b", ["a", "=b"]],
  ['"a b" c', ["a b", "c"]],
  ['x"y z"w', ["xy z", "w"]],
  ["tail", ["tail", undefined]],
])("strdelim cuts %p like misc.c", (s, want) => {
  expect(strdelim(s)).toEqual(want as [string, string | undefined]);
});

test.each([
  ["a b\tc", ["a", "b", "c"]],
  ["a #c", ["a"]],
  ["a#b c", ["a#b", "c"]],
  ["'a \"b' \"c 'd\"", ['a "b', "c 'd"]],
  ["a\\ b", ["a b"]],
  ["'a\\ b'", ["a\\ b"]],
  ['""', [""]],
])("argv_split %p", (s, want) => {
  expect(argvSplit(s)).toEqual(want);
});
