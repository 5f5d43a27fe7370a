// Small pieces of rule text shared by several chains.
import { parsePortSpec, familyOf, canonicalNet, type Family } from '../../validations/net';
import { anyOf } from '../nft';
import { MARK_MASK, hexMask } from '../constants';

/** "22" or "8000-8100" from a validated port spec. */
export const portStr = (p: number | string): string => {
  const r = parsePortSpec(p);
  if (!r) throw new Error(`invalid port ${String(p)}`); // unreachable for validated configs
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
};

/** Reference to a named counter object. */
export const cnt = (name: string): string => `counter name "${name}"`;

/** The uplink bits of a mark, and the match "no uplink chosen yet". */
export const MASK = hexMask(MARK_MASK);
export const UNMARKED = `ct mark and ${MASK} == 0`;

/** nft's name of an address family's header ("ip" / "ip6"). */
export const famKw = (f: Family): 'ip' | 'ip6' => (f === 6 ? 'ip6' : 'ip');

/** Validated addresses/networks split by family, canonical (IPv6 per RFC 5952). */
export function byFamily(list: readonly string[]): { 4: string[]; 6: string[] } {
  const out: { 4: string[]; 6: string[] } = { 4: [], 6: [] };
  for (const x of list) {
    const f = familyOf(x);
    if (f !== null) out[f].push(canonicalNet(x)!);
  }
  return out;
}

/** "ip saddr { … }" / "ip6 saddr { … }" for the addresses of each family present. */
export function addrMatches(dir: 'saddr' | 'daddr', list: readonly string[]): { family: Family; match: string }[] {
  const b = byFamily(list);
  return ([4, 6] as const).filter((f) => b[f].length > 0).map((f) => ({ family: f, match: `${famKw(f)} ${dir} ${anyOf(b[f])}` }));
}

/** Restrict a family-neutral rule to one family. */
export const nfproto = (f: Family): string => `meta nfproto ${f === 6 ? 'ipv6' : 'ipv4'}`;
