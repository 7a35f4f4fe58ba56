/** The bench's results as Markdown: one column per row, each with its ratio to OpenSSH. */
import type { Row } from "./rows.ts";

export interface RowResult {
  row: Row;
  setupMs: number[];
  idleMiB?: number;
  /** Anonymous part of the idle RSS (the rest is pages of the binary, shared and reclaimable). */
  idleAnonMiB?: number;
  peakMiB?: number;
  /** Highest RssAnon sampled during the bulk downloads. */
  peakAnonMiB?: number;
  bulkMBps: number[];
  cpuPerGiB?: number;
  /** CPU s/GiB of the last bulk download alone (the tunnel warmed up: JIT compiled, heap grown). */
  cpuLastPerGiB?: number;
  wrk64?: { rps: number; p99ms: number };
  wrk12?: { rps: number; p99ms: number };
  slowPeakMiB?: number;
  slowBaseMiB?: number;
  versionMs?: number;
  binaryMiB?: number;
  errors: number;
  notes: string[];
}

export interface Figure {
  name: string;
  get: (r: RowResult) => number | undefined;
  digits: number;
  /** Lower is better (latency, memory, CPU). */
  lower?: boolean;
}

const med = (xs: number[]) => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const FIGURES: Figure[] = [
  { name: "bulk MB/s, median", get: (r) => med(r.bulkMBps), digits: 0 },
  {
    name: "bulk MB/s, best",
    get: (r) => (r.bulkMBps.length ? Math.max(...r.bulkMBps) : undefined),
    digits: 0,
  },
  { name: "wrk 64 KiB req/s", get: (r) => r.wrk64?.rps, digits: 0 },
  { name: "wrk 64 KiB p99 ms", get: (r) => r.wrk64?.p99ms, digits: 2, lower: true },
  { name: "wrk 12 B req/s", get: (r) => r.wrk12?.rps, digits: 0 },
  { name: "wrk 12 B p99 ms", get: (r) => r.wrk12?.p99ms, digits: 2, lower: true },
  {
    name: "setup ms (spawn → first byte), median",
    get: (r) => med(r.setupMs),
    digits: 1,
    lower: true,
  },
  { name: "RSS idle MiB", get: (r) => r.idleMiB, digits: 1, lower: true },
  { name: "RSS idle, anonymous MiB", get: (r) => r.idleAnonMiB, digits: 1, lower: true },
  { name: "RSS peak MiB (VmHWM, after bulk + wrk)", get: (r) => r.peakMiB, digits: 1, lower: true },
  {
    name: "RSS peak during bulk, anonymous MiB",
    get: (r) => r.peakAnonMiB,
    digits: 1,
    lower: true,
  },
  {
    name: "slow reader: peak RSS MiB (base)",
    get: (r) => r.slowPeakMiB,
    digits: 1,
    lower: true,
  },
  { name: "CPU s/GiB (tunnel process, bulk)", get: (r) => r.cpuPerGiB, digits: 2, lower: true },
  {
    name: "CPU s/GiB, last download only (warm)",
    get: (r) => r.cpuLastPerGiB,
    digits: 2,
    lower: true,
  },
  { name: "`--version` ms (hyperfine mean)", get: (r) => r.versionMs, digits: 1, lower: true },
  { name: "binary MiB", get: (r) => r.binaryMiB, digits: 1, lower: true },
  { name: "errors", get: (r) => r.errors, digits: 0, lower: true },
];

function fmt(x: number | undefined, digits: number): string {
  if (x === undefined || Number.isNaN(x)) return "–";
  return x.toFixed(digits);
}

export function table(results: RowResult[]): string {
  const ref = results.find((r) => r.row.id === "ssh");
  const head = [
    "figure",
    ...results.flatMap((r) => (r === ref ? [r.row.label] : [r.row.label, "×"])),
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i ? "---:" : "---")).join("|")}|`,
  ];
  for (const f of FIGURES) {
    const base = ref ? f.get(ref) : undefined;
    const cells = results.flatMap((r) => {
      const v = f.get(r);
      let cell = fmt(v, f.digits);
      if (f.name.startsWith("slow") && r.slowBaseMiB !== undefined) {
        cell += ` (${r.slowBaseMiB.toFixed(1)})`;
      }
      if (r === ref) return [cell];
      const ratio =
        v !== undefined && base !== undefined && base > 0 && f.name !== "errors"
          ? v / base
          : undefined;
      return [cell, fmt(ratio, 2)];
    });
    lines.push(`| ${f.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export interface Target {
  name: string;
  must: string;
  aim: string;
  value: number | undefined;
  ok: boolean | undefined;
  aimOk: boolean | undefined;
}

/** The "must reach" column of issue 12, checked for one fwd row against OpenSSH and the hello binary. */
export function targets(r: RowResult, ref: RowResult, helloMs: number | undefined): Target[] {
  const ratio = (a?: number, b?: number) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const t = (
    name: string,
    v: number | undefined,
    must: number,
    aim: number,
    lower: boolean,
  ): Target => ({
    name,
    must: `${lower ? "≤" : "≥"} ${must}`,
    aim: `${lower ? "≤" : "≥"} ${aim}`,
    value: v,
    ok: v === undefined || Number.isNaN(v) ? undefined : lower ? v <= must : v >= must,
    aimOk: v === undefined || Number.isNaN(v) ? undefined : lower ? v <= aim : v >= aim,
  });
  return [
    t("bulk MB/s (median) ×", ratio(med(r.bulkMBps), med(ref.bulkMBps)), 0.9, 1.0, false),
    t("wrk 64 KiB req/s ×", ratio(r.wrk64?.rps, ref.wrk64?.rps), 0.9, 1.0, false),
    t("wrk 12 B req/s ×", ratio(r.wrk12?.rps, ref.wrk12?.rps), 0.85, 1.0, false),
    t("setup latency ×", ratio(med(r.setupMs), med(ref.setupMs)), 0.7, 0.5, true),
    t("--version vs compiled hello ×", ratio(r.versionMs, helloMs), 1.5, 1.2, true),
    t("RSS idle MiB", r.idleMiB, 60, 50, true),
    t("RSS peak MiB", r.peakMiB, 100, 70, true),
    t("CPU s/GiB ×", ratio(r.cpuPerGiB, ref.cpuPerGiB), 1.3, 1.0, true),
    t("errors", r.errors, 0, 0, true),
  ];
}

export function targetTable(label: string, ts: Target[]): string {
  const mark = (b: boolean | undefined) => (b === undefined ? "–" : b ? "✔" : "✖");
  return [
    `| ${label} | value | must reach | | aim | |`,
    "|---|---:|---:|---|---:|---|",
    ...ts.map(
      (t) =>
        `| ${t.name} | ${fmt(t.value, 2)} | ${t.must} | ${mark(t.ok)} | ${t.aim} | ${mark(t.aimOk)} |`,
    ),
  ].join("\n");
}

/** One row's rounds as one result: samples pooled, single figures by median. */
export function mergeRounds(rs: RowResult[]): RowResult {
  const first = rs[0]!;
  const m = (get: (r: RowResult) => number | undefined) => {
    const xs = rs.map(get).filter((x): x is number => x !== undefined && !Number.isNaN(x));
    return med(xs);
  };
  const wrkOf = (get: (r: RowResult) => { rps: number; p99ms: number } | undefined) => {
    const rps = m((r) => get(r)?.rps);
    const p99ms = m((r) => get(r)?.p99ms);
    return rps === undefined || p99ms === undefined ? undefined : { rps, p99ms };
  };
  const out: RowResult = {
    row: first.row,
    setupMs: rs.flatMap((r) => r.setupMs),
    bulkMBps: rs.flatMap((r) => r.bulkMBps),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    notes: rs.flatMap((r) => r.notes),
  };
  const set = <K extends keyof RowResult>(k: K, v: RowResult[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set(
    "idleMiB",
    m((r) => r.idleMiB),
  );
  set(
    "idleAnonMiB",
    m((r) => r.idleAnonMiB),
  );
  const anons = rs.map((r) => r.peakAnonMiB).filter((x): x is number => x !== undefined);
  set("peakAnonMiB", anons.length ? Math.max(...anons) : undefined);
  // Peak: the worst round, not the typical one.
  const peaks = rs.map((r) => r.peakMiB).filter((x): x is number => x !== undefined);
  set("peakMiB", peaks.length ? Math.max(...peaks) : undefined);
  set(
    "cpuPerGiB",
    m((r) => r.cpuPerGiB),
  );
  set(
    "cpuLastPerGiB",
    m((r) => r.cpuLastPerGiB),
  );
  set(
    "wrk64",
    wrkOf((r) => r.wrk64),
  );
  set(
    "wrk12",
    wrkOf((r) => r.wrk12),
  );
  set("slowPeakMiB", first.slowPeakMiB);
  set("slowBaseMiB", first.slowBaseMiB);
  set("binaryMiB", first.binaryMiB);
  return out;
}

/** Each round's ratio to the same round's OpenSSH row, for the throughput figures. */
export function noiseTable(rounds: RowResult[][], refIdx: number): string {
  if (refIdx < 0) return "";
  const figs: [string, (r: RowResult) => number | undefined][] = [
    ["bulk median", (r) => med(r.bulkMBps)],
    ["64 KiB req/s", (r) => r.wrk64?.rps],
    ["12 B req/s", (r) => r.wrk12?.rps],
    ["setup", (r) => med(r.setupMs)],
    ["CPU s/GiB", (r) => r.cpuPerGiB],
  ];
  const lines = [
    "Per-round ratios to OpenSSH (noise check: the spread between rounds is the machine, not the code):",
    "",
    `| row | ${figs.map(([n]) => n).join(" | ")} |`,
    `|---|${figs.map(() => "---:").join("|")}|`,
  ];
  const ref = rounds[refIdx]!;
  for (const [i, rs] of rounds.entries()) {
    if (i === refIdx || !rs[0]?.row.command) continue;
    const cells = figs.map(([, get]) =>
      rs
        .map((r, k) => {
          const a = get(r);
          const b = ref[k] ? get(ref[k]!) : undefined;
          return a !== undefined && b ? (a / b).toFixed(2) : "–";
        })
        .join(" / "),
    );
    lines.push(`| ${rs[0]!.row.label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
