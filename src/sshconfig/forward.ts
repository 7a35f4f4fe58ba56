/**
 * LocalForward / RemoteForward / DynamicForward specs: parse and format.
 * Mirrors OpenSSH readconf.c parse_forward() / misc.c.
 */

/** Where a listener binds or a connection goes: TCP host+port, or a unix socket path. */
export type Address = { host: string; port: number } | { socket: string };

/** A listen side: bind address optional (undefined = ssh's default, loopback unless GatewayPorts). */
export type ListenAddress = { bind: string | undefined; port: number } | { socket: string };

export type ForwardSpec =
  | { kind: "local"; listen: ListenAddress; connect: Address }
  | { kind: "remote"; listen: ListenAddress; connect: Address }
  | { kind: "dynamic"; listen: ListenAddress };

export type ForwardKind = ForwardSpec["kind"];
