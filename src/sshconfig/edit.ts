/**
 * Managed blocks in an ssh_config file: insert, replace in place, remove,
 * preserving every other byte (comments, blank lines, CRLF, a BOM, trailing
 * spaces, a missing final newline, bytes that are not UTF-8). Pure: bytes in,
 * bytes out. The file is handled as latin1 so each byte is one character.
 */
import { FwdError } from "../errors.ts";
import { type BlockBody, beginMarker, endMarker } from "./snippet.ts";

export type EditAction = "inserted" | "replaced" | "unchanged" | "converted";

export interface EditResult {
  data: Buffer;
  actions: Array<{ name: string; action: EditAction }>;
}

interface Line {
  body: string;
  eol: string;
}

interface Range {
  name: string;
  start: number;
  end: number;
}

const BOM = "\xef\xbb\xbf";
const BEGIN = /^# >>> fwd (\S+) >>>[ \t]*$/;
const END = /^# <<< fwd (\S+) <<<[ \t]*$/;

function split(text: string): Line[] {
  if (text === "") return [];
  return text.split(/(?<=\n)/).map((s) => {
    const eol = s.endsWith("\r\n") ? "\r\n" : s.endsWith("\n") ? "\n" : "";
    return { body: s.slice(0, s.length - eol.length), eol };
  });
}

const join = (lines: Line[]) => lines.map((l) => l.body + l.eol).join("");
const isBlank = (l: Line) => /^[ \t]*$/.test(l.body);
const isComment = (l: Line) => /^[ \t]*#/.test(l.body);

/** The directive keyword of a line, lowercased ("host", "match", ...). */
function keyword(l: Line): string | undefined {
  return /^[ \t]*([A-Za-z]+)(?=[ \t=]|$)/.exec(l.body)?.[1]?.toLowerCase();
}

/** Arguments of a directive line: whitespace-separated, "quoted" words, up to a # comment. */
function args(l: Line): string[] {
  const rest = l.body.replace(/^[ \t]*[A-Za-z]+[ \t]*=?[ \t]*/, "");
  const out: string[] = [];
  for (const m of rest.matchAll(/"([^"]*)"|([^\s"]+)/g)) {
    if (m[2]?.startsWith("#")) break;
    out.push(m[1] ?? m[2] ?? "");
  }
  return out;
}

function managedRanges(lines: Line[]): Range[] {
  const ranges: Range[] = [];
  let open: { name: string; start: number } | undefined;
  lines.forEach((l, i) => {
    const b = BEGIN.exec(l.body);
    const e = END.exec(l.body);
    if (b) {
      if (open) throw unterminated(open.name, open.start);
      if (ranges.some((r) => r.name === b[1])) {
        throw new FwdError(
          "config",
          `the fwd block "${b[1]}" appears twice (line ${i + 1})`,
          "delete one of them by hand",
        );
      }
      open = { name: b[1]!, start: i };
    } else if (e) {
      if (!open || open.name !== e[1]) {
        throw new FwdError(
          "config",
          `stray end marker for "${e[1]}" at line ${i + 1}`,
          "delete it or restore the file from its .fwd.bak backup",
        );
      }
      ranges.push({ ...open, end: i });
      open = undefined;
    }
  });
  if (open) throw unterminated(open.name, open.start);
  return ranges;
}

function unterminated(name: string, line: number): FwdError {
  return new FwdError(
    "config",
    `the fwd block "${name}" starting at line ${line + 1} has no end marker`,
    `add "${endMarker(name)}" where it ends, or restore the file from its .fwd.bak backup`,
  );
}

const inside = (ranges: Range[], i: number) => ranges.find((r) => i >= r.start && i <= r.end);

/** A Host line written by hand (outside markers) naming exactly `name`. */
function handWrittenHost(
  lines: Line[],
  ranges: Range[],
  name: string,
): { index: number; patterns: string[] } | undefined {
  for (let i = 0; i < lines.length; i++) {
    if (inside(ranges, i) || keyword(lines[i]!) !== "host") continue;
    const patterns = args(lines[i]!);
    // ssh lowercases the host argument before matching Host patterns.
    if (patterns.some((p) => p.toLowerCase() === name.toLowerCase())) return { index: i, patterns };
  }
  return undefined;
}

/**
 * Where new blocks go: before the first Host/Match line (first obtained value
 * wins, so after the global options), together with comments directly above
 * it; at the end when there is none. Never between a block's lines.
 */
function insertionIndex(lines: Line[], ranges: Range[]): number | undefined {
  const first = lines.findIndex((l) => keyword(l) === "host" || keyword(l) === "match");
  if (first < 0) return undefined;
  const r = inside(ranges, first);
  if (r) return r.start;
  let i = first;
  while (i > 0 && isComment(lines[i - 1]!) && !END.test(lines[i - 1]!.body)) i--;
  return i;
}

function eolOf(lines: Line[]): string {
  return lines.find((l) => l.eol !== "")?.eol ?? "\n";
}

/** Insert or replace one managed block per body, in order. */
export function upsertBlocks(
  data: Buffer,
  blocks: BlockBody[],
  opts: { force?: boolean } = {},
): EditResult {
  const text = data.toString("latin1");
  const bom = text.startsWith(BOM) ? BOM : "";
  let lines = split(text.slice(bom.length));
  const eol = eolOf(lines);
  const actions: EditResult["actions"] = [];
  const pending: Line[][] = [];
  for (const block of blocks) {
    const body = [beginMarker(block.name), ...block.lines, endMarker(block.name)].map((s) => ({
      body: Buffer.from(s, "utf8").toString("latin1"),
      eol,
    }));
    const ranges = managedRanges(lines);
    const r = ranges.find((x) => x.name === block.name);
    if (r) {
      body[body.length - 1]!.eol = lines[r.end]!.eol;
      const same = join(lines.slice(r.start, r.end + 1)) === join(body);
      lines = [...lines.slice(0, r.start), ...body, ...lines.slice(r.end + 1)];
      actions.push({ name: block.name, action: same ? "unchanged" : "replaced" });
      continue;
    }
    const hand = handWrittenHost(lines, ranges, block.name);
    if (hand) {
      lines = convert(lines, ranges, hand, block.name, body, opts.force === true);
      actions.push({ name: block.name, action: "converted" });
      continue;
    }
    pending.push(body);
    actions.push({ name: block.name, action: "inserted" });
  }
  if (pending.length > 0) lines = insert(lines, pending, eol);
  return { data: Buffer.from(bom + join(lines), "latin1"), actions };
}

function insert(lines: Line[], pending: Line[][], eol: string): Line[] {
  const at = insertionIndex(lines, managedRanges(lines));
  const sep = { body: "", eol };
  if (at !== undefined) {
    const added = pending.flatMap((b) => [...b, sep]);
    return [...lines.slice(0, at), ...added, ...lines.slice(at)];
  }
  const out = lines.map((l) => ({ ...l }));
  const last = out[out.length - 1];
  if (last && last.eol === "") last.eol = eol;
  // Always a separator (even after a blank line) so that removing the block
  // takes exactly what inserting it added.
  if (last) out.push(sep);
  for (const [i, b] of pending.entries()) {
    if (i > 0) out.push(sep);
    out.push(...b);
  }
  return out;
}

/** --force: a hand-written `Host NAME` block becomes the managed block, in its place. */
function convert(
  lines: Line[],
  ranges: Range[],
  hand: { index: number; patterns: string[] },
  name: string,
  body: Line[],
  force: boolean,
): Line[] {
  const at = `line ${hand.index + 1}`;
  if (!force) {
    throw new FwdError(
      "usage",
      `Host ${name} already exists (written by hand, ${at})`,
      "choose another name (--name, --ssh-name), or pass --force to replace it with fwd's block",
    );
  }
  if (hand.patterns.length > 1) {
    throw new FwdError(
      "usage",
      `Host ${name} shares its Host line with other patterns (${at})`,
      "split that Host line by hand, or choose another --name",
    );
  }
  let end = hand.index + 1;
  while (
    end < lines.length &&
    !inside(ranges, end) &&
    keyword(lines[end]!) !== "host" &&
    keyword(lines[end]!) !== "match"
  )
    end++;
  while (end > hand.index + 1 && (isBlank(lines[end - 1]!) || isComment(lines[end - 1]!))) end--;
  const lastEol = lines[end - 1]!.eol;
  body[body.length - 1]!.eol = lastEol === "" ? "" : body[0]!.eol;
  return [...lines.slice(0, hand.index), ...body, ...lines.slice(end)];
}

/** Remove a managed block (and the blank line that separated it). */
export function removeBlock(data: Buffer, name: string): { data: Buffer; removed: boolean } {
  const text = data.toString("latin1");
  const bom = text.startsWith(BOM) ? BOM : "";
  const lines = split(text.slice(bom.length));
  const r = managedRanges(lines).find((x) => x.name === name);
  if (!r) return { data, removed: false };
  let start = r.start;
  let end = r.end + 1;
  if (end < lines.length && isBlank(lines[end]!)) end++;
  else if (end >= lines.length && start > 0 && isBlank(lines[start - 1]!)) start--;
  return {
    data: Buffer.from(bom + join([...lines.slice(0, start), ...lines.slice(end)]), "latin1"),
    removed: true,
  };
}

/** The names of the managed blocks in a file, in order. */
export function managedNames(data: Buffer): string[] {
  const text = data.toString("latin1");
  return managedRanges(split(text.startsWith(BOM) ? text.slice(3) : text)).map((r) => r.name);
}
