/**
 * LocalForward / RemoteForward / DynamicForward specs: parse and format.
 * Mirrors OpenSSH readconf.c parse_forward() / misc.c.
 */
import { FwdError } from "../errors.ts";
import { parseRawForward, type RawForward } from "./fwdspec.ts";

/** Where a listener binds or a connection goes: TCP host+port, or a unix socket path. */
export type Address = { host: string; port: number } | { socket: string };

/** A listen side: bind address optional (undefined = ssh's default, loopback unless GatewayPorts). */
export type ListenAddress = { bind: string | undefined; port: number } | { socket: string };

export type ForwardSpec =
  | { kind: "local"; listen: ListenAddress; connect: Address }
  | { kind: "remote"; listen: ListenAddress; connect: Address }
  | { kind: "dynamic"; listen: ListenAddress };

export type ForwardKind = ForwardSpec["kind"];

/** The ForwardSpec for ssh's raw forward; "socks" as local connect host means SOCKS, as ssh does. */
export function specOf(kind: ForwardKind, f: RawForward): ForwardSpec {
  const listen: ListenAddress =
    f.listenPath !== undefined
      ? { socket: f.listenPath }
      : { bind: f.listenHost, port: f.listenPort };
  const connect: Address | undefined =
    f.connectPath !== undefined
      ? { socket: f.connectPath }
      : f.connectHost !== undefined
        ? { host: f.connectHost, port: f.connectPort }
        : undefined;
  if (
    kind === "dynamic" ||
    (kind === "local" && f.connectHost === "socks" && f.connectPath === undefined)
  ) {
    return { kind: "dynamic", listen };
  }
  // A remote dynamic forward (`RemoteForward 1080`) keeps ssh's connect "socks":0.
  return { kind, listen, connect: connect ?? { host: "socks", port: 0 } };
}

function bad(spec: string, why: string): FwdError {
  const hint =
    "forms: [bind:]port:host:hostport, [bind:]port:/socket, /socket:host:hostport; -D [bind:]port";
  return new FwdError("usage", `bad forward spec "${spec}": ${why}`, hint);
}

/**
 * Parses a forward as written in ssh_config ("config": `10022 target-host:22`)
 * or on ssh's command line ("cli": `10022:target-host:22`). A cli spec with a
 * blank in it is read in config form, so what `ssh -G` prints is accepted too.
 */
export function parseForward(kind: ForwardKind, spec: string, form: "config" | "cli"): ForwardSpec {
  let words = spec
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  if (words.length === 0) throw bad(spec, "empty");
  // ssh -G prints a remote dynamic forward (`RemoteForward 1080`) as "1080 [socks]:0"
  if (kind === "remote" && words.length === 2 && words[1] === "[socks]:0")
    words = words.slice(0, 1);
  let joined: string;
  let dynamic = kind === "dynamic";
  if (form === "config" || words.length > 1) {
    const max = dynamic ? 1 : 2;
    if (words.length > max) throw bad(spec, "extra arguments");
    if (!dynamic && words.length === 1) {
      if (kind !== "remote") throw bad(spec, "missing target argument");
      dynamic = true;
    }
    joined = words.join(":");
  } else {
    joined = words[0] as string;
  }
  const remote = kind === "remote";
  let raw = parseRawForward(joined, dynamic, remote);
  if (!raw && remote && form === "cli" && !dynamic) raw = parseRawForward(joined, true, true); // ssh -R 1080
  if (!raw) throw bad(spec, "not a valid forwarding specification (bad port, host or path)");
  return specOf(kind, raw);
}

/** Exactly as ssh -G prints the value, e.g. "10022 [target-host]:22". */
export function formatForward(spec: ForwardSpec): string {
  const l = spec.listen;
  const listen =
    "socket" in l ? l.socket : l.bind === undefined ? String(l.port) : `[${l.bind}]:${l.port}`;
  if (spec.kind === "dynamic") return listen;
  const c = spec.connect;
  return `${listen} ${"socket" in c ? c.socket : `[${c.host}]:${c.port}`}`;
}
