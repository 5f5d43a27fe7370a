// Client address classification (for /setup without a token).
import { parseIPv4, parseCidr, cidrContains } from '../validations/net';

const PRIVATE_V4 = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'].map(
  (s) => parseCidr(s)!,
);

/** Normalize a socket address: strips IPv4-mapped IPv6 prefix and zone ids. */
export function normalizeAddress(addr: string | null | undefined): string {
  if (!addr) return '';
  let a = addr.trim().toLowerCase();
  if (a.startsWith('::ffff:') && parseIPv4(a.slice(7)) !== null) a = a.slice(7);
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  return a;
}

/** Loopback or private (RFC 1918, link-local, CGNAT, IPv6 ULA/link-local) address. */
export function isPrivateAddress(addr: string | null | undefined): boolean {
  const a = normalizeAddress(addr);
  if (!a) return false;
  const v4 = parseIPv4(a);
  if (v4 !== null) return PRIVATE_V4.some((c) => cidrContains(c, v4));
  if (a === '::1') return true;
  if (/^f[cd][0-9a-f]{0,2}:/.test(a)) return true; // fc00::/7
  if (/^fe[89ab][0-9a-f]?:/.test(a)) return true; // fe80::/10
  return false;
}
