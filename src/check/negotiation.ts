/**
 * What ssh2's debug lines say about the SSH handshake: the server's
 * identification string and, per algorithm family, both sides' lists and the
 * choice. Enough to explain "no matching … algorithm".
 */
export type Family = "kex" | "hostKey" | "cipher" | "mac" | "compression";

export interface Negotiation {
  ident?: string;
  local: Partial<Record<Family, string[]>>;
  remote: Partial<Record<Family, string[]>>;
  chosen: Partial<Record<Family, string>>;
}

const families: [RegExp, Family][] = [
  [/^KEX (?:method|algorithm)$/, "kex"],
  [/^Host key format$/, "hostKey"],
  [/^C->S cipher$/i, "cipher"],
  [/^C->S MAC$/, "mac"],
  [/^C->S compression$/, "compression"],
];

function familyOf(label: string): Family | undefined {
  return families.find(([re]) => re.test(label))?.[1];
}

/** Feeds one ssh2 debug line into the record. */
export function readDebugLine(n: Negotiation, line: string): void {
  const ident = /^Remote ident: '(.*)'$/.exec(line);
  if (ident) {
    n.ident = ident[1]!;
    return;
  }
  const m = /^Handshake: (?:\((local|remote)\) )?([^:]+): (.*)$/.exec(line);
  if (!m) return;
  const family = familyOf(m[2]!);
  if (!family) return;
  if (m[1]) n[m[1] as "local" | "remote"][family] = m[3]!.split(",").filter(Boolean);
  else n.chosen[family] = m[3]!;
}

const names: Record<Family, string> = {
  kex: "key exchange (KexAlgorithms)",
  hostKey: "host key (HostKeyAlgorithms)",
  cipher: "cipher (Ciphers)",
  mac: "MAC (MACs)",
  compression: "compression",
};

/** "server offers X, fwd supports Y" for the family that failed. */
export function explainNoCommonAlgorithm(n: Negotiation, error: string): string {
  const order: Family[] = ["kex", "hostKey", "cipher", "mac", "compression"];
  const family = order.find((f) => n.remote[f] && !n.chosen[f]);
  if (!family) return error;
  const remote = n.remote[family] ?? [];
  const local = n.local[family] ?? [];
  const lines = [
    `no common ${names[family]}`,
    `server offers: ${remote.join(", ") || "(nothing)"}`,
    `fwd supports:  ${local.join(", ")}`,
  ];
  if (family === "cipher" && remote.every((c) => c.startsWith("chacha20-poly1305"))) {
    lines.push("chacha20-poly1305 is not available in this runtime (Bun lacks it)");
  }
  return lines.join("\n");
}
