/**
 * Resolved ssh_config (the `ssh -G` map) -> what to connect and what to forward.
 * Pure: path expansion and jump-host resolution are passed in.
 */
import { FwdError } from "../errors.ts";
import type { StrictMode } from "../knownhosts/verify.ts";
import type { ForwardSpec } from "../sshconfig/forward.ts";
import { parseSshUri, parseUserHostPort } from "../sshconfig/proxyjump.ts";

export type Options = ReadonlyMap<string, readonly string[]>;

export interface HopPlan {
  /** The name this hop was asked for (Host alias or jump spec), for messages. */
  name: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** IdentityFile was set explicitly (missing files are then reported). */
  identityFilesExplicit: boolean;
  identitiesOnly: boolean;
  /** CertificateFile: ssh2 cannot authenticate with certificates; named when auth fails. */
  certificateFiles: string[];
  /** Agent socket path, or undefined for no agent. */
  agent: string | undefined;
  connectTimeoutMs: number;
  keepalive: { intervalMs: number; countMax: number };
  hostKey: {
    alias: string | undefined;
    userFiles: string[];
    globalFiles: string[];
    strict: StrictMode;
    /** HashKnownHosts: record new keys hashed. */
    hash: boolean;
  };
}

export interface TunnelPlan {
  name: string;
  /** Jump hosts first, the bastion (the Host itself) last. */
  hops: HopPlan[];
  forwards: ForwardSpec[];
  gatewayPorts: boolean;
  exitOnForwardFailure: boolean;
}

export interface JumpSpec {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** Keepalive fwd uses when the config sets none (DESIGN.md §4). */
export const defaultKeepalive = { intervalMs: 15_000, countMax: 3 };
/** ConnectTimeout fwd uses when the config sets none. */
export const defaultConnectTimeoutMs = 15_000;

const first = (o: Options, key: string): string | undefined => o.get(key)?.[0];
const yes = (v: string | undefined): boolean => v === "yes" || v === "true";

/** StrictHostKeyChecking as ssh -G prints it ("true", "false", "ask", "accept-new", "off"). */
export function strictMode(v: string | undefined): StrictMode {
  switch (v) {
    case "true":
    case "yes":
      return "yes";
    case "false":
    case "no":
    case "off":
      return "no";
    case "accept-new":
      return "accept-new";
    default:
      return "ask";
  }
}

/** ProxyJump as ssh -G prints it ("user@host:port,host2") -> jump specs in connect order. */
export function parseProxyJump(value: string): JumpSpec[] {
  if (value === "none" || value === "") return [];
  return value.split(",").map((raw) => {
    // misc.c parse_uri / parse_user_host_port, the same parsers the resolver uses
    const uri = parseSshUri(raw);
    const r = uri === 1 ? parseUserHostPort(raw) : uri;
    if (!r) throw new FwdError("config", `bad ProxyJump "${raw}"`, "use user@host:port,host2");
    return { user: r.user, host: r.host, port: r.port > 0 ? r.port : undefined };
  });
}

/** Options fwd cannot honour are refused, never silently ignored (DESIGN.md §4). */
function refuseUnsupported(name: string, o: Options): void {
  const pc = first(o, "proxycommand");
  if (pc && pc !== "none") {
    throw new FwdError(
      "config",
      `${name}: ProxyCommand is not supported by fwd`,
      "use ProxyJump instead (fwd connects jump hosts itself)",
    );
  }
}

export interface HopDeps {
  /** ~ and %-token expansion of a path option for this hop. */
  expandPath: (path: string, o: Options) => string;
  /** $SSH_AUTH_SOCK */
  authSock: string | undefined;
}

export function planHop(name: string, o: Options, deps: HopDeps): HopPlan {
  refuseUnsupported(name, o);
  const host = first(o, "hostname") ?? name;
  const port = Number(first(o, "port") ?? 22);
  const user = first(o, "user") ?? "";
  const ct = first(o, "connecttimeout");
  const interval = Number(first(o, "serveraliveinterval") ?? 0);
  const countMax = Number(first(o, "serveralivecountmax") ?? 3);
  const agentOpt = first(o, "identityagent");
  let agent: string | undefined = deps.authSock;
  if (agentOpt === "none") agent = undefined;
  else if (agentOpt && agentOpt !== "SSH_AUTH_SOCK") agent = deps.expandPath(agentOpt, o);
  const files = (key: string) =>
    (o.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((p) => p && p !== "none");
  return {
    name,
    host,
    port,
    user,
    identityFiles: (o.get("identityfile") ?? []).map((p) => deps.expandPath(p, o)),
    identityFilesExplicit: o.has("identityfile") && !isDefaultIdentityList(o.get("identityfile")!),
    identitiesOnly: yes(first(o, "identitiesonly")),
    certificateFiles: (o.get("certificatefile") ?? []).map((p) => deps.expandPath(p, o)),
    agent,
    connectTimeoutMs: ct && ct !== "none" ? Number(ct) * 1000 : defaultConnectTimeoutMs,
    keepalive:
      interval > 0 ? { intervalMs: interval * 1000, countMax: countMax || 3 } : defaultKeepalive,
    hostKey: {
      alias: first(o, "hostkeyalias"),
      userFiles: files("userknownhostsfile").map((p) => deps.expandPath(p, o)),
      globalFiles: files("globalknownhostsfile").map((p) => deps.expandPath(p, o)),
      strict: strictMode(first(o, "stricthostkeychecking")),
      hash: yes(first(o, "hashknownhosts")),
    },
  };
}

/** ssh -G prints this list (readconf.c fill_default_options) when no IdentityFile is set. */
const DEFAULT_IDENTITIES = ["rsa", "ecdsa", "ecdsa_sk", "ed25519", "ed25519_sk", "xmss", "dsa"].map(
  (t) => `~/.ssh/id_${t}`,
);

function isDefaultIdentityList(list: readonly string[]): boolean {
  return (
    list.length === DEFAULT_IDENTITIES.length && list.every((p, i) => p === DEFAULT_IDENTITIES[i])
  );
}

/** Assemble the plan once every hop's options are known. */
export function planTunnel(
  name: string,
  o: Options,
  hops: HopPlan[],
  forwards: ForwardSpec[],
): TunnelPlan {
  return {
    name,
    hops,
    forwards,
    gatewayPorts: yes(first(o, "gatewayports")),
    exitOnForwardFailure: yes(first(o, "exitonforwardfailure")),
  };
}

/** "user@host:port" of a hop, for messages. */
export function hopLabel(h: HopPlan): string {
  return `${h.user ? `${h.user}@` : ""}${h.host}${h.port === 22 ? "" : `:${h.port}`}`;
}
