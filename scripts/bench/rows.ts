/**
 * The rows of the bench: how each one starts a tunnel from 127.0.0.1:port to
 * nginx through the private sshd. Every row gets the same sshd, key and
 * known_hosts; each run writes its own ssh_config (Host bench).
 */
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALGOS, type BenchEnv, HOST } from "./env.ts";

export interface Row {
  id: string;
  label: string;
  /** argv of a tunnel listening on 127.0.0.1:port; undefined for the direct row. */
  command?: (port: number) => string[];
  /** argv printing the version, for hyperfine. */
  version?: string[];
  /** The file users run, for its size. */
  binary?: string;
}

/** ssh_config for Host bench; both OpenSSH and fwd read the same file. */
export function writeConfig(env: BenchEnv, id: string, port: number): string {
  const file = join(env.dir, `config-${id}`);
  writeFileSync(
    file,
    `Host bench
  HostName ${HOST}
  Port ${env.sshdPort}
  User ${env.user}
  IdentityFile ${env.keyPath}
  IdentitiesOnly yes
  UserKnownHostsFile ${env.knownHosts}
  StrictHostKeyChecking yes
  ExitOnForwardFailure yes
  LocalForward ${HOST}:${port} ${HOST}:${env.nginxPort}
`,
  );
  return file;
}

export const FWD_BINARY = "dist/fwd-linux-x64";

/** A private copy, so a rebuild of dist/ during the run cannot swap the binary under us. */
function stage(env: BenchEnv, path: string, id: string): string {
  const copy = join(env.dir, `${id}-${path.split("/").pop()}`);
  copyFileSync(path, copy);
  return copy;
}

export function makeRows(
  env: BenchEnv,
  opts: { proto?: string; binary?: string; compare?: string },
): Row[] {
  const bun = process.execPath;
  const binary = opts.binary ?? FWD_BINARY;
  const rows: Row[] = [
    {
      id: "ssh",
      label: "OpenSSH ssh -N -L",
      // OpenSSH reads the passwd home, not $HOME: every file it may touch is given here.
      command: (port) => [
        "ssh",
        "-F",
        writeConfig(env, "ssh", port),
        "-N",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "IdentityAgent=none",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        `Ciphers=${ALGOS.cipher}`,
        "-o",
        `KexAlgorithms=${ALGOS.kex}`,
        "-o",
        `HostKeyAlgorithms=${ALGOS.hostKey}`,
        "bench",
      ],
      version: ["ssh", "-V"],
      binary: "/usr/bin/ssh",
    },
  ];
  if (existsSync(binary)) {
    const bin = stage(env, binary, "fwd");
    rows.push({
      id: "fwd",
      label: `${binary} run`,
      command: (port) => [bin, "run", "-q", "-F", writeConfig(env, "fwd", port), "bench"],
      version: [bin, "--version"],
      binary: bin,
    });
  }
  if (opts.compare) {
    // Another compiled fwd (e.g. built before a change), for before/after in one run.
    const cmp = stage(env, opts.compare, "cmp");
    rows.push({
      id: "cmp",
      label: `${opts.compare} run`,
      command: (port) => [cmp, "run", "-q", "-F", writeConfig(env, "cmp", port), "bench"],
      version: [cmp, "--version"],
      binary: cmp,
    });
  }
  rows.push({
    id: "src",
    label: "bun run src/main.ts run",
    command: (port) => [
      bun,
      "run",
      "src/main.ts",
      "run",
      "-q",
      "-F",
      writeConfig(env, "src", port),
      "bench",
    ],
    version: [bun, "run", "src/main.ts", "--version"],
  });
  if (opts.proto) {
    // Prototype rows (dev only): the bare ssh2 tunnel of bench/proto-tunnel.ts, compiled.
    for (const mode of ["naive", "coalesce"]) {
      rows.push({
        id: `proto-${mode}`,
        label: `proto ssh2 tunnel (${mode})`,
        command: (port) => [
          opts.proto!,
          String(env.sshdPort),
          env.keyPath,
          env.user,
          String(port),
          String(env.nginxPort),
          mode,
        ],
      });
    }
  }
  rows.push({ id: "direct", label: "direct (ceiling)" });
  return rows;
}
