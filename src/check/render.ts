/** Findings as terminal lines (✔/✖, time, indented detail, → hint) or as a JSON array. */
import type { Finding } from "./finding.ts";

const INDENT = " ".repeat(13);

export function renderFinding(f: Finding): string {
  const head = `${f.ok ? "✔" : "✖"} ${f.layer.padEnd(11)} ${f.title}  (${f.ms} ms)`;
  const detail = f.detail ? f.detail.split("\n").map((l) => `${INDENT}${l}`) : [];
  const hint = !f.ok && f.hint ? [`${INDENT}→ ${f.hint}`] : [];
  return `${[head, ...detail, ...hint].join("\n")}\n`;
}

/** The stable JSON form: one object per finding, keys always in this order. */
export function renderJson(findings: readonly Finding[]): string {
  const rows = findings.map((f) => ({
    layer: f.layer,
    ok: f.ok,
    title: f.title,
    detail: f.detail,
    ...(f.hint !== undefined && !f.ok ? { hint: f.hint } : {}),
    ms: f.ms,
  }));
  return `${JSON.stringify(rows, null, 2)}\n`;
}
