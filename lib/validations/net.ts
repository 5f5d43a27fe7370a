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
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n >>> 0;
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
