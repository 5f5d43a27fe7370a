// Client addresses and Host names (pure; used by proxy.ts, the sign-in actions and their tests).
//  - classification: loopback, private (RFC 1918, IPv6 ULA); CGNAT (100.64/10) and link-local
//    (169.254/16, fe80::/10) are NOT private: CGNAT addresses belong to the ISP's shared network
//    (other customers), link-local ones to whatever shares the link (e.g. the modem segment).
//  - the client address behind reverse proxies: X-Forwarded-For is believed only when the socket
//    peer is one of the configured proxies (LINKWARD_TRUSTED_PROXIES; default none).
//  - the Host allow-list against DNS rebinding (LINKWARD_HOSTNAMES).
//  - rate-limit keys: an IPv6 client owns a whole /64, so it is keyed by its /64.
import net from 'node:net';
import { parseIPv4, parseCidr, cidrContains } from '../validations/net';

const cidrs = (l: string[]) => l.map((s) => parseCidr(s)!);
const LOOPBACK_V4 = cidrs(['127.0.0.0/8']);
const PRIVATE_V4 = cidrs(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);

/** Normalize a socket address: lowercase, strips the IPv4-mapped IPv6 prefix and zone ids. */
export function normalizeAddress(addr: string | null | undefined): string {
  if (!addr) return '';
  let a = addr.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  if (a.startsWith('::ffff:') && parseIPv4(a.slice(7)) !== null) a = a.slice(7);
  return a;
}

/** The 8 groups of an IPv6 address (null if it is not one). */
export function ipv6Groups(addr: string): number[] | null {
  const a = normalizeAddress(addr);
  if (!net.isIPv6(a)) return null;
  let head = a;
  let tailV4: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const n = parseIPv4(v4[1]);
    if (n === null) return null;
    tailV4 = [n >>> 16, n & 0xffff];
    head = a.slice(0, -v4[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [l, r] = head.includes('::') ? head.split('::') : [head, undefined];
  const part = (s: string | undefined) => (s ? s.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : []);
  const left = part(l);
  const right = [...part(r), ...tailV4];
  const fill = 8 - left.length - right.length;
  if (r === undefined ? fill !== 0 : fill < 1) return null;
  return [...left, ...new Array(fill).fill(0), ...right];
}

export function isLoopbackAddress(addr: string | null | undefined): boolean {
  const a = normalizeAddress(addr);
  const v4 = parseIPv4(a);
  if (v4 !== null) return LOOPBACK_V4.some((c) => cidrContains(c, v4));
  const g = ipv6Groups(a);
  return !!g && g.slice(0, 7).every((x) => x === 0) && g[7] === 1;
}

/** RFC 1918 or IPv6 ULA (fc00::/7). Not loopback, not CGNAT, not link-local. */
export function isPrivateAddress(addr: string | null | undefined): boolean {
  const a = normalizeAddress(addr);
  const v4 = parseIPv4(a);
  if (v4 !== null) return PRIVATE_V4.some((c) => cidrContains(c, v4));
  const g = ipv6Groups(a);
  return !!g && (g[0] & 0xfe00) === 0xfc00;
}

/** Rate-limit key of a client address: IPv4 as is, IPv6 by its /64 ("2001:db8:1:2::/64"). */
export function sourceKey(addr: string | null | undefined): string {
  const a = normalizeAddress(addr);
  const g = ipv6Groups(a);
  if (g) return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
  return parseIPv4(a) !== null ? a : 'unknown';
}

/** A list of addresses / CIDRs (IPv4 or IPv6) as a BlockList; throws naming the bad entry. */
export function addressList(spec: string | undefined, what: string): net.BlockList {
  const list = new net.BlockList();
  for (const item of (spec ?? '').split(/[\s,]+/).filter(Boolean)) {
    const [addr, len, extra] = item.split('/');
    const a = normalizeAddress(addr);
    const type = net.isIPv4(a) ? 'ipv4' : net.isIPv6(a) ? 'ipv6' : null;
    const max = type === 'ipv4' ? 32 : 128;
    const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
    if (!type || extra !== undefined || !(prefix >= 0 && prefix <= max)) throw new Error(`${what}: ${JSON.stringify(item)} is not an IP address or CIDR`);
    list.addSubnet(a, prefix, type);
  }
  return list;
}

export function inList(list: net.BlockList, addr: string): boolean {
  const a = normalizeAddress(addr);
  if (net.isIPv4(a)) return list.check(a, 'ipv4');
  if (net.isIPv6(a)) return list.check(a, 'ipv6');
  return false;
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy; then the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy (entries left of it were
 * written by the client and prove nothing). A malformed entry ends the walk: the proxy that
 * appended it is the last address we can believe.
 */
export function clientFrom(peer: string, forwardedFor: string | null | undefined, trusted: net.BlockList): string {
  let client = normalizeAddress(peer);
  if (!inList(trusted, client)) return client;
  const hops = (forwardedFor ?? '').split(',').map((s) => normalizeAddress(s)).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = hops[i];
    if (!net.isIP(h)) break;
    client = h;
    if (!inList(trusted, h)) break;
  }
  return client;
}

/** The host name of a Host header value ("[::1]:3000" → "::1", "Router.LAN." → "router.lan"). */
export function hostName(host: string | null | undefined): string {
  let h = (host ?? '').trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : '';
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Configured names (LINKWARD_HOSTNAMES): host names or IP literals; throws naming the bad one. */
export function parseHostNames(spec: string | undefined): string[] {
  return (spec ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((raw) => {
      const n = hostName(raw.includes(':') && !raw.startsWith('[') && net.isIPv6(raw) ? `[${raw}]` : raw);
      if (!HOSTNAME_RE.test(n) && !net.isIP(n)) throw new Error(`LINKWARD_HOSTNAMES: ${JSON.stringify(raw)} is not a host name`);
      return n;
    });
}

export interface HostPolicy {
  /** The address the server listens on ('' or 0.0.0.0/:: = every local address). */
  bind: string;
  /** LINKWARD_HOSTNAMES. */
  names: string[];
  /** Addresses of this machine (used when bound to every address). */
  localAddresses: () => string[];
}

/**
 * Host allow-list against DNS rebinding: a page of evil.example whose name is made to resolve to
 * the router reaches us with `Host: evil.example`, so only names we know are served: localhost,
 * the loopback addresses, the bind address (every local address when bound to all of them) and
 * the configured names. Which names a browser user types is the admin's to configure.
 */
export function hostAllowed(host: string | null | undefined, policy: HostPolicy): boolean {
  const h = hostName(host);
  if (!h) return false;
  if (h === 'localhost' || isLoopbackAddress(h)) return true;
  if (policy.names.includes(h)) return true;
  if (!net.isIP(normalizeAddress(h))) return false;
  const a = normalizeAddress(h);
  const bind = normalizeAddress(policy.bind);
  if (bind && bind !== '0.0.0.0' && bind !== '::') return a === bind;
  return policy.localAddresses().map(normalizeAddress).includes(a);
}
