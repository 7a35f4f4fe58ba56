/**
 * ssh_config lines -> keyword + arguments, exactly as readconf.c
 * process_config_line_depth() cuts them: the keyword with misc.c strdelim()
 * (blanks, one `=`, double quotes), the rest with argv_split() (blanks,
 * single and double quotes, backslash escapes, `#` starting a token ends it).
 */

export interface Line {
  line: number;
  /** Lower-cased keyword. */
  keyword: string;
  /** The text after the keyword (leading blanks skipped), as ProxyCommand and Match read it. */
  rest: string;
  /** argv_split(rest), or undefined when its quotes do not close. */
  args: string[] | undefined;
}

export type Lexed =
  | { kind: "line"; value: Line }
  | { kind: "error"; line: number; message: string };

const WS = " \t\r\n";
const isWs = (c: string | undefined) => c !== undefined && WS.includes(c);

function skipWs(s: string, from: number): number {
  let i = from;
  while (i < s.length && isWs(s[i])) i++;
  return i;
}

/** misc.c strdelim(): the next token and the rest (undefined = nothing left / unmatched quote). */
export function strdelim(
  s: string | undefined,
  splitEquals = true,
): [string | undefined, string | undefined] {
  if (s === undefined) return [undefined, undefined];
  const stops = splitEquals ? `${WS}"=` : `${WS}"`;
  let i = 0;
  while (i < s.length && !stops.includes(s[i] as string)) i++;
  if (i >= s.length) return [s, undefined];
  if (s[i] === '"') {
    const t = s.slice(0, i) + s.slice(i + 1);
    const j = t.indexOf('"', i);
    if (j < 0) return [undefined, undefined];
    return [t.slice(0, j), t.slice(skipWs(t, j + 1))];
  }
  const wasEquals = splitEquals && s[i] === "=";
  const token = s.slice(0, i);
  let k = skipWs(s, i + 1);
  if (splitEquals && s[k] === "=" && !wasEquals) k = skipWs(s, k + 1);
  return [token, s.slice(k)];
}

/** misc.c argv_split(s, terminate_on_comment = 1): undefined when a quote is left open. */
export function argvSplit(s: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === "#") break;
    let quote = "";
    let arg = "";
    for (; i < s.length; i++) {
      const ch = s[i] as string;
      const next = s[i + 1];
      if (ch === "\\") {
        if (next === "'" || next === '"' || next === "\\" || (quote === "" && next === " ")) {
          i++;
          arg += next;
        } else arg += ch;
      } else if (quote === "" && (ch === " " || ch === "\t")) break;
      else if (quote === "" && (ch === '"' || ch === "'")) quote = ch;
      else if (quote !== "" && ch === quote) quote = "";
      else arg += ch;
    }
    out.push(arg);
    if (i >= s.length && quote !== "") return undefined;
  }
  return out;
}

/** One physical line (without its newline); undefined for blank and comment lines. */
export function lexLine(text: string, lineNo: number): Lexed | undefined {
  // Strip trailing whitespace; form feed is allowed at end of line only.
  let end = text.length;
  while (end > 1 && `${WS}\f`.includes(text[end - 1] as string)) end--;
  const line = text.slice(0, end);
  if (line === "") return undefined;
  let [keyword, rest] = strdelim(line);
  if (keyword === "") [keyword, rest] = strdelim(rest);
  if (keyword === undefined || keyword === "" || keyword === "\n" || keyword.startsWith("#"))
    return undefined;
  keyword = keyword.toLowerCase();
  const r = rest === undefined ? undefined : rest.slice(skipWs(rest, 0));
  if (r === undefined || r === "") {
    return { kind: "error", line: lineNo, message: `no argument after keyword "${keyword}"` };
  }
  return { kind: "line", value: { line: lineNo, keyword, rest: r, args: argvSplit(r) } };
}

/** A whole file: lines split on "\n" (a "\r" before it is whitespace, as for ssh). */
export function lex(text: string): Lexed[] {
  const out: Lexed[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((l, i) => {
    const x = lexLine(l, i + 1);
    if (x) out.push(x);
  });
  return out;
}
