/** Layer 2: does the name resolve from here, and to what? */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type Finding, fail, pass, timed } from "./finding.ts";

export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface DnsResult {
  finding: Finding;
  addresses: string[];
}

/** Resolves `host` as ssh would (getaddrinfo); an IP address passes as is. */
export async function checkDns(
  host: string,
  timeoutMs: number,
  lookup: Lookup = systemLookup,
): Promise<DnsResult> {
  let addresses: string[] = [];
  const finding = await timed(async () => {
    if (isIP(host)) {
      addresses = [host];
      return pass("dns", `${host} is an IP address`, "no lookup needed");
    }
    try {
      const r = await withTimeout(lookup(host), timeoutMs);
      if (r === "timeout") {
        return fail(
          "dns",
          `${host} did not resolve within ${timeoutMs / 1000}s`,
          "the DNS server did not answer",
          "check your network, VPN or /etc/resolv.conf; or set HostName to an IP address",
        );
      }
      addresses = r;
      return pass("dns", `${host} resolves`, r.join(", "));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      const temporary = code === "EAI_AGAIN";
      return fail(
        "dns",
        `${host} does not resolve`,
        `${code || (e as Error).message}${temporary ? " (temporary failure: no DNS server reachable?)" : ""}`,
        temporary
          ? "check your network or VPN; names inside a private network resolve only when connected to it"
          : `check HostName for this Host (typo?); if ${host} only exists inside a private network, connect to its VPN or use its IP address`,
      );
    }
  });
  return { finding, addresses };
}
