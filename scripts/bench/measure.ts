/**
 * One figure each: setup latency, bulk curl, wrk, slow consumer, and what a
 * process cost (/proc/PID/status VmRSS/VmHWM, /proc/PID/stat utime+stime).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { BODIES, BULK_BYTES, HOST, killChild } from "./env.ts";

const CLK_TCK = 100; // Linux USER_HZ; /proc/PID/stat counts in these ticks on every mainstream kernel.

export function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** kB from /proc/PID/status (VmRSS, VmHWM); NaN when the process is gone. */
export function procMem(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon"): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+)`));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) of a live process, its threads included. */
export function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch {
    return Number.NaN;
  }
}

/** First byte of an HTTP response through 127.0.0.1:port, or an error (refused, reset…). */
function firstByte(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ host: HOST, port });
    c.setNoDelay(true);
    c.once("connect", () =>
      c.write(`GET ${BODIES.tiny} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`),
    );
    c.once("data", (b) => {
      c.destroy();
      if (b.toString("latin1", 0, 12) === "HTTP/1.1 200") resolve();
      else reject(new Error(`unexpected response ${JSON.stringify(b.toString("latin1", 0, 40))}`));
    });
    c.once("error", reject);
    c.once("close", () => reject(new Error("closed before a response")));
  });
}

/** Retries until a 200's first byte comes back through the port; ms since `t0`. */
export async function waitFirstByte(
  port: number,
  t0: number,
  child: ChildProcess | undefined,
  limitMs: number,
): Promise<number> {
  let last: unknown;
  while (performance.now() - t0 < limitMs) {
    if (child && child.exitCode !== null) throw new Error(`tunnel exited with ${child.exitCode}`);
    try {
      await firstByte(port);
      return performance.now() - t0;
    } catch (e) {
      last = e;
      await Bun.sleep(2);
    }
  }
  throw new Error(`no response through :${port} within ${limitMs} ms (${String(last)})`);
}

export interface Tunnel {
  child: ChildProcess;
  pid: number;
  /** ms from spawn to the first response byte through the tunnel. */
  setupMs: number;
  stop(): Promise<void>;
}

/** Spawns a tunnel process and waits until a request goes through it. */
export async function startTunnel(
  cmd: string[],
  port: number,
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<Tunnel> {
  const fd = openSync(log, "a");
  const t0 = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", fd, fd], env });
  const stop = () => killChild(child);
  try {
    const setupMs = await waitFirstByte(port, t0, child, 15_000);
    return { child, pid: child.pid!, setupMs, stop };
  } catch (e) {
    await stop();
    throw new Error(`${cmd.join(" ")}: ${(e as Error).message} (log: ${log})`);
  }
}

export interface Bulk {
  mbps: number[];
  errors: number;
}

/**
 * curl the 100 MiB body `n` times; MB/s (10^6 bytes) as curl measured each.
 * `after(ok)` runs after each download (ok: it arrived whole).
 */
export async function bulk(port: number, n: number, after?: (ok: boolean) => void): Promise<Bulk> {
  const mbps: number[] = [];
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const out = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "--max-time",
      "60",
      "-w",
      "%{http_code} %{size_download} %{speed_download}",
      `http://${HOST}:${port}${BODIES.bulk}`,
    ]).catch(() => "000 0 0");
    const [code, size, speed] = out.trim().split(" ");
    const ok = code === "200" && Number(size) === BULK_BYTES;
    if (!ok) errors++;
    else mbps.push(Number(speed) / 1e6);
    after?.(ok);
  }
  return { mbps, errors };
}

export interface Wrk {
  rps: number;
  p99ms: number;
  errors: number;
}

function toMs(v: string, unit: string): number {
  const x = Number(v);
  return unit === "us" ? x / 1000 : unit === "s" ? x * 1000 : unit === "m" ? x * 60_000 : x;
}

export function parseWrk(out: string): Wrk {
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? Number.NaN);
  const p = out.match(/^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const p99ms = p ? toMs(p[1]!, p[2]!) : Number.NaN;
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  return { rps, p99ms, errors: Number.isNaN(rps) ? errors + 1 : errors };
}

export async function wrk(port: number, path: string, seconds: number): Promise<Wrk> {
  const out = await run(
    "wrk",
    ["-t2", "-c32", `-d${seconds}s`, "--latency", `http://${HOST}:${port}${path}`],
    (seconds + 30) * 1000,
  ).catch((e) => String(e));
  return parseWrk(out);
}

export interface Slow {
  /** Highest VmRSS (MiB) sampled while a rate-limited reader pulled the bulk body. */
  peakMiB: number;
  /** VmRSS before the slow read started. */
  baseMiB: number;
  errors: number;
}

/** A reader at `rate` for `seconds`: the tunnel must not buffer the rest of the body. */
export async function slowConsumer(
  pid: number,
  port: number,
  rate: string,
  seconds: number,
): Promise<Slow> {
  const baseMiB = procMem(pid, "VmRSS") / 1024;
  let peak = baseMiB;
  const curl = spawn(
    "curl",
    [
      "-s",
      "-o",
      "/dev/null",
      "--limit-rate",
      rate,
      "--max-time",
      String(seconds),
      `http://${HOST}:${port}${BODIES.bulk}`,
    ],
    { stdio: "ignore" },
  );
  const done = new Promise<number>((r) => curl.once("exit", (c) => r(c ?? 1)));
  let exited = false;
  void done.then(() => {
    exited = true;
  });
  while (!exited) {
    peak = Math.max(peak, procMem(pid, "VmRSS") / 1024);
    await Bun.sleep(100);
  }
  const code = await done;
  // 28 = the --max-time we asked for: the expected way for this read to end.
  return { peakMiB: peak, baseMiB, errors: code === 28 ? 0 : 1 };
}

export interface Hyperfine {
  meanMs: number;
  medianMs: number;
}

export async function hyperfine(cmds: string[], runs: number, json: string): Promise<Hyperfine[]> {
  await run("hyperfine", [
    "-N",
    "--warmup",
    "3",
    "--runs",
    String(runs),
    "--export-json",
    json,
    "--style",
    "none",
    ...cmds,
  ]);
  const parsed = JSON.parse(readFileSync(json, "utf8")) as {
    results: { mean: number; median: number }[];
  };
  return parsed.results.map((r) => ({ meanMs: r.mean * 1000, medianMs: r.median * 1000 }));
}

/** Highest RssAnon (MiB) of `pid` while `work` runs, sampled every 50 ms. */
export async function sampleAnon<T>(pid: number, work: () => Promise<T>): Promise<[T, number]> {
  let peak = procMem(pid, "RssAnon");
  const timer = setInterval(() => {
    peak = Math.max(peak, procMem(pid, "RssAnon"));
  }, 50);
  try {
    const out = await work();
    return [out, Math.max(peak, procMem(pid, "RssAnon")) / 1024];
  } finally {
    clearInterval(timer);
  }
}
