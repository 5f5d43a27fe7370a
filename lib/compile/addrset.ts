// Address-list → nft interval-set elements: parse, sort, merge overlapping/adjacent networks,
// render each merged interval as a CIDR when it is one, else as "a-b". O(n log n), string join.
import { parseCidr, maskOf, formatIPv4, parseCidr6, networkOf6, formatIPv6, familyOf } from '../validations/net';

export function mergeNetworks(entries: readonly string[]): [number, number][] {
  const iv: [number, number][] = [];
  for (const e of entries) {
    const c = parseCidr(e);
    if (!c) continue; // schema-validated input: cannot happen
    const lo = (c.address & maskOf(c.prefix)) >>> 0;
    const hi = (lo + 2 ** (32 - c.prefix) - 1) >>> 0;
    iv.push([lo, hi]);
  }
  iv.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of iv) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) { if (hi > last[1]) last[1] = hi; } else out.push([lo, hi]);
  }
  return out;
}

function intervalToString(lo: number, hi: number): string {
  const size = hi - lo + 1;
  if ((size & (size - 1)) === 0 || size === 2 ** 32) {
    const prefix = 32 - Math.log2(size);
    if (Number.isInteger(prefix) && (lo & maskOf(prefix)) >>> 0 === lo) {
      return prefix === 32 ? formatIPv4(lo) : `${formatIPv4(lo)}/${prefix}`;
    }
  }
  return `${formatIPv4(lo)}-${formatIPv4(hi)}`;
}

export function setElements(entries: readonly string[]): string[] {
  return mergeNetworks(entries).map(([lo, hi]) => intervalToString(lo, hi));
}

/** The interval set `include` minus `exclude` (both CIDR/address lists), as nft elements. */
export function subtractNetworks(include: readonly string[], exclude: readonly string[]): string[] {
  const out: [number, number][] = [];
  const cut = mergeNetworks(exclude);
  for (let [lo, hi] of mergeNetworks(include)) {
    for (const [xlo, xhi] of cut) {
      if (xhi < lo || xlo > hi) continue;
      if (xlo > lo) out.push([lo, xlo - 1]);
      lo = xhi + 1;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out.map(([a, b]) => intervalToString(a, b));
}

// ---- IPv6 (bigint intervals; same merging and rendering rules) ----

const ALL6 = (1n << 128n) - 1n;

function merge6(entries: readonly string[]): [bigint, bigint][] {
  const iv: [bigint, bigint][] = [];
  for (const e of entries) {
    const c = parseCidr6(e);
    if (!c) continue;
    const lo = networkOf6(c);
    iv.push([lo, lo + (1n << BigInt(128 - c.prefix)) - 1n]);
  }
  iv.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of iv) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

function interval6ToString(lo: bigint, hi: bigint): string {
  const size = hi - lo + 1n;
  if ((size & (size - 1n)) === 0n) {
    let bits = 0;
    while (1n << BigInt(bits) < size) bits++;
    const prefix = 128 - bits;
    const mask = prefix === 0 ? 0n : (ALL6 << BigInt(128 - prefix)) & ALL6;
    if ((lo & mask) === lo) return prefix === 128 ? formatIPv6(lo) : `${formatIPv6(lo)}/${prefix}`;
  }
  return `${formatIPv6(lo)}-${formatIPv6(hi)}`;
}

/** IPv6 entries → merged nft interval-set elements. */
export function setElements6(entries: readonly string[]): string[] {
  return merge6(entries).map(([lo, hi]) => interval6ToString(lo, hi));
}

/** The IPv6 interval set `include` minus `exclude`, as nft elements. */
export function subtractNetworks6(include: readonly string[], exclude: readonly string[]): string[] {
  const out: [bigint, bigint][] = [];
  const cut = merge6(exclude);
  for (let [lo, hi] of merge6(include)) {
    for (const [xlo, xhi] of cut) {
      if (xhi < lo || xlo > hi) continue;
      if (xlo > lo) out.push([lo, xlo - 1n]);
      lo = xhi + 1n;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out.map(([a, b]) => interval6ToString(a, b));
}

/** Entries of one family (validated strings). */
export const ofFamily = (entries: readonly string[], f: 4 | 6): string[] => entries.filter((e) => familyOf(e) === f);
