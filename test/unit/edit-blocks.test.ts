import { describe, expect, test } from "bun:test";
import type { FwdError } from "../../src/errors.ts";
import { managedNames, removeBlock, upsertBlocks } from "../../src/sshconfig/edit.ts";

const body = (name: string, host = "h") => ({
  name,
  lines: [`Host ${name}`, `  HostName ${host}`],
});
const block = (name: string, host = "h", eol = "\n") =>
  [`# >>> fwd ${name} >>>`, `Host ${name}`, `  HostName ${host}`, `# <<< fwd ${name} <<<`].join(
    eol,
  ) + eol;
const B = block("forward1");

const upsert = (text: string, blocks = [body("forward1")], force = false) =>
  upsertBlocks(Buffer.from(text, "latin1"), blocks, { force }).data.toString("latin1");

describe("inserting a new block", () => {
  test.each([
    ["an empty file", "", B],
    ["a file with only global options", "User g\nPort 2\n", `User g\nPort 2\n\n${B}`],
    ["globals then a Host", "User g\n\nHost a\n  User x\n", `User g\n\n${B}\nHost a\n  User x\n`],
    [
      "a comment directly above the first Host",
      "User g\n# work\nHost a\n",
      `User g\n${B}\n# work\nHost a\n`,
    ],
    ["a Match block first", "Match host x\n  User y\n", `${B}\nMatch host x\n  User y\n`],
    [
      "an Include among the globals",
      "Include config.d/*\nHost a\n",
      `Include config.d/*\n${B}\nHost a\n`,
    ],
    ["Host written as HOST=", "Compression yes\nHOST=a\n", `Compression yes\n${B}\nHOST=a\n`],
    ["indented Host lines", "  host a b\n", `${B}\n  host a b\n`],
    ["no trailing newline", "User g", `User g\n\n${B}`],
    ["a trailing blank line", "User g\n\n", `User g\n\n\n${B}`],
    ["trailing spaces", "User g   \nHost a \t\n", `User g   \n${B}\nHost a \t\n`],
  ])("into %s", (_what, before, after) => {
    expect(upsert(before)).toBe(after);
  });

  test("keeps CRLF line endings and writes the block with CRLF", () => {
    expect(upsert("User g\r\nHost a\r\n")).toBe(
      `User g\r\n${block("forward1", "h", "\r\n")}\r\nHost a\r\n`,
    );
  });

  test("keeps a UTF-8 BOM at the very start", () => {
    const bom = "\xef\xbb\xbf";
    expect(upsert(`${bom}Host a\n`)).toBe(`${bom}${B}\nHost a\n`);
    expect(upsert(bom)).toBe(`${bom}${B}`);
  });

  test("keeps bytes that are not UTF-8 as they were", () => {
    const before = Buffer.from([
      0x23, 0x20, 0xff, 0xfe, 0x0a, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x20, 0x61, 0x0a,
    ]);
    const after = upsertBlocks(before, [body("forward1")]).data;
    expect(after.subarray(0, 6)).toEqual(before.subarray(0, 6));
    expect(after.subarray(after.length - 7)).toEqual(before.subarray(6));
  });

  test("writes a UTF-8 path in the block as UTF-8 bytes", () => {
    const after = upsertBlocks(Buffer.alloc(0), [
      { name: "f", lines: ["Host f", '  IdentityFile "/k/clé"'] },
    ]).data;
    expect(after.toString("utf8")).toContain('IdentityFile "/k/clé"');
  });

  test("puts several new blocks together, in order", () => {
    const out = upsert("Host a\n", [body("forward1"), body("forward2")]);
    expect(out).toBe(`${B}\n${block("forward2")}\nHost a\n`);
    expect(managedNames(Buffer.from(out))).toEqual(["forward1", "forward2"]);
  });

  test("goes before an existing fwd block, never inside it", () => {
    const before = `User g\n${block("old")}\nHost a\n`;
    expect(upsert(before)).toBe(`User g\n${B}\n${block("old")}\nHost a\n`);
  });
});

describe("replacing an existing block", () => {
  test("replaces it in place, leaving everything around it alone", () => {
    const before = `User g\n\nHost a\n  User x\n\n${block("forward1", "old")}\nHost b\n`;
    expect(upsert(before)).toBe(`User g\n\nHost a\n  User x\n\n${B}\nHost b\n`);
  });

  test("a second identical run is byte-identical and reports unchanged", () => {
    const once = upsert("User g\r\nHost a\r\n");
    const again = upsertBlocks(Buffer.from(once, "latin1"), [body("forward1")]);
    expect(again.data.toString("latin1")).toBe(once);
    expect(again.actions).toEqual([{ name: "forward1", action: "unchanged" }]);
  });

  test("keeps a missing final newline after the end marker", () => {
    const before = `Host a\n${block("forward1", "old").trimEnd()}`;
    expect(upsert(before)).toBe(`Host a\n${B.trimEnd()}`);
  });

  test("adds the second block without moving the first", () => {
    const once = upsert("Host a\n");
    expect(upsert(once, [body("forward1"), body("forward2")])).toBe(
      `${block("forward2")}\n${B}\nHost a\n`,
    );
  });
});

describe("removing a block", () => {
  test.each([
    ["before a Host", "User g\n\nHost a\n  User x\n"],
    ["at the end", "User g\n"],
    ["at the end after a blank line", "User g\n\n"],
    ["in an empty file", ""],
    ["with CRLF", "User g\r\nHost a\r\n"],
    ["with comments above the first Host", "User g\n# work\nHost a\n"],
  ])("insert then remove %s gives the original bytes", (_what, original) => {
    const inserted = upsertBlocks(Buffer.from(original), [body("forward1")]).data;
    expect(removeBlock(inserted, "forward1").data.toString("latin1")).toBe(original);
  });

  test("removing a block that is not there changes nothing", () => {
    expect(removeBlock(Buffer.from("Host a\n"), "forward1")).toEqual({
      data: Buffer.from("Host a\n"),
      removed: false,
    });
  });
});

describe("Hosts written by hand and damaged markers", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as FwdError;
    }
    throw new Error("did not throw");
  };

  test("refuses to shadow a hand-written Host of the same name", () => {
    const e = err(() => upsert("Host a\nHost Forward1\n  User me\n"));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("line 2");
    expect(e.hint).toContain("--force");
  });

  test("--force converts the hand-written block in place, keeping what follows", () => {
    const before = "Host a\n\nHost forward1\n  User me\n\n# b\nHost b\n";
    expect(upsert(before, [body("forward1")], true)).toBe(`Host a\n\n${B}\n# b\nHost b\n`);
  });

  test("--force still refuses a Host line that names other hosts too", () => {
    expect(err(() => upsert("Host forward1 other\n", [body("forward1")], true)).message).toContain(
      "other patterns",
    );
  });

  test("a Host pattern that merely matches the name is not a conflict", () => {
    expect(upsert("Host forward*\n  User w\n")).toBe(`${B}\nHost forward*\n  User w\n`);
  });

  test.each([
    ["a begin marker without end", "# >>> fwd forward1 >>>\nHost forward1\n"],
    ["an end marker without begin", "Host a\n# <<< fwd forward1 <<<\n"],
    ["the same block twice", `${B}${B}`],
  ])("refuses a file with %s", (_what, before) => {
    expect(err(() => upsert(before)).exitCode).toBe(2);
  });
});
