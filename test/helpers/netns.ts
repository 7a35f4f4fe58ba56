/**
 * TESTING.md tier 4: a laptop, a bastion and a target in their own network
 * namespaces, joined by veth pairs, with the target reachable only from the
 * bastion. Addresses live only inside these namespaces (198.51.100.0/24
 * laptop↔bastion, 203.0.113.0/24 bastion↔target, both documentation ranges);
 * nothing is routed to the host's network. Root only.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./ports.ts";
import { killTree } from "./procs.ts";

export const LAPTOP_IP = "198.51.100.1";
export const BASTION_IP = "198.51.100.2";
export const BASTION_INNER_IP = "203.0.113.1";
export const TARGET_IP = "203.0.113.2";

let supported: boolean | undefined;
/** Root, `ip netns` present and a namespace can really be made here (probed once). */
export function canMakeNetns(): boolean {
  if (supported !== undefined) return supported;
  supported = false;
  if (process.getuid?.() !== 0) return false;
  if (spawnSync("ip", ["netns", "list"], { stdio: "ignore" }).status !== 0) return false;
  const probe = `fwdp-${randomBytes(3).toString("hex")}`;
  if (spawnSync("ip", ["netns", "add", probe], { stdio: "ignore" }).status !== 0) return false;
  spawnSync("ip", ["netns", "del", probe], { stdio: "ignore" });
  supported = !hostUsesTestRanges();
  return supported;
}

/** True when the host itself has an address in our ranges (then we must not use them). */
export function hostUsesTestRanges(): boolean {
  const out = spawnSync("ip", ["-o", "addr"], { encoding: "utf8" }).stdout ?? "";
  return /\b(198\.51\.100|203\.0\.113)\.\d+/.test(out);
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnedInNs {
  pid: number;
  child: ChildProcess;
  /** Output captured so far. */
  stdout(): string;
  stderr(): string;
  kill(): Promise<void>;
}

export interface Topology {
  laptop: string;
  bastion: string;
  target: string;
  /** Runs a command to completion inside `ns`. */
  exec(
    ns: string,
    cmd: readonly string[],
    opts?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
  ): ExecResult;
  /** Starts a long-running command in `ns`; killed (with descendants) by cleanup(). */
  spawn(
    ns: string,
    cmd: readonly string[],
    opts?: { env?: NodeJS.ProcessEnv; ready?: RegExp; timeoutMs?: number },
  ): Promise<SpawnedInNs>;
  /** Starts test/helpers/http-target.ts in `ns` on `port` (all addresses); resolves on READY. */
  httpTarget(ns: string, port: number, body?: string): Promise<SpawnedInNs>;
  /** Can `ns` open a TCP connection to host:port? */
  canConnect(ns: string, host: string, port: number, timeoutS?: number): boolean;
  /** Kills everything started here and every process in the namespaces, then deletes them. */
  cleanup(): Promise<void>;
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

function hostsFile(entries: Record<string, string>): string {
  const lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"];
  for (const [name, addr] of Object.entries(entries)) lines.push(`${addr} ${name}`);
  return `${lines.join("\n")}\n`;
}

function nsswitch(): string {
  // Keep the host's passwd/group sources, but resolve host names from files only.
  const host = existsSync("/etc/nsswitch.conf") ? readFileSync("/etc/nsswitch.conf", "utf8") : "";
  const kept = host.split("\n").filter((l) => !/^\s*hosts\s*:/.test(l) && l.trim() !== "");
  if (!kept.some((l) => /^\s*passwd\s*:/.test(l)))
    kept.push("passwd: files", "group: files", "shadow: files");
  return `${kept.join("\n")}\nhosts: files\n`;
}

export async function makeTopology(): Promise<Topology> {
  if (hostUsesTestRanges()) {
    throw new Error(
      "the host uses 198.51.100.0/24 or 203.0.113.0/24; refusing to build a topology",
    );
  }
  const id = randomBytes(3).toString("hex");
  const laptop = `fwd-laptop-${id}`;
  const bastion = `fwd-bastion-${id}`;
  const target = `fwd-target-${id}`;
  const names = [laptop, bastion, target];
  const started: SpawnedInNs[] = [];

  const removeAll = async () => {
    await killTree(started.map((s) => s.pid).filter((p) => p > 0));
    for (const ns of names) {
      const pids = (spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "")
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      if (pids.length > 0) await killTree(pids);
      spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
  };

  try {
    for (const ns of names) {
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
    // veth names are global at creation (max 15 chars), then moved into the namespaces.
    ip(
      "link",
      "add",
      `fl${id}`,
      "netns",
      laptop,
      "type",
      "veth",
      "peer",
      "name",
      `fb${id}`,
      "netns",
      bastion,
    );
    ip(
      "link",
      "add",
      `gb${id}`,
      "netns",
      bastion,
      "type",
      "veth",
      "peer",
      "name",
      `gt${id}`,
      "netns",
      target,
    );
    const addr = (ns: string, dev: string, cidr: string) => {
      ip("-n", ns, "addr", "add", cidr, "dev", dev);
      ip("-n", ns, "link", "set", dev, "up");
    };
    addr(laptop, `fl${id}`, `${LAPTOP_IP}/24`);
    addr(bastion, `fb${id}`, `${BASTION_IP}/24`);
    addr(bastion, `gb${id}`, `${BASTION_INNER_IP}/24`);
    addr(target, `gt${id}`, `${TARGET_IP}/24`);
    // The bastion is not a router: the target is reachable only *from* it.
    spawnSync("ip", ["netns", "exec", bastion, "sysctl", "-qw", "net.ipv4.ip_forward=0"]);

    const hosts: Record<string, Record<string, string>> = {
      [laptop]: { "laptop-host": LAPTOP_IP, "bastion-host": BASTION_IP },
      [bastion]: { "laptop-host": LAPTOP_IP, "bastion-host": BASTION_IP, "target-host": TARGET_IP },
      [target]: { "bastion-host": BASTION_INNER_IP, "target-host": TARGET_IP },
    };
    for (const ns of names) {
      const dir = `/etc/netns/${ns}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "hosts"), hostsFile(hosts[ns]!));
      writeFileSync(join(dir, "nsswitch.conf"), nsswitch());
    }
  } catch (e) {
    await removeAll();
    throw e;
  }

  const exec: Topology["exec"] = (ns, cmd, opts = {}) => {
    const r = spawnSync("ip", ["netns", "exec", ns, ...cmd], {
      encoding: "utf8",
      env: opts.env ?? process.env,
      input: opts.input,
      timeout: opts.timeoutMs ?? 30_000,
    });
    return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };

  const spawnIn: Topology["spawn"] = async (ns, cmd, opts = {}) => {
    const child = spawn("ip", ["netns", "exec", ns, ...cmd], {
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let exited: number | null = null;
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.once("exit", (code) => {
      exited = code ?? 1;
    });
    const handle: SpawnedInNs = {
      pid: child.pid ?? 0,
      child,
      stdout: () => out,
      stderr: () => err,
      kill: () => killTree([child.pid ?? 0].filter((p) => p > 0)),
    };
    started.push(handle);
    if (opts.ready) {
      const ready = opts.ready;
      await waitFor(
        () => {
          if (ready.test(out)) return true;
          if (exited !== null) throw new Error(`${cmd.join(" ")} exited ${exited}: ${err}`);
          return false;
        },
        {
          timeoutMs: opts.timeoutMs ?? 15_000,
          what: `${cmd.join(" ")} in ${ns} to print ${ready}`,
        },
      );
    }
    return handle;
  };

  return {
    laptop,
    bastion,
    target,
    exec,
    spawn: spawnIn,
    httpTarget: (ns, port, body) =>
      spawnIn(
        ns,
        [
          process.execPath,
          join(import.meta.dir, "http-target.ts"),
          String(port),
          "0.0.0.0",
          ...(body ? [body] : []),
        ],
        { ready: /READY/ },
      ),
    canConnect: (ns, host, port, timeoutS = 2) =>
      exec(ns, ["timeout", String(timeoutS), "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`], {
        timeoutMs: (timeoutS + 3) * 1000,
      }).code === 0,
    cleanup: removeAll,
  };
}
