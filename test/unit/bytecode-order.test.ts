/**
 * The committed bytecode-order profiles (scripts/bytecode-order/, recorded by
 * `npm run bytecode-order`) are in the format Bun reads, and scripts/build.ts
 * passes them to `bun build`, the run profile first.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { bytecodeOrder } from "../../scripts/build.ts";

test("the build lays bytecode out by the run, version and status profiles", () => {
  const files = bytecodeOrder();
  expect(files.map((f) => basename(f))).toEqual(["run.txt", "version.txt", "status.txt"]);
  for (const f of files) {
    const lines = readFileSync(f, "utf8").split("\n");
    expect(lines[0]).toBe("v2");
    // One entry per module (M), function (F) or other unit (S) the recorded run loaded, by hash.
    expect(lines.slice(1, 50).every((l) => /^[MFS] [0-9a-f]{16}$/.test(l))).toBe(true);
    expect(lines.length).toBeGreaterThan(1000);
  }
});
