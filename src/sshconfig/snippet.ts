/**
 * The Host blocks `fwd init` writes, rendered from already validated values
 * (validate.ts). Pure: values in, lines out.
 */
import type { LocalTcpForward } from "./validate.ts";

export interface InitValues {
  name: string;
  bastion: { user: string; host: string; port: number };
  /** As written into IdentityFile (`~/…` or absolute) and the path it names. */
  identity: { written: string; path: string };
  forwards: LocalTcpForward[];
  /** ServerAliveInterval in seconds. */
  alive: number;
  /** The second Host that reaches the target's sshd through the first forward. */
  second: { name: string; user: string } | undefined;
}

/** A named block's lines, without markers or line endings. */
export interface BlockBody {
  name: string;
  lines: string[];
}

export const beginMarker = (name: string) => `# >>> fwd ${name} >>>`;
export const endMarker = (name: string) => `# <<< fwd ${name} <<<`;

/** One ssh_config word: bare when safe, else double-quoted (validation forbids `"` and `\`). */
export function quoteWord(s: string): string {
  return /^[A-Za-z0-9._/~+@:,-]+$/.test(s) ? s : `"${s}"`;
}

/** `[v6]` brackets where ssh's forward syntax needs them. */
export function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export function formatLocalForward(f: LocalTcpForward): string {
  return `${bracket(f.bind)}:${f.port} ${bracket(f.host)}:${f.hostPort}`;
}

export function renderBlocks(v: InitValues): BlockBody[] {
  const first: string[] = [
    "# Written by `fwd init`; re-running it replaces this block.",
    `Host ${v.name}`,
    `  HostName ${v.bastion.host}`,
    `  User ${v.bastion.user}`,
    `  Port ${v.bastion.port}`,
    `  IdentityFile ${quoteWord(v.identity.written)}`,
    "  IdentitiesOnly yes",
    ...v.forwards.map((f) => `  LocalForward ${formatLocalForward(f)}`),
    `  ServerAliveInterval ${v.alive}`,
    "  ServerAliveCountMax 3",
    "  ExitOnForwardFailure yes",
  ];
  const blocks: BlockBody[] = [{ name: v.name, lines: first }];
  const f = v.forwards[0];
  if (v.second && f) {
    blocks.push({
      name: v.second.name,
      lines: [
        `# Reaches ${bracket(f.host)}:${f.hostPort} through ${v.name}; start it first: fwd run ${v.name}`,
        `Host ${v.second.name}`,
        `  HostName ${secondHostName(f.bind)}`,
        `  Port ${f.port}`,
        `  User ${v.second.user}`,
        // Remember the target's key under its own name, not [localhost]:10022.
        `  HostKeyAlias ${f.host}`,
      ],
    });
  }
  return blocks;
}

/** ssh to the forward's listen address: `localhost` for the default loopback bind. */
function secondHostName(bind: string): string {
  return bind === "127.0.0.1" ? "localhost" : bind;
}

/** The snippet as text, markers included, as `--print` shows it. */
export function renderSnippet(v: InitValues, eol = "\n"): string {
  return renderBlocks(v)
    .map((b) => [beginMarker(b.name), ...b.lines, endMarker(b.name)].join(eol) + eol)
    .join(eol);
}
