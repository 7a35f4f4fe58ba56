/**
 * Numeric host addresses as ssh.c treats them: is_addr_fast() decides a name
 * can only be an address, and resolve_addr() (getaddrinfo AI_NUMERICHOST +
 * getnameinfo NI_NUMERICHOST, glibc rules) gives its canonical spelling.
 */

/** ssh.c is_addr_fast(). */
export function looksLikeAddress(name: string): boolean {
  return name.includes("%") || name.includes(":") || /^[0-9.]*$/.test(name);
}

/** glibc inet_aton: 1-4 parts, each decimal, 0octal or 0xhex; the last fills the remaining bytes. */
export function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = Number.parseInt(p, 8);
    else if (/^[1-9]\d*$/.test(p)) v = Number(p);
    else return undefined;
    nums.push(v);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255)) return undefined;
  const room = 4 - nums.length;
  if (last >= 256 ** room) return undefined;
  const tail: number[] = [];
  let rest = last;
  for (let i = 0; i < room; i++) {
    tail.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  }
  return [...nums, ...tail];
}

/** inet_pton(AF_INET6): eight 16-bit groups, or undefined. */
export function parseIPv6(s: string): number[] | undefined {
  let text = s;
  let v4: number[] = [];
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (m) {
    const parts = (m[2] as string).split(".").map(Number);
    if (parts.some((p, i) => p > 255 || /^0\d/.test((m[2] as string).split(".")[i] as string)))
      return undefined;
    v4 = [
      ((parts[0] as number) << 8) | (parts[1] as number),
      ((parts[2] as number) << 8) | (parts[3] as number),
    ];
    text = m[1] as string;
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if ([...head, ...tail].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const nums = (gs: string[]) => gs.map((g) => Number.parseInt(g, 16));
  const total = head.length + tail.length + v4.length;
  if (halves.length === 1) return total === 8 ? [...nums(head), ...v4] : undefined;
  if (total > 7) return undefined;
  return [...nums(head), ...new Array(8 - total).fill(0), ...nums(tail), ...v4];
}

/** glibc inet_ntop(AF_INET6): the first longest run (>1) of zero groups as "::", IPv4 tails dotted. */
export function formatIPv6(g: number[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best !== -1 && i >= best && i < best + bestLen) {
      if (i === best) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      const [a, b] = [g[6] as number, g[7] as number];
      out += `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
      return out;
    }
    out += (g[i] as number).toString(16);
  }
  if (best !== -1 && best + bestLen === 8) out += ":";
  return out;
}

/**
 * The canonical form ssh prints for a numeric address, or undefined when the
 * name is no numeric address. Scoped IPv6 addresses (`%if`) are left as written.
 */
export function canonicalAddress(
  name: string,
  family: "any" | "inet" | "inet6" = "any",
): string | undefined {
  if (name.includes("%")) return undefined;
  if (family !== "inet6") {
    const v4 = parseIPv4(name);
    if (v4) return v4.join(".");
  }
  if (family !== "inet") {
    const v6 = parseIPv6(name);
    if (v6) return formatIPv6(v6);
  }
  return undefined;
}
