// Strict grammars for every string that can reach nft or ip.
// Nothing here uses loose regexes for addresses: IPv4 and CIDR are parsed.

export const NAME_RE = /^[a-z][a-z0-9-]{0,23}$/;
export const NAME_HINT = 'must be 1-24 characters: a lowercase letter, then lowercase letters, digits or "-"';

/** Linux interface names: 1-15 bytes, no '/', ':', whitespace or quotes; not "." or "..".
 *  We are stricter than the kernel: [A-Za-z0-9_.-] only, starting with a letter/digit/underscore. */
export const IFNAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
export function isIfname(s: string): boolean {
  return IFNAME_RE.test(s) && s !== '.' && s !== '..';
}

/** Parse dotted-quad IPv4 into a 32-bit unsigned number, or null. No leading zeros, no shorthand. */
export function parseIPv4(s: string): number | null {
  if (typeof s !== 'string' || s.length > 15) return null;
  // by character: four dot-separated decimal parts, each 0 or 1-3 digits without a leading zero, ≤ 255
  let n = 0;
  let parts = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // the end closes the last part like a dot
    if (c === 46) {
      if (digits === 0 || v > 255 || ++parts > 4) return null;
      n = n * 256 + v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3 || (digits === 1 && v === 0)) return null; // a fourth digit, or a leading zero
      v = v * 10 + (c - 48);
      digits++;
    } else return null;
  }
  return parts === 4 ? n >>> 0 : null;
}

export function formatIPv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== null;
}

export interface Cidr {
  address: number;
  prefix: number;
}

/** Parse "a.b.c.d/n" (or a bare address when allowBare, meaning /32). */
export function parseCidr(s: string, allowBare = true): Cidr | null {
  if (typeof s !== 'string' || s.length > 18) return null;
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!allowBare) return null;
    const a = parseIPv4(s);
    return a === null ? null : { address: a, prefix: 32 };
  }
  const a = parseIPv4(s.slice(0, slash));
  const pstr = s.slice(slash + 1);
  if (a === null || !/^(0|[1-9][0-9]?)$/.test(pstr)) return null;
  const prefix = Number(pstr);
  if (prefix > 32) return null;
  return { address: a, prefix };
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(c: Cidr): number {
  return (c.address & maskOf(c.prefix)) >>> 0;
}

export function hostBitsSet(c: Cidr): boolean {
  return networkOf(c) !== c.address;
}

export function cidrToString(c: Cidr): string {
  return `${formatIPv4(c.address)}/${c.prefix}`;
}

export function cidrContains(net: Cidr, addr: number): boolean {
  return ((addr & maskOf(net.prefix)) >>> 0) === networkOf(net);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(p);
  return ((a.address & m) >>> 0) === ((b.address & m) >>> 0);
}

/** Port or "a-b" range. Returns [lo, hi] or null. */
export function parsePortSpec(v: unknown): [number, number] | null {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= 1 && v <= 65535 ? [v, v] : null;
  }
  if (typeof v !== 'string') return null;
  const m = /^([1-9][0-9]{0,4})(?:-([1-9][0-9]{0,4}))?$/.exec(v);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || lo > hi) return null;
  return [lo, hi];
}

// ---------------------------------------------------------------------------
// IPv6: parsed into a 128-bit bigint, never regex-guessed. Accepted: the forms of RFC 4291 §2.2
// (full, compressed "::", an embedded dotted IPv4 in the last 32 bits), hex digits in either case.
// Refused: zone ids ("fe80::1%eth0"), empty groups outside one "::", groups of more than 4 digits,
// more than 8 groups, whitespace, anything else.
// ---------------------------------------------------------------------------

const HEX4 = /^[0-9a-fA-F]{1,4}$/;
const MAX128 = (1n << 128n) - 1n;

function groupsOf(part: string): number[] | null {
  if (part === '') return [];
  const out: number[] = [];
  const items = part.split(':');
  for (let i = 0; i < items.length; i++) {
    const g = items[i];
    if (i === items.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (v4 === null) return null;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX4.test(g)) out.push(Number.parseInt(g, 16));
    else return null;
  }
  return out;
}

/** Parse an IPv6 address into a bigint, or null. */
export function parseIPv6(s: string): bigint | null {
  if (typeof s !== 'string' || s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null; // at most one "::"
  let groups: number[];
  if (dbl < 0) {
    const g = groupsOf(s);
    if (!g || g.length !== 8) return null;
    groups = g;
  } else {
    const head = s.slice(0, dbl);
    const tail = s.slice(dbl + 2);
    if (head.startsWith(':') || head.endsWith(':') || tail.startsWith(':') || tail.endsWith(':')) return null;
    if (head.includes('.')) return null; // a dotted quad only at the very end
    const h = groupsOf(head);
    const t = groupsOf(tail);
    if (!h || !t || h.length + t.length > 7) return null;
    groups = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(g);
  return n;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
export function formatIPv6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== null;
}

export interface Cidr6 {
  address: bigint;
  prefix: number;
}

/** Parse "addr/n" (n 0-128), or a bare address (/128) when allowBare. */
export function parseCidr6(s: string, allowBare = true): Cidr6 | null {
  if (typeof s !== 'string' || s.length > 49) return null;
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!allowBare) return null;
    const a = parseIPv6(s);
    return a === null ? null : { address: a, prefix: 128 };
  }
  const a = parseIPv6(s.slice(0, slash));
  const pstr = s.slice(slash + 1);
  if (a === null || !/^(0|[1-9][0-9]{0,2})$/.test(pstr)) return null;
  const prefix = Number(pstr);
  if (prefix > 128) return null;
  return { address: a, prefix };
}

export const maskOf6 = (prefix: number): bigint => (prefix === 0 ? 0n : (MAX128 << BigInt(128 - prefix)) & MAX128);
export const networkOf6 = (c: Cidr6): bigint => c.address & maskOf6(c.prefix);
export const hostBitsSet6 = (c: Cidr6): boolean => networkOf6(c) !== c.address;
export const cidr6ToString = (c: Cidr6): string => `${formatIPv6(c.address)}/${c.prefix}`;
export const cidr6Contains = (net: Cidr6, addr: bigint): boolean => (addr & maskOf6(net.prefix)) === networkOf6(net);
export function cidrs6Overlap(a: Cidr6, b: Cidr6): boolean {
  const m = maskOf6(Math.min(a.prefix, b.prefix));
  return (a.address & m) === (b.address & m);
}

const LINK_LOCAL6: Cidr6 = { address: 0xfe80n << 112n, prefix: 10 };
const MULTICAST6: Cidr6 = { address: 0xffn << 120n, prefix: 8 };
export const isLinkLocal6 = (s: string): boolean => {
  const a = parseIPv6(s);
  return a !== null && cidr6Contains(LINK_LOCAL6, a);
};
export const isMulticast6 = (s: string): boolean => {
  const a = parseIPv6(s);
  return a !== null && cidr6Contains(MULTICAST6, a);
};

/** ::, ::1 or an IPv4-mapped address (::ffff:0:0/96): never a host on a wire. */
export const isSpecial6 = (s: string): boolean => {
  const a = parseIPv6(s);
  return a !== null && (a === 0n || a === 1n || a >> 32n === 0xffffn);
};

export type Family = 4 | 6;

/** The family of an address or CIDR ("a.b.c.d[/n]" or IPv6[/n]), or null if it is neither. */
export function familyOf(s: string): Family | null {
  if (parseCidr(s) !== null) return 4;
  if (parseCidr6(s) !== null) return 6;
  return null;
}

/** Canonical text of an address or CIDR of either family (IPv6 per RFC 5952), or null. */
export function canonicalNet(s: string): string | null {
  const c4 = parseCidr(s);
  if (c4) return s.includes('/') ? cidrToString(c4) : formatIPv4(c4.address);
  const c6 = parseCidr6(s);
  if (c6) return s.includes('/') ? cidr6ToString(c6) : formatIPv6(c6.address);
  return null;
}

/** The /64 (or shorter) network of `c` with host bits cleared, as text. */
export function net6Text(c: Cidr6): string {
  return cidr6ToString({ address: networkOf6(c), prefix: c.prefix });
}

/** What an unban names: an IPv4 address (the element of lw_banned), or an IPv6 /64 — IPv6 sources
 *  are banned per /64 (lw_banned6 holds the /64's network address, "2001:db8:1:2::"). Accepted:
 *  "2001:db8:1:2::/64", or any address inside the /64; another prefix length is refused. `ban` is
 *  the text the dashboard lists ("2001:db8:1:2::/64"), `element` the set element. */
export function parseBanAddress(s: unknown): { family: 4; ban: string; element: string } | { family: 6; ban: string; element: string } | { error: string } {
  if (typeof s !== 'string' || s.length === 0 || s.length > 49) return { error: 'must be an IPv4 address or an IPv6 /64 (e.g. 2001:db8:1:2::/64)' };
  if (isIPv4(s)) return { family: 4, ban: s, element: s };
  const c = parseCidr6(s);
  if (!c) return { error: 'must be an IPv4 address or an IPv6 /64 (e.g. 2001:db8:1:2::/64)' };
  if (s.includes('/') && c.prefix !== 64) return { error: `IPv6 sources are banned per /64: give the /64 (not /${c.prefix})` };
  const net = formatIPv6(c.address & maskOf6(64));
  return { family: 6, ban: `${net}/64`, element: net };
}
