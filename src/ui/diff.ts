/**
 * A unified-style diff of one changed region (fwd's edits touch one place per
 * block): common lines at both ends collapse to a few lines of context.
 */
export function renderDiff(before: string, after: string, context = 2): string {
  const a = before === "" ? [] : before.replace(/\r?\n$/, "").split(/\r?\n/);
  const b = after === "" ? [] : after.replace(/\r?\n$/, "").split(/\r?\n/);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  if (head === a.length && head === b.length) return "";
  const from = Math.max(0, head - context);
  const out: string[] = [`@@ line ${from + 1} @@`];
  for (let i = from; i < head; i++) out.push(`  ${a[i]}`);
  for (let i = head; i < a.length - tail; i++) out.push(`- ${a[i]}`);
  for (let i = head; i < b.length - tail; i++) out.push(`+ ${b[i]}`);
  for (let i = b.length - tail; i < Math.min(b.length, b.length - tail + context); i++)
    out.push(`  ${b[i]}`);
  return `${out.join("\n")}\n`;
}
