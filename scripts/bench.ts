/**
 * `npm run bench`: fwd side by side with OpenSSH's `ssh -N -L` on loopback
 * (issue 12). Private sshd + nginx in a temp dir; each row a fresh tunnel
 * process on 127.0.0.1; a Markdown table with ratios to OpenSSH on stdout and
 * in bench/results/latest.md.
 *
 *   npm run bench                 full run (a few minutes)
 *   npm run bench -- --quick      one short pass (CI: keeps the script alive)
 *   npm run bench -- --rows ssh,fwd --proto /tmp/proto-tunnel   dev subsets
 *   npm run bench -- --binary PATH   another compiled fwd (default dist/fwd-linux-x64)
 *   npm run bench -- --compare PATH  adds a row for a second compiled fwd (before/after)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { assertFree, type BenchEnv, BODIES, BULK_BYTES, freePort, startEnv } from "./bench/env.ts";
import {
  bulk,
  hyperfine,
  procCpu,
  procMem,
  sampleAnon,
  slowConsumer,
  startTunnel,
  wrk,
} from "./bench/measure.ts";
import {
  mergeRounds,
  noiseTable,
  type RowResult,
  table,
  targets,
  targetTable,
} from "./bench/report.ts";
import { FWD_BINARY, makeRows, type Row } from "./bench/rows.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag("--quick");
const P = quick
  ? { setups: 2, bulks: 1, wrkSec: 1, slowSec: 2, idleMs: 300, versionRuns: 10, repeat: 1 }
  : { setups: 5, bulks: 3, wrkSec: 10, slowSec: 8, idleMs: 1000, versionRuns: 40, repeat: 2 };
// Rounds run every row in turn, so a burst of load from elsewhere hits all rows alike.
P.repeat = Number(value("--repeat") ?? P.repeat);
P.wrkSec = Number(value("--wrk-sec") ?? P.wrkSec);
const SLOW_RATE = "2M";
const out = value("--out") ?? (quick ? undefined : "bench/results/latest.md");
const only = value("--rows")?.split(",");
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function tunnelEnv(env: BenchEnv): NodeJS.ProcessEnv {
  // A home of its own (fwd writes state there); no agent; the rest as the user has it.
  const { SSH_AUTH_SOCK: _a, ...rest } = process.env;
  return { ...rest, HOME: env.dir, NO_COLOR: "1" };
}

async function measureRow(env: BenchEnv, row: Row, round: number): Promise<RowResult> {
  const r: RowResult = { row, setupMs: [], bulkMBps: [], errors: 0, notes: [] };
  const logFile = join(env.dir, `${row.id}.log`);
  const tenv = tunnelEnv(env);
  const fresh = async () => {
    const port = await freePort();
    await assertFree(port);
    return { port, t: await startTunnel(row.command!(port), port, tenv, logFile) };
  };
  let port = env.nginxPort;
  let pid: number | undefined;
  let stop = async () => {};
  if (row.command) {
    for (let i = 0; i < P.setups; i++) {
      const { t } = await fresh();
      r.setupMs.push(t.setupMs);
      await t.stop();
    }
    const f = await fresh();
    port = f.port;
    pid = f.t.pid;
    const child = f.t.child;
    stop = async () => {
      if (child.exitCode !== null) {
        r.errors++;
        r.notes.push(`tunnel exited early (${child.exitCode})`);
      }
      await f.t.stop();
    };
    await Bun.sleep(P.idleMs);
    r.idleMiB = procMem(pid, "VmRSS") / 1024;
    r.idleAnonMiB = procMem(pid, "RssAnon") / 1024;
  }
  try {
    const cpu0 = pid ? procCpu(pid) : 0;
    // CPU after each download: the last one alone is the tunnel warmed up.
    const marks: { cpu: number; ok: boolean }[] = [];
    const mark = pid ? (ok: boolean) => marks.push({ cpu: procCpu(pid), ok }) : undefined;
    const [b, anon] = pid
      ? await sampleAnon(pid, () => bulk(port, P.bulks, mark))
      : [await bulk(port, P.bulks), undefined];
    r.bulkMBps = b.mbps;
    r.errors += b.errors;
    if (pid && b.mbps.length) {
      r.cpuPerGiB = (procCpu(pid) - cpu0) / ((b.mbps.length * BULK_BYTES) / 2 ** 30);
    }
    const last = marks.at(-1);
    if (last?.ok && marks.length > 1) {
      r.cpuLastPerGiB = (last.cpu - marks.at(-2)!.cpu) / (BULK_BYTES / 2 ** 30);
    }
    if (pid) r.peakMiB = procMem(pid, "VmHWM") / 1024;
    if (anon !== undefined) r.peakAnonMiB = anon;
    const w64 = await wrk(port, BODIES.mid, P.wrkSec);
    const w12 = await wrk(port, BODIES.tiny, P.wrkSec);
    r.wrk64 = w64;
    r.wrk12 = w12;
    r.errors += w64.errors + w12.errors;
    if (pid) r.peakMiB = procMem(pid, "VmHWM") / 1024;
  } finally {
    await stop();
  }
  if (row.command && round === 0) {
    const f = await fresh();
    try {
      const s = await slowConsumer(f.t.pid, f.port, SLOW_RATE, P.slowSec);
      r.slowPeakMiB = s.peakMiB;
      r.slowBaseMiB = s.baseMiB;
      r.errors += s.errors;
    } finally {
      await f.t.stop();
    }
  }
  if (row.binary) r.binaryMiB = statSync(row.binary).size / 2 ** 20;
  return r;
}

/** `--version` wall time of every row, plus a bare compiled hello world (the floor). */
async function versions(env: BenchEnv, results: RowResult[]): Promise<number | undefined> {
  const hello = join(env.dir, "hello");
  writeFileSync(`${hello}.ts`, 'console.log("hello");\n');
  execFileSync(process.execPath, ["build", "--compile", `${hello}.ts`, "--outfile", hello], {
    stdio: "ignore",
  });
  const withVersion = results.filter((r) => r.row.version);
  const cmds = [hello, ...withVersion.map((r) => r.row.version!.join(" "))];
  const hf = await hyperfine(cmds, P.versionRuns, join(env.dir, "hyperfine.json"));
  withVersion.forEach((r, i) => {
    r.versionMs = hf[i + 1]?.meanMs;
  });
  return hf[0]?.meanMs;
}

function machine(): string {
  // First line of whatever the tool prints (ssh -V and nginx -v use stderr).
  const v = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] || "?";
  };
  const load = (() => {
    try {
      return execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  })();
  return [
    `- machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Linux ${release()}, load ${load}`,
    `- OpenSSH: ${v("ssh", ["-V"])} (client and the private sshd)`,
    `- bun ${Bun.version}; ssh2 ${require("ssh2/package.json").version}; nginx: ${v("nginx", ["-v"])}`,
    `- ${v("wrk", ["-v"])}; ${v("curl", ["--version"])}; ${v("hyperfine", ["--version"])}`,
  ].join("\n");
}

function commands(env: BenchEnv, rows: Row[]): string {
  const lines = rows
    .filter((r) => r.command)
    .map(
      (r) =>
        `- ${r.label}: \`${r.command!(0).join(" ").replaceAll(env.dir, "$TMP").replaceAll(process.execPath, "bun")}\``,
    );
  return [
    ...lines,
    "- compiled rows run a copy of the binary made when the run starts ($TMP/…), so a rebuild of dist/ cannot swap it mid-run",
    `- sshd: \`sshd -D -e -f $TMP/sshd_config\` (Ciphers aes128-gcm@openssh.com, KexAlgorithms curve25519-sha256, ed25519 host key)`,
    `- bulk: \`curl -s -o /dev/null -w '%{speed_download}' http://127.0.0.1:PORT${BODIES.bulk}\` × ${P.bulks} (100 MiB random body)`,
    `- wrk: \`wrk -t2 -c32 -d${P.wrkSec}s --latency http://127.0.0.1:PORT{${BODIES.mid},${BODIES.tiny}}\` (nginx keepalive_requests 1000000: 32 connections = 32 channels)`,
    `- setup: spawn → first byte of a 200 through the tunnel (GET ${BODIES.tiny}, retried every 2 ms), median of ${P.setups}`,
    `- slow reader: fresh tunnel, \`curl --limit-rate ${SLOW_RATE} --max-time ${P.slowSec}\` of the bulk body, VmRSS sampled every 100 ms`,
    `- CPU: utime+stime of the tunnel process (/proc/PID/stat) over the bulk downloads of a fresh tunnel (the target figure), and over the last of them alone (warm: JIT compiled, heap grown; informational); RSS from /proc/PID/status`,
    `- --version: \`hyperfine -N --warmup 3 --runs ${P.versionRuns}\` against a bare \`bun build --compile\` hello world`,
  ].join("\n");
}

/** Per-round ratios to OpenSSH: how much the machine's noise moves the headline figures. */
function noise(rounds: RowResult[][], rows: Row[]): string {
  const refIdx = rows.findIndex((r) => r.id === "ssh");
  return noiseTable(rounds, refIdx);
}

async function main(): Promise<number> {
  const started = Date.now();
  const env = await startEnv();
  const stopAll = () => void env.close();
  process.once("SIGINT", stopAll);
  process.once("SIGTERM", stopAll);
  try {
    const rows = makeRows(env, {
      proto: value("--proto"),
      binary: value("--binary"),
      compare: value("--compare"),
    }).filter((r) => !only || only.includes(r.id));
    log(
      `sshd :${env.sshdPort}, nginx :${env.nginxPort}, rows: ${rows.map((r) => r.id).join(", ")}`,
    );
    const wanted = !only || only.includes("fwd");
    const missing =
      wanted && !rows.some((r) => r.id === "fwd")
        ? [
            `${value("--binary") ?? FWD_BINARY} not found: run \`npm run build\` first (row skipped)`,
          ]
        : [];
    for (const m of missing) log(m);
    const rounds: RowResult[][] = rows.map(() => []);
    for (let round = 0; round < P.repeat; round++) {
      for (const [i, row] of rows.entries()) {
        log(`round ${round + 1}/${P.repeat}: ${row.label} …`);
        try {
          rounds[i]!.push(await measureRow(env, row, round));
        } catch (e) {
          log(`${row.label} failed: ${(e as Error).message}`);
          rounds[i]!.push({
            row,
            setupMs: [],
            bulkMBps: [],
            errors: 1,
            notes: [(e as Error).message],
          });
        }
      }
    }
    const results = rounds.map(mergeRounds);
    const helloMs = await versions(env, results);
    const ref = results.find((r) => r.row.id === "ssh");
    const parts = [
      `# fwd vs OpenSSH — ${new Date().toISOString()}${quick ? " (--quick: one short pass, not comparable)" : ""}`,
      "",
      "Ratios (×) are to the OpenSSH row of the same run. Higher is better for MB/s and req/s; lower for the rest.",
      "",
      table(results),
      "",
      `Bare \`bun build --compile\` hello world: ${helloMs?.toFixed(1) ?? "–"} ms.`,
      "",
    ];
    for (const r of results.filter((r) => r.row.id === "fwd" || r.row.id === "src")) {
      if (ref)
        parts.push(targetTable(`issue 12 targets: ${r.row.label}`, targets(r, ref, helloMs)), "");
    }
    if (P.repeat > 1 && ref) parts.push(noise(rounds, rows), "");
    const notes = [
      ...missing.map((m) => `- ${m}`),
      ...results.flatMap((r) => r.notes.map((n) => `- ${r.row.label}: ${n}`)),
    ];
    if (notes.length) parts.push("Notes:", ...notes, "");
    parts.push("Machine:", machine(), "", "Commands:", commands(env, rows), "");
    parts.push(`Took ${((Date.now() - started) / 1000).toFixed(0)} s.`, "");
    const md = parts.join("\n");
    process.stdout.write(md);
    if (out) {
      mkdirSync("bench/results", { recursive: true });
      writeFileSync(out, md);
      log(`wrote ${out}`);
    }
    return results.some((r) => r.row.command && !r.bulkMBps.length) ? 1 : 0;
  } finally {
    await env.close();
  }
}

process.exitCode = await main();
