// The unit that brute-force limits count by: one IPv4 address, or one IPv6 /64 (what one subscriber is given).
// Shared by the edge (console logins) and the relay (SSH logins) so that both count alike.

const V4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;

/** The eight 16-bit groups of an IPv6 address (zone and embedded IPv4 allowed), or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  let s = text.split('%')[0]!;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    // An embedded IPv4 address (`::ffff:192.0.2.1`) is the last two groups written in decimal.
    const v4 = s.slice(lastColon + 1);
    if (!V4.test(v4)) return null;
    const b = v4.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return null;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest];
}

/**
 * The counting key of a source address: `a.b.c.d` for IPv4 (and IPv4-mapped IPv6), `xxxx:xxxx:xxxx:xxxx::/64`
 * for IPv6; anything unparsable is kept as given (lower-cased, at most 64 characters) so it still counts.
 */
export function addressBucket(ip: string): string {
  const text = ip.trim().toLowerCase();
  if (V4.test(text)) return text;
  const g = ipv6Groups(text);
  if (!g) return text.slice(0, 64);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff)
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}
