/** The state a tunnel reports: shared by the engine, the daemon's state file and `status --json`. */
export type LinkState = "connecting" | "up" | "reconnecting" | "stopped";

export interface ForwardStatus {
  /** ssh-style spec, e.g. "127.0.0.1:10022 -> target-host:22" */
  description: string;
  kind: "local" | "remote" | "dynamic";
  /** Local listen port (local/dynamic), undefined for unix sockets and remote forwards. */
  port: number | undefined;
  connections: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TunnelStatus {
  name: string;
  state: LinkState;
  /** ISO time of the last state change. */
  since: string;
  reconnects: number;
  lastError: string | undefined;
  /** "bastion_user@bastion-host:22" (last hop). */
  via: string;
  forwards: ForwardStatus[];
}
