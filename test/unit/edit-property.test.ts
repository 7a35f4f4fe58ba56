/**
 * Properties of the block editor over random configs (mixed line endings, BOM,
 * comments, Match/Include, no final newline): inserting then removing gives
 * the original bytes, a second identical upsert changes nothing, and the new
 * blocks always sit where a Host context begins (never splitting global lines
 * from the lines they belong to).
 */
import { expect, test } from "bun:test";
import { managedNames, removeBlock, upsertBlocks } from "../../src/sshconfig/edit.ts";
import { prng } from "../helpers/prng.ts";

const GLOBAL = [
  "User g",
  "Compression yes",
  "Include config.d/*",
  "  ServerAliveInterval 30",
  "# a comment",
  "",
  "   ",
  "\t# indented comment",
];
const HOSTS = ["Host a", "Host b c", "host=d", "  HOST e", "Match host x", "Match all", "Host *"];
const BODY = ["  User x", "\tPort 2", "  # note", "", "  IdentityFile ~/.ssh/k"];

function randomConfig(rnd: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const eol = rnd() < 0.3 ? "\r\n" : "\n";
  const lines: string[] = [];
  for (let i = Math.floor(rnd() * 4); i > 0; i--) lines.push(pick(GLOBAL));
  for (let h = Math.floor(rnd() * 4); h > 0; h--) {
    lines.push(pick(HOSTS));
    for (let i = Math.floor(rnd() * 3); i > 0; i--) lines.push(pick(BODY));
  }
  let text = lines.map((l) => l + (rnd() < 0.05 ? "\n" : eol)).join("");
  if (rnd() < 0.2) text = text.replace(/\r?\n$/, "");
  if (rnd() < 0.1) text = `\xef\xbb\xbf${text}`;
  return text;
}

const blocks = [
  { name: "forward1", lines: ["Host forward1", "  HostName h"] },
  { name: "forward2", lines: ["Host forward2", "  Port 10022"] },
];

/** The directive context every original line had: the Host/Match line above it (or global). */
function contexts(text: string, skip: (line: string) => boolean): string[] {
  let ctx = "global";
  const out: string[] = [];
  let inBlock = false;
  for (const line of text.replace(/^\xef\xbb\xbf/, "").split(/\r?\n/)) {
    if (/^# >>> fwd /.test(line)) inBlock = true;
    if (!inBlock && !skip(line)) {
      if (/^[ \t]*(host|match)(?=[ \t=]|$)/i.test(line)) ctx = line;
      out.push(`${ctx} :: ${line}`);
    } else if (/^[ \t]*(host|match)(?=[ \t=]|$)/i.test(line)) ctx = "fwd";
    if (/^# <<< fwd /.test(line)) inBlock = false;
  }
  return out;
}

test("insert/remove round-trips, upsert is idempotent, no line changes its Host context", () => {
  const rnd = prng(7);
  for (let run = 0; run < 2000; run++) {
    const original = randomConfig(rnd);
    const why = JSON.stringify(original);
    const once = upsertBlocks(Buffer.from(original, "latin1"), blocks);
    expect(managedNames(once.data), why).toEqual(expect.arrayContaining(["forward1", "forward2"]));
    const twice = upsertBlocks(once.data, blocks);
    expect(twice.data.equals(once.data), why).toBe(true);
    expect(
      twice.actions.every((a) => a.action === "unchanged"),
      why,
    ).toBe(true);

    let back = removeBlock(once.data, "forward1").data;
    back = removeBlock(back, "forward2").data;
    const missingFinalNewline =
      !/\n$/.test(original) && original.replace(/^\xef\xbb\xbf/, "") !== "";
    const inert = (l: string) => /^[ \t]*(#.*)?$/.test(l);
    if (!missingFinalNewline) expect(back.toString("latin1"), why).toBe(original);
    // Blank and comment lines carry no directive; every other original line keeps its context.
    expect(contexts(once.data.toString("latin1"), inert), why).toEqual(contexts(original, inert));
  }
});
