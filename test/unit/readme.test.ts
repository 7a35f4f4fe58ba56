/**
 * The README's command reference and `fwd --help` come from the same cac
 * definitions: a command or flag added to one and not the other fails here.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildCli } from "../../src/cli.ts";

const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
const section = readme.slice(
  readme.indexOf("## Commands"),
  readme.indexOf("\n## ", readme.indexOf("## Commands") + 5),
);
const cli = buildCli(["fwd"]);

describe("README command reference matches the CLI", () => {
  const commands = cli.commands.filter((c) => c.name && c.description);

  test.each(commands.map((c) => [c.name.split(" ")[0]!, c] as const))(
    "`fwd %s` is documented",
    (name) => {
      expect(section).toContain(`\`fwd ${name}`);
    },
  );

  test("every command the README lists exists", () => {
    const listed = [...section.matchAll(/^\| `fwd ([a-z][a-z-]*)/gm)].map((m) => m[1]);
    const known = new Set(commands.map((c) => c.name.split(" ")[0]));
    expect(listed.length).toBeGreaterThan(5);
    for (const name of listed) expect(known.has(name!)).toBe(true);
  });

  test.each(
    cli.globalCommand.options
      .filter((o) => !["help", "version"].includes(o.name))
      .map((o) => [o.rawName] as const),
  )("global flag %s is documented", (raw) => {
    const long = raw.match(/--[a-z-]+/)?.[0];
    expect(long).toBeDefined();
    expect(section).toContain(long!);
  });
});
