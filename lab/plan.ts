// The lab's fixed topology and address plan, and the linkward config that matches it.
// Pure: no I/O. lab/lab.ts turns this into namespaces, links and servers.
import net from 'node:net';
import type { ConfigInput } from '../lib/validations/config';
import { isIPv4 } from '../lib/validations/net';

export const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;
export const DEFAULT_PREFIX = 'lw';
export const DEFAULT_UPLINKS = 2;
export const MAX_UPLINKS = 4;

export const LAN_ROUTER_ADDR = '192.168.1.1';
export const LAN_HOST_ADDR = '192.168.1.10';
export const LAN_HOST_ADDR2 = '192.168.1.50';
export const PROBE_TARGETS = ['203.0.113.10', '203.0.113.11', '203.0.113.12'] as const;
export const SERVER_ADDR = '203.0.113.80';
export const ECHO_TCP_PORTS = [80, 8080] as const;
export const ECHO_UDP_PORTS = [80, 123] as const;
export const LAN_SERVER_PORT = 80;
/** The lab's Internet: documentation prefixes (RFC 5737) and the ISPs' transit links (100.127.k.0/30
 *  in shared address space, as some real ISPs number their infrastructure). */
export const LAB_INTERNET = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '100.127.0.0/16'] as const;

// IPv6 (docs/lab.md "IPv6"): documentation prefixes (RFC 3849) for uplinks and the Internet, ULA
// (fd00::/8) for the NPTv6 LAN. ISP k: access link 2001:db8:k::/64, delegated 2001:db8:k00::/56,
// transit 2001:db8:fk::/64.
export const PROBE_TARGETS6 = ['2001:db8:ffff::10', '2001:db8:ffff::11', '2001:db8:ffff::12'] as const;
export const SERVER_ADDR6 = '2001:db8:ffff::80';
/** 'plain' lab: the first /64 of ISP 1's delegated /56 on the LAN, static. */
export const LAN_ROUTER_ADDR6 = '2001:db8:100::1';
export const LAN_HOST_ADDR6 = '2001:db8:100::10';
export const LAN_NETWORK6 = '2001:db8:100::/64';
/** The LAN address of the router in the NPTv6 config variant (ULA). */
export const NPT_LAN_ADDR6 = 'fd00:1::1/64';
/** Fixed MACs of the LAN link in IPv6 labs, so link-local and SLAAC (EUI-64) addresses are
 *  predictable: router lan0 fe80::ff:fe00:101, LAN host eth0 <prefix>::ff:fe00:110. */
export const LAN_ROUTER_MAC = '02:00:00:00:01:01';
export const LAN_HOST_MAC = '02:00:00:00:01:10';
/** The lab's IPv6 "Internet" (documentation prefix, a bogon on the real Internet). */
export const LAB_INTERNET6 = ['2001:db8::/32'] as const;

/** How the lab gives the LAN IPv6: none (IPv4 only, the default), plain (static addresses, linkward
 *  not involved), slaac (the LAN host autoconfigures from the router's RAs, i.e. linkward's radvd). */
export type LabIpv6 = 'none' | 'plain' | 'slaac';
export const LAB_IPV6_MODES: readonly LabIpv6[] = ['none', 'plain', 'slaac'];
/** Which linkward config labConfig() writes: none/plain = today's IPv4-only document; nptv6/native
 *  add the IPv6 fields (for a 'slaac' lab). */
export type LabConfigIpv6 = 'none' | 'plain' | 'nptv6' | 'native';
export const LAB_CONFIG_IPV6: readonly LabConfigIpv6[] = ['none', 'plain', 'nptv6', 'native'];

export function parseLabIpv6(s: string): LabIpv6 {
  if ((LAB_IPV6_MODES as readonly string[]).includes(s)) return s as LabIpv6;
  throw new Error(`invalid IPv6 mode ${JSON.stringify(s)}: use ${LAB_IPV6_MODES.join(', ')}`);
}

export function parseLabConfigIpv6(s: string): LabConfigIpv6 {
  if ((LAB_CONFIG_IPV6 as readonly string[]).includes(s)) return s as LabConfigIpv6;
  throw new Error(`invalid IPv6 config variant ${JSON.stringify(s)}: use ${LAB_CONFIG_IPV6.join(', ')}`);
}

/** An IPv6 address in text form, strictly: hex digits, ':' and (embedded IPv4) '.', nothing else
 *  (no zone id, no brackets, no prefix length). */
export function isLabIPv6(s: string): boolean {
  return typeof s === 'string' && s.length <= 45 && /^[0-9a-fA-F:.]+$/.test(s) && net.isIPv6(s);
}

export type LabRole = 'lan' | 'router' | 'net' | `isp${number}`;

export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw new Error(`invalid lab prefix ${JSON.stringify(prefix)}: must match ${PREFIX_RE.source}`);
  }
  return prefix;
}

export function validateUplinkCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_UPLINKS) throw new Error(`uplinks must be an integer 1-${MAX_UPLINKS}, got ${n}`);
  return n;
}

/** Parse "lan" | "router" | "rtr" | "net" | "ispK" (K 1..MAX_UPLINKS). Throws on anything else. */
export function parseRole(s: string): LabRole {
  if (s === 'lan' || s === 'router' || s === 'net') return s;
  if (s === 'rtr') return 'router';
  const m = /^isp([1-9])$/.exec(s);
  if (m && Number(m[1]) <= MAX_UPLINKS) return `isp${Number(m[1])}`;
  throw new Error(`unknown lab role ${JSON.stringify(s)}: use lan, router, net or isp1..isp${MAX_UPLINKS}`);
}

/** Namespace name of a role: `${P}-lan`, `${P}-rtr`, `${P}-ispK`, `${P}-net`. */
export function nsName(prefix: string, role: LabRole | string): string {
  validatePrefix(prefix);
  const r = parseRole(role);
  return `${prefix}-${r === 'router' ? 'rtr' : r}`;
}

/** Uplink index of "ispK" or "K", else null. */
export function ispIndex(s: string): number | null {
  const m = /^(?:isp)?([1-9])$/.exec(s);
  if (!m) return null;
  const k = Number(m[1]);
  return k <= MAX_UPLINKS ? k : null;
}

export interface IspPlan {
  index: number;
  /** Uplink name in the generated config. */
  uplink: string;
  ns: string;
  /** Router side of the access link (in the router namespace). */
  routerIf: string;
  routerAddr: string; // 100.64.k.2
  /** ISP side of the access link (gateway). */
  ispIf: string;
  gateway: string; // 100.64.k.1
  /** ISP side of the ISP→Internet link. */
  ispUpIf: string;
  ispUpAddr: string; // 100.127.k.2
  /** Internet side of the ISP→Internet link. */
  netIf: string;
  netAddr: string; // 100.127.k.1
  accessNet: string; // 100.64.k.0/24
  metric: number; // 100 + k
  /** IPv6 (used when the lab's ipv6 is not 'none'). */
  routerAddr6: string; // 2001:db8:k::2
  gateway6: string; // 2001:db8:k::1
  ispUpAddr6: string; // 2001:db8:fk::2
  netAddr6: string; // 2001:db8:fk::1
  accessNet6: string; // 2001:db8:k::/64
  /** The prefix the ISP routes (delegates) to the router. */
  delegated6: string; // 2001:db8:k00::/56
}

export interface LabPlan {
  prefix: string;
  uplinks: number;
  ipv6: LabIpv6;
  ns: { lan: string; router: string; net: string; isps: string[] };
  lan: {
    routerIf: string; routerAddr: string; hostIf: string; hostAddrs: string[]; network: string;
    /** IPv6 of a 'plain' lab (static); in a 'slaac' lab linkward numbers the LAN. */
    routerAddr6: string; hostAddr6: string; network6: string;
  };
  isps: IspPlan[];
  net: { targetsIf: string; targets: string[]; server: string; targets6: string[]; server6: string };
}

export function labPlan(prefix: string, uplinks: number = DEFAULT_UPLINKS, ipv6: LabIpv6 = 'none'): LabPlan {
  validatePrefix(prefix);
  validateUplinkCount(uplinks);
  parseLabIpv6(ipv6);
  const isps: IspPlan[] = [];
  for (let k = 1; k <= uplinks; k++) {
    isps.push({
      index: k,
      uplink: `isp${k}`,
      ns: nsName(prefix, `isp${k}`),
      routerIf: `wan${k}`,
      routerAddr: `100.64.${k}.2`,
      ispIf: 'down0',
      gateway: `100.64.${k}.1`,
      ispUpIf: 'up0',
      ispUpAddr: `100.127.${k}.2`,
      netIf: `isp${k}`,
      netAddr: `100.127.${k}.1`,
      accessNet: `100.64.${k}.0/24`,
      metric: 100 + k,
      routerAddr6: `2001:db8:${k}::2`,
      gateway6: `2001:db8:${k}::1`,
      ispUpAddr6: `2001:db8:f${k}::2`,
      netAddr6: `2001:db8:f${k}::1`,
      accessNet6: `2001:db8:${k}::/64`,
      delegated6: `2001:db8:${k}00::/56`,
    });
  }
  return {
    prefix,
    uplinks,
    ipv6,
    ns: { lan: nsName(prefix, 'lan'), router: nsName(prefix, 'router'), net: nsName(prefix, 'net'), isps: isps.map((i) => i.ns) },
    lan: {
      routerIf: 'lan0', routerAddr: LAN_ROUTER_ADDR, hostIf: 'eth0', hostAddrs: [LAN_HOST_ADDR, LAN_HOST_ADDR2], network: '192.168.1.0/24',
      routerAddr6: LAN_ROUTER_ADDR6, hostAddr6: LAN_HOST_ADDR6, network6: LAN_NETWORK6,
    },
    isps,
    net: { targetsIf: 'targets0', targets: [...PROBE_TARGETS], server: SERVER_ADDR, targets6: [...PROBE_TARGETS6], server6: SERVER_ADDR6 },
  };
}

/** The IPv6 fields of the config variants 'nptv6' and 'native' (issue 14's schema). */
export type LanIpv6Config = { mode: 'nptv6'; address: string } | { mode: 'native' };
export interface UplinkIpv6Config {
  prefix: string;
}
type Lan = NonNullable<ConfigInput['lan']>[number];
type Uplink = NonNullable<ConfigInput['uplinks']>[number];
/** The document labConfig() returns: a ConfigInput, plus the IPv6 fields in the nptv6/native variants
 *  (typed here until the configuration schema has them). */
export type LabConfigDoc = Omit<ConfigInput, 'lan' | 'uplinks'> & {
  lan: (Lan & { ipv6?: LanIpv6Config })[];
  uplinks: (Uplink & { ipv6?: UplinkIpv6Config })[];
};

export interface LabConfigOptions {
  /** 'none' (default) and 'plain': today's IPv4-only document; 'nptv6' / 'native': with IPv6. */
  ipv6?: LabConfigIpv6;
}

/** The linkward configuration matching the lab (validates with parseConfig). */
export function labConfig(uplinks: number = DEFAULT_UPLINKS, opts: LabConfigOptions = {}): LabConfigDoc {
  validateUplinkCount(uplinks);
  const variant = parseLabConfigIpv6(opts.ipv6 ?? 'none');
  const v6 = variant === 'nptv6' || variant === 'native';
  const health = { targets: v6 ? [...PROBE_TARGETS, ...PROBE_TARGETS6] : [...PROBE_TARGETS], method: 'icmp' as const };
  const ups: LabConfigDoc['uplinks'] = [];
  for (let k = 1; k <= uplinks; k++) {
    ups.push({
      name: `isp${k}`,
      interface: `wan${k}`,
      gateway: k === 1 ? '100.64.1.1' : 'auto',
      weight: k === 1 ? 3 : 1,
      priority: k <= 2 ? 1 : 2,
      health,
      ...(v6 ? { ipv6: { prefix: `2001:db8:${k}00::/56` } } : {}),
    });
  }
  const lan: LabConfigDoc['lan'] = [{ name: 'lan', interface: 'lan0', address: `${LAN_ROUTER_ADDR}/24` }];
  if (variant === 'nptv6') lan[0].ipv6 = { mode: 'nptv6', address: NPT_LAN_ADDR6 };
  if (variant === 'native') lan[0].ipv6 = { mode: 'native' };
  const fwdUplinks = uplinks >= 2 ? ['isp1', 'isp2'] : ['isp1'];
  return {
    version: 1,
    lan,
    uplinks: ups,
    services: [
      { name: 'ssh', protocol: 'tcp', port: 2222, uplinks: ['isp1'] },
      { name: 'ntp', protocol: 'udp', port: 123, sources: [`${SERVER_ADDR}/32`] },
    ],
    portForwards: [{ name: 'web', uplinks: fwdUplinks, protocol: 'tcp', port: 8080, to: LAN_HOST_ADDR, toPort: LAN_SERVER_PORT }],
    policies: uplinks >= 2 ? [{ name: 'voip', source: `${LAN_HOST_ADDR2}/32`, uplink: 'isp2' }] : [],
    rules: [{ name: 'no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23, log: true }],
    // The lab's "Internet" lives in documentation prefixes (RFC 5737, RFC 3849) and shared address
    // space, which are bogons on the real Internet: take them out of the anti-spoofing bogon list
    // (every other bogon still applies).
    firewall: { antiSpoof: { exceptions: v6 ? [...LAB_INTERNET, ...LAB_INTERNET6] : [...LAB_INTERNET] } },
  };
}

/** The ISPs' DHCPv6 lease timers (seconds): short, so a delegation lost when an ISP's DHCPv6
 *  server stops (labDhcp6) expires within seconds in a test. Renewals are cheap. */
export const LAB_DHCP6_TIMERS = { renew: 3, rebind: 5, preferred: 6, valid: 12 } as const;

/** Kea (kea-dhcp6) configuration of ISP k: on its customer link, no addresses, one prefix
 *  delegation pool that is exactly the /56 the ISP routes to the router (so the static route and
 *  the BCP 38 filter match what is delegated). */
export function keaConfig(isp: Pick<IspPlan, 'ispIf' | 'gateway6' | 'accessNet6' | 'delegated6'>, controlSocket: string): string {
  const [pfx, len] = isp.delegated6.split('/');
  return JSON.stringify({
    Dhcp6: {
      // the ISP side of the link may come up after kea starts: keep retrying the socket
      'interfaces-config': { interfaces: [`${isp.ispIf}/${isp.gateway6}`], 'service-sockets-require-all': false, 'service-sockets-retry-wait-time': 1000, 'service-sockets-max-retries': 10 },
      'server-id': { type: 'LL', persist: false },
      // leases in memory only: a restarted server delegates the prefix afresh (one prefix per pool)
      'lease-database': { type: 'memfile', persist: false },
      'control-socket': { 'socket-type': 'unix', 'socket-name': controlSocket },
      'renew-timer': LAB_DHCP6_TIMERS.renew,
      'rebind-timer': LAB_DHCP6_TIMERS.rebind,
      'preferred-lifetime': LAB_DHCP6_TIMERS.preferred,
      'valid-lifetime': LAB_DHCP6_TIMERS.valid,
      subnet6: [{ id: 1, subnet: isp.accessNet6, interface: isp.ispIf, 'pd-pools': [{ prefix: pfx, 'prefix-len': Number(len), 'delegated-len': Number(len) }] }],
      loggers: [{ name: 'kea-dhcp6', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
    },
  }, null, 2) + '\n';
}

export type BreakMode = { kind: 'drop' } | { kind: 'blackhole' } | { kind: 'loss'; percent: number };

/** Parse "drop" | "blackhole" | "loss:N" (N 1-100). */
export function parseBreakMode(s: string | undefined): BreakMode {
  if (s === undefined || s === 'drop') return { kind: 'drop' };
  if (s === 'blackhole') return { kind: 'blackhole' };
  const m = /^loss:([1-9][0-9]?|100)%?$/.exec(s);
  if (m) return { kind: 'loss', percent: Number(m[1]) };
  throw new Error(`invalid break mode ${JSON.stringify(s)}: use drop, blackhole or loss:N (N 1-100)`);
}

export function formatBreakMode(m: BreakMode): string {
  return m.kind === 'loss' ? `loss:${m.percent}` : m.kind;
}

/** nft table (in the ISP namespace) that breaks the ISP; never the agent's table. */
export const BREAK_TABLE = 'lwlab_break';
/** nft table (in the Internet namespace) that filters single probe targets. */
export const TARGETS_TABLE = 'lwlab_targets';

/** nft table (in each ISP namespace of an IPv6 lab): IPv6 ingress filtering (BCP 38) on down0. */
export const BCP38_TABLE = 'lwlab_bcp38';

/** The break table: drops everything (or N % at random) in the ISP, both families. Neighbor
 *  discovery still answers, as ARP does (ARP is not in the inet family): the link looks alive,
 *  traffic dies, as with a dead modem. */
export function breakScript(mode: BreakMode): string {
  const verdict = mode.kind === 'loss' ? `numgen random mod 100 < ${mode.percent} drop` : 'drop';
  const chain = (hook: string) => `  chain ${hook} {\n    type filter hook ${hook} priority -300; policy accept;\n` +
    `    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n    ${verdict}\n  }\n`;
  return `table inet ${BREAK_TABLE} {\n${chain('prerouting')}${chain('output')}}\n`;
}

/** ISP k's IPv6 ingress filter: from down0 only the customer's sources (the access /64, the
 *  delegated /56, link-local) pass; everything else is counted (counter "forged") and dropped, so
 *  a router that sends one uplink's prefix out of another uplink fails visibly, as at a real ISP.
 *  Applying it again keeps the counter (named counters survive a table flush). */
export function bcp38Script(isp: Pick<IspPlan, 'ispIf' | 'accessNet6' | 'delegated6'>): string {
  return [
    `table inet ${BCP38_TABLE} {}`,
    `flush table inet ${BCP38_TABLE}`,
    `table inet ${BCP38_TABLE} {`,
    '  counter forged { }',
    `  set customer { type ipv6_addr; flags interval; elements = { ${isp.accessNet6}, ${isp.delegated6}, fe80::/10 } }`,
    '  chain prerouting {',
    '    type filter hook prerouting priority -250; policy accept;',
    `    iifname "${isp.ispIf}" ip6 saddr != @customer counter name "forged" drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export function targetsTableScript(): string {
  return [
    `table inet ${TARGETS_TABLE} {`,
    '  set filtered { type ipv4_addr; }',
    '  set filtered6 { type ipv6_addr; }',
    '  chain prerouting { type filter hook prerouting priority -300; policy accept; ip daddr @filtered drop; ip6 daddr @filtered6 drop; }',
    '  chain output { type filter hook output priority -300; policy accept; ip saddr @filtered drop; ip6 saddr @filtered6 drop; }',
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// The echo server's answer: the client address it saw
// ---------------------------------------------------------------------------

export interface WhoAmI {
  /** Address the server saw (after any NAT or prefix translation). */
  ip: string;
  port: number;
}

/** "192.0.2.1:5000" or "[2001:db8::1]:5000" (RFC 3986 style, as in URLs). */
export function formatWhoAmI(ip: string, port: number): string {
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Parse a client line "OK <formatWhoAmI>" (or the bare server answer when `bare`); null otherwise. */
export function parseWhoAmI(line: string, bare = false): WhoAmI | null {
  const t = line.trim();
  const body = bare ? t : t.startsWith('OK ') ? t.slice(3) : null;
  if (body === null) return null;
  const m = /^(?:(\d+\.\d+\.\d+\.\d+)|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(body);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined) return isIPv4(m[1]) ? { ip: m[1], port } : null;
  return isLabIPv6(m[2]) ? { ip: m[2], port } : null;
}

// ---------------------------------------------------------------------------
// IPv6 addresses of an interface (`ip -j -6 addr show`)
// ---------------------------------------------------------------------------

/** One IPv6 address of an interface, as `ip -j -6 addr show` reports it. */
export interface Addr6 {
  address: string;
  prefixLen: number;
  /** "global", "link", "host". */
  scope: string;
  global: boolean;
  /** Preferred lifetime over (e.g. an RA with preferred lifetime 0): kept, not used for new connections. */
  deprecated: boolean;
  /** Still in duplicate address detection (never in a lab: accept_dad=0). */
  tentative: boolean;
  /** From autoconfiguration (SLAAC), with lifetimes; static addresses are not dynamic. */
  dynamic: boolean;
  /** Seconds; Infinity = forever. */
  preferredLft: number;
  validLft: number;
}

const FOREVER = 4294967295;

/** Parse `ip -j -6 addr show dev X` output (pure; exported for tests). */
export function parseAddrs6(json: string): Addr6[] {
  const doc: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(doc)) return [];
  const out: Addr6[] = [];
  for (const link of doc as { addr_info?: unknown }[]) {
    for (const a of Array.isArray(link?.addr_info) ? (link.addr_info as Record<string, unknown>[]) : []) {
      if (a.family !== 'inet6' || typeof a.local !== 'string') continue;
      const lft = (v: unknown) => (typeof v === 'number' ? (v >= FOREVER ? Infinity : v) : Infinity);
      out.push({
        address: a.local,
        prefixLen: typeof a.prefixlen === 'number' ? a.prefixlen : 128,
        scope: typeof a.scope === 'string' ? a.scope : '',
        global: a.scope === 'global',
        deprecated: a.deprecated === true,
        tentative: a.tentative === true,
        dynamic: a.dynamic === true,
        preferredLft: lft(a.preferred_life_time),
        validLft: lft(a.valid_life_time),
      });
    }
  }
  return out;
}
