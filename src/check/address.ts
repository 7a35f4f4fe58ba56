/** host:port as users write it (IPv6 in brackets), or a unix socket path. */
export const fmtHost = (h: string) => (h.includes(":") ? `[${h}]` : h);

export const fmtAddress = (a: { host: string; port: number } | { socket: string }) =>
  "socket" in a ? a.socket : `${fmtHost(a.host)}:${a.port}`;
