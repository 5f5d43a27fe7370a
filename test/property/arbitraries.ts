// fast-check generators for the property tests (test/unit/property.test.ts,
// test/integration/property-nft.test.ts): random VALID configuration documents (the schema is
// lib/validations/config.ts, every field is in docs/config.md) together with matching FACTS
// (lib/compile/types.ts), and random MUTATIONS of such documents.
//
// How it is built, so it shrinks well and can be extended:
//  - each section is generated as raw material where references are plain indices (`fc.nat()`)
//    and LAN hosts are (LAN index, host offset); one pure `build()` turns the raw material into a
//    document + facts: it resolves indices into names, makes names and interfaces unique, and
//    applies the cross-field rules a generator has to know (port only with tcp/udp, the
//    anti-lockout refusal of lib/validations/lockout.ts, a helper's protocols). No `fc.chain`: fast-check shrinks every
//    part independently.
//  - every address comes from `addr` below (IPv4 and IPv6; an IPv6 address is written in RFC 5952
//    form mostly, sometimes upper case or fully expanded, since users paste all three).
//  - numbers come from `edgeInt(min, max)`: the bounds (and their neighbours) often, anything
//    in between otherwise.
import fc from 'fast-check';
import {
  ACTIONS, CHAINS, HEALTH_METHODS, HELPERS, HELPER_PROTOCOLS, ICMP_TYPES, PROTOCOLS, RULE_PROTOCOLS, type ConfigInput,
} from '../../lib/validations/config';
import { ICMPV6_TYPES } from '../../lib/validations/enums';
import { formatIPv4, formatIPv6, maskOf, maskOf6, parseIPv6, parsePortSpec } from '../../lib/validations/net';

const parse6 = (s: string): bigint => parseIPv6(s)!;
import type { Facts, HealthState, IfaceFacts } from '../../lib/compile/types';
import type { UplinkReasonCode } from '../../lib/compile/types';

// ---------------------------------------------------------------------------
// Numbers and small strings
// ---------------------------------------------------------------------------

/** An integer in [min, max], the bounds and their neighbours one time in four. */
export function edgeInt(min: number, max: number): fc.Arbitrary<number> {
  const edges = [...new Set([min, max, Math.min(min + 1, max), Math.max(max - 1, min)])];
  return fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...edges) }, { weight: 3, arbitrary: fc.integer({ min, max }) });
}

/** Mostly `v` (enabled flags): one time in eight the other value. */
const mostly = (v: boolean) => fc.oneof({ weight: 7, arbitrary: fc.constant(v) }, { weight: 1, arbitrary: fc.constant(!v) });

export const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,23}$/);
export const ifnameArb = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/);
export const portArb = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(1, 22, 3000, 65535) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 65535 }) });
/** A port spec as the schema takes it: 22, "22" or "a-b" (a ≤ b, also "a-a"). */
export const portSpecArb: fc.Arbitrary<number | string> = fc.oneof(
  { weight: 3, arbitrary: portArb },
  { weight: 1, arbitrary: portArb.map(String) },
  { weight: 2, arbitrary: fc.tuple(portArb, portArb).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`) },
);

/** Free text (rules[].description, never rendered): hostile to nft and shells on purpose. */
export const freeTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '"; flush ruleset; "', '}\n}\ntable ip evil {', '$(reboot)', '`id`', "it's", 'a\\', '\u0000\u202e', 'x'.repeat(200)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => s.slice(0, 200)),
);

/** Lists: small mostly, the schema's maximum length rarely. */
function edgeList<T>(arb: fc.Arbitrary<T>, max: number, small = 5): fc.Arbitrary<T[]> {
  return fc.oneof({ weight: 40, arbitrary: fc.array(arb, { maxLength: small }) }, { weight: 1, arbitrary: fc.array(arb, { minLength: max, maxLength: max }) });
}

// ---------------------------------------------------------------------------
// Addresses: the one place
// ---------------------------------------------------------------------------

const u32 = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(0, 0xffffffff, 0x7f000001, 0xc0a80101, 0x0a000000, 0x64400000) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const prefixArb = (min: number, max: number) => edgeInt(min, max);

export const addr = {
  /** Any IPv4 address (0.0.0.0 and 255.255.255.255 included). */
  host: (): fc.Arbitrary<string> => u32.map(formatIPv4),
  /** A network with host bits zero, prefix 0-32; /32 sometimes written as a bare address. */
  network: (): fc.Arbitrary<string> =>
    fc.tuple(u32, fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 1, 31, 32) }, { weight: 12, arbitrary: fc.integer({ min: 8, max: 32 }) }), fc.boolean()).map(([a, p, bare]) => {
      const net = formatIPv4((a & maskOf(p)) >>> 0);
      return p === 32 && bare ? net : `${net}/${p}`;
    }),
  /** An interface address (prefix 8-30, not the network address; the broadcast address is allowed). */
  ifaceAddress: (): fc.Arbitrary<{ address: number; prefix: number }> =>
    fc.tuple(u32, prefixArb(8, 30), fc.nat()).map(([a, p, off]) => {
      const size = 2 ** (32 - p);
      const net = (a & maskOf(p)) >>> 0;
      return { address: net + 1 + (off % (size - 1)), prefix: p };
    }),
  /** The address `offset` inside network (address, prefix), network and broadcast addresses included. */
  inNetwork: (n: { address: number; prefix: number }, offset: number): string => {
    const net = (n.address & maskOf(n.prefix)) >>> 0;
    return formatIPv4(net + (offset % 2 ** (32 - n.prefix)));
  },
  /** An address the agent may observe on an uplink (prefix 0-32: PPP/LTE give /32). */
  observed: (): fc.Arbitrary<{ address: number; prefix: number }> =>
    fc.tuple(u32, fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 1) }, { weight: 4, arbitrary: fc.constantFrom(31, 32) }, { weight: 16, arbitrary: fc.integer({ min: 8, max: 30 }) })).map(([address, prefix]) => ({ address, prefix })),
  cidr: (n: { address: number; prefix: number }): string => `${formatIPv4(n.address)}/${n.prefix}`,

  /** Any IPv6 address (::, ::1, link-local, multicast, v4-mapped included), in one of three spellings. */
  host6: (): fc.Arbitrary<string> => fc.tuple(u128, spelling6).map(([a, sp]) => spell6(a, sp)),
  /** An IPv6 network, host bits zero, prefix 0-128; /128 sometimes written as a bare address. */
  network6: (): fc.Arbitrary<string> =>
    fc.tuple(u128, fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 1, 127, 128) }, { weight: 12, arbitrary: fc.integer({ min: 16, max: 128 }) }), fc.boolean(), spelling6)
      .map(([a, p, bare, sp]) => {
        const net = spell6(a & maskOf6(p), sp);
        return p === 128 && bare ? net : `${net}/${p}`;
      }),
  /** A network of either family (IPv4 three times in four). */
  anyNetwork: (): fc.Arbitrary<string> => fc.oneof({ weight: 3, arbitrary: addr.network() }, { weight: 1, arbitrary: addr.network6() }),
  /** A global IPv6 address (not link-local, not multicast): health targets, pinhole hosts. */
  global6: (): fc.Arbitrary<string> => fc.tuple(u128, spelling6).map(([a, sp]) => spell6(globalize6(a), sp)),
  /** The address `offset` inside an IPv6 network (not the all-zero host: a router anycast). */
  inNetwork6: (net: bigint, prefix: number, offset: bigint): bigint => {
    const size = 1n << BigInt(128 - prefix);
    return (net & maskOf6(prefix)) + 1n + (offset % (size - 1n));
  },
  /** A router interface address in a /48-/64 (host bits set: the schema refuses the prefix itself). */
  iface6: (): fc.Arbitrary<string> =>
    fc.tuple(u128, edgeInt(48, 64), fc.bigInt({ min: 0n, max: (1n << 80n) - 1n })).map(([a, p, off]) => {
      const host = addr.inNetwork6(globalize6(a), p, off);
      return `${formatIPv6(host)}/${p}`;
    }),
};

/** IPv6 addresses as bigints: edges often (::, ::1, documentation, ULA, link-local, multicast,
 *  v4-mapped, all ones), anything otherwise. */
const u128 = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom(0n, 1n, 0x20010db8n << 96n, 0xfd00n << 112n, (0xfe80n << 112n) | 1n, (0xff02n << 112n) | 1n, 0xffff_0a000001n, (1n << 128n) - 1n),
  },
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }) },
);
const spelling6 = fc.constantFrom('canonical', 'canonical', 'canonical', 'canonical', 'upper', 'expanded');
function spell6(a: bigint, sp: string): string {
  if (sp === 'upper') return formatIPv6(a).toUpperCase();
  if (sp === 'expanded') return Array.from({ length: 8 }, (_, i) => ((a >> BigInt((7 - i) * 16)) & 0xffffn).toString(16).padStart(4, '0')).join(':');
  return formatIPv6(a);
}
/** Move an address out of fe80::/10, ff00::/8, ::, ::1 and ::ffff:0:0/96 (into 2000::/3). */
function globalize6(a: bigint): bigint {
  const top = a >> 118n; // the top 10 bits
  if (top === 0x3fan || a >> 120n === 0xffn || a < 2n || a >> 32n === 0xffffn) return (a & ((1n << 125n) - 1n)) | (1n << 125n);
  return a;
}

// ---------------------------------------------------------------------------
// Raw material of each section
// ---------------------------------------------------------------------------

const healthArb = fc
  .record(
    {
      targets: fc.uniqueArray(fc.oneof({ weight: 3, arbitrary: addr.host() }, { weight: 1, arbitrary: addr.global6() }), { minLength: 1, maxLength: 8 }),
      method: fc.constantFrom(...HEALTH_METHODS),
      port: portArb,
      intervalMs: edgeInt(100, 60000),
      timeoutMs: edgeInt(50, 30000),
      downAfter: edgeInt(1, 100),
      upAfter: edgeInt(1, 1000),
      quorum: fc.nat(),
    },
    { requiredKeys: ['targets'] },
  )
  .map((h) => (h.quorum === undefined ? h : { ...h, quorum: 1 + (h.quorum % h.targets.length) }));

/** What the agent observed on an uplink's interface; `kind` names the reason it should cause. */
export type FactKind = 'ok' | 'missing' | 'not-exists' | 'down' | 'no-carrier' | 'no-address';
const uplinkFactArb = fc.record({
  kind: fc.oneof(
    { weight: 8, arbitrary: fc.constant<FactKind>('ok') },
    { weight: 1, arbitrary: fc.constantFrom<FactKind>('missing', 'not-exists', 'down', 'no-carrier', 'no-address') },
  ),
  address: addr.observed(),
  more: fc.array(addr.observed(), { maxLength: 2 }),
  /** The DHCP/PPP gateway: inside the observed network, outside it (onlink), or none. */
  gateway: fc.constantFrom('inside', 'inside', 'outside', 'none'),
  gatewayOffset: fc.nat(),
  gatewayOutside: addr.host(),
  health: fc.constantFrom<HealthState | undefined>('up', 'up', 'up', 'unknown', 'down', undefined),
  /** IPv6 on the interface: a global address (in the delegated prefix or elsewhere), maybe
   *  deprecated, a link-local one, and a gateway learned from router advertisements. */
  v6: fc.option(
    fc.record({
      global: fc.option(fc.record({ inPrefix: fc.boolean(), address: addr.global6(), offset: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), deprecated: mostly(false) }), { nil: undefined }),
      gateway6: fc.constantFrom('fe80::1', '2001:db8:ffff::1', undefined),
      health6: fc.constantFrom<HealthState | undefined>('up', 'up', 'unknown', 'down', undefined),
      /** what DHCPv6-PD delegated (for prefix "auto"): none yet, one, a renumbering (one lost) */
      delegated: fc.array(fc.record({ prefix: fc.tuple(addr.global6(), edgeInt(40, 64)).map(([a, p]) => `${formatIPv6(parse6(a) & maskOf6(p))}/${p}`), lost: mostly(false) }), { maxLength: 2 }),
    }),
    { nil: undefined },
  ),
});
const uplink6Arb = fc.record(
  {
    gateway: fc.oneof(fc.constant('auto'), fc.constant('fe80::1'), addr.global6()),
    prefix: fc.oneof(
      { weight: 4, arbitrary: fc.tuple(addr.global6(), edgeInt(32, 64)).map(([a, p]) => `${formatIPv6(parse6(a) & maskOf6(p))}/${p}`) },
      { weight: 1, arbitrary: fc.constant('auto') },
    ),
  },
  { requiredKeys: [] },
);

const uplinkArb = fc.record({
  cfg: fc.record(
    {
      name: nameArb,
      id: edgeInt(1, 50),
      interface: ifnameArb,
      gateway: fc.oneof(fc.constant('auto'), addr.host()),
      weight: edgeInt(1, 100),
      priority: fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: edgeInt(1, 9) }),
      enabled: mostly(true),
      drain: mostly(false),
      failback: fc.constantFrom('keep', 'reset'),
      health: healthArb,
      ipv6: uplink6Arb,
    },
    { requiredKeys: ['name', 'interface'] },
  ),
  fact: uplinkFactArb,
});

const lan6Arb = fc.oneof(
  fc.record({ mode: fc.constant('nptv6' as const), address: addr.iface6(), ra: mostly(true) }, { requiredKeys: ['mode', 'address'] }),
  fc.record({ mode: fc.constant('native' as const), subnet: edgeInt(0, 255), ra: mostly(true) }, { requiredKeys: ['mode'] }),
);
const lanArb = fc.record(
  { name: nameArb, interface: ifnameArb, address: addr.ifaceAddress(), ipv6: lan6Arb },
  { requiredKeys: ['name', 'interface', 'address'] },
);

const serviceArb = fc.record(
  {
    name: nameArb,
    enabled: mostly(true),
    protocol: fc.constantFrom(...PROTOCOLS),
    port: portSpecArb,
    uplinks: fc.array(fc.nat(), { maxLength: 3 }),
    sources: edgeList(addr.anyNetwork(), 256, 4),
    lan: fc.boolean(),
    helper: fc.constantFrom(...HELPERS),
    lowDelay: fc.boolean(),
  },
  { requiredKeys: ['name', 'protocol', 'port'] },
);

const ruleArb = fc.record(
  {
    name: nameArb,
    enabled: mostly(true),
    chain: fc.constantFrom(...CHAINS),
    action: fc.constantFrom(...ACTIONS),
    protocol: fc.constantFrom(...RULE_PROTOCOLS),
    /** The family of the rule's addresses (one rule matches one family). */
    v6: fc.boolean(),
    source: addr.network(),
    destination: addr.network(),
    source6: addr.network6(),
    destination6: addr.network6(),
    sourceList: fc.nat(),
    destinationList: fc.nat(),
    port: portSpecArb,
    uplink: fc.nat(),
    log: fc.boolean(),
    description: freeTextArb,
  },
  { requiredKeys: ['name', 'chain', 'action'] },
);

const addressListArb = fc.record({ name: nameArb, entries: fc.array(addr.anyNetwork(), { maxLength: 12 }) });

const portForwardArb = fc.record(
  {
    name: nameArb,
    enabled: mostly(true),
    uplinks: fc.array(fc.nat(), { maxLength: 3 }),
    protocol: fc.constantFrom(...PROTOCOLS),
    port: portSpecArb,
    to: fc.tuple(fc.nat(), fc.nat()),
    toPort: portArb,
    sources: edgeList(addr.network(), 256, 3),
    /** An IPv6 pinhole instead: to a global host, IPv6 sources, no toPort. */
    v6: fc.option(fc.record({ to: addr.global6(), sources: fc.option(edgeList(addr.network6(), 256, 3), { nil: undefined }) }), { freq: 4, nil: undefined }),
  },
  { requiredKeys: ['name', 'protocol', 'port', 'to'] },
);

const policyArb = fc.record(
  {
    name: nameArb,
    enabled: mostly(true),
    v6: fc.boolean(),
    source: addr.network(),
    destination: addr.network(),
    source6: addr.network6(),
    destination6: addr.network6(),
    protocol: fc.constantFrom(...PROTOCOLS),
    port: portSpecArb,
    uplink: fc.nat(),
    sticky: fc.constantFrom('connection', 'source'),
  },
  { requiredKeys: ['name', 'uplink'] },
);

const icmpListArb = fc.oneof(fc.subarray([...ICMP_TYPES]), fc.array(fc.constantFrom(...ICMP_TYPES), { maxLength: ICMP_TYPES.length }));
const icmp6ListArb = fc.oneof(fc.subarray([...ICMPV6_TYPES]), fc.array(fc.constantFrom(...ICMPV6_TYPES), { maxLength: ICMPV6_TYPES.length }));

const firewallArb = fc.record(
  {
    icmpOut: icmpListArb,
    icmpIn: icmpListArb,
    icmpv6Out: icmp6ListArb,
    icmpv6In: icmp6ListArb,
    logDrops: fc.boolean(),
    logRatePerMinute: edgeInt(1, 100000),
    portScan: fc.record(
      {
        enabled: mostly(true),
        ports: edgeInt(2, 10000),
        seconds: edgeInt(1, 3600),
        banSeconds: edgeInt(1, 604800),
        neverBan: edgeList(addr.anyNetwork(), 1024, 4),
      },
      { requiredKeys: [] },
    ),
    antiSpoof: fc.record(
      { enabled: mostly(true), bogons: mostly(true), exceptions: edgeList(addr.anyNetwork(), 256, 4) },
      { requiredKeys: [] },
    ),
    sticky: fc.constantFrom('connection', 'source'),
    stickySeconds: edgeInt(10, 86400),
    dashboardPort: portArb,
    allowLockout: mostly(false),
  },
  { requiredKeys: [] },
);

const sysctlArb = fc.record(
  {
    syncookies: fc.boolean(),
    rpFilter: fc.constantFrom('off', 'strict', 'loose'),
    logMartians: fc.boolean(),
    ignoreBroadcastPings: fc.boolean(),
  },
  { requiredKeys: [] },
);

/** Interfaces the agent sees that no LAN or uplink uses. */
const noiseIfaceArb = fc.record({ name: ifnameArb, address: addr.observed() });

const rawArb = fc.record({
  lan: fc.array(lanArb, { minLength: 1, maxLength: 2 }),
  uplinks: fc.array(uplinkArb, { minLength: 1, maxLength: 6 }),
  services: fc.array(serviceArb, { maxLength: 6 }),
  rules: fc.array(ruleArb, { maxLength: 10 }),
  addressLists: fc.array(addressListArb, { maxLength: 3 }),
  portForwards: fc.array(portForwardArb, { maxLength: 4 }),
  policies: fc.array(policyArb, { maxLength: 4 }),
  firewall: fc.option(firewallArb, { nil: undefined }),
  sysctl: fc.option(sysctlArb, { nil: undefined }),
  noise: fc.array(noiseIfaceArb, { maxLength: 2 }),
  /** Which empty top-level lists are written out as [] (bit i ↔ section i) instead of omitted. */
  emptyBits: fc.nat({ max: 63 }),
});
type Raw = typeof rawArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------
// Raw material → document + facts
// ---------------------------------------------------------------------------

/** A generated case: the document as a user writes it, what the agent observed, and what the
 *  generator intended each uplink's facts to cause (the oracle of the uplink reasons). */
export interface Scenario {
  doc: ConfigInput;
  facts: Facts;
  factKinds: Record<string, FactKind>;
}

/** Make names unique: a repeated name becomes `<base><n>` with the smallest free n. */
function uniqueNames<T extends { name: string }>(items: T[], base: string): T[] {
  const seen = new Set<string>();
  return items.map((it) => {
    let name = it.name;
    for (let n = 1; seen.has(name); n++) name = `${base}${n}`;
    seen.add(name);
    return name === it.name ? it : { ...it, name };
  });
}

/** Drop undefined values (fc.record leaves optional keys out already; the build step may unset some). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length];

/** Would this input rule lock the LAN out (lib/validations/lockout.ts)? Conservative: it ignores
 *  sources/destinations, so it may change a rule the validator would have accepted, never miss one. */
function mayLockOut(r: { chain: string; action: string; protocol?: string; uplink?: string; port?: number | string }, dashboardPort: number): boolean {
  if (r.chain !== 'input' || r.action === 'accept' || r.uplink !== undefined) return false;
  const proto = r.protocol ?? 'any';
  if (proto !== 'any' && proto !== 'tcp') return false;
  if (r.port === undefined) return true;
  const [lo, hi] = parsePortSpec(r.port)!;
  return [dashboardPort, 22].some((p) => lo <= p && p <= hi);
}

export function build(raw: Raw): Scenario {
  // Interfaces are unique across LAN and uplinks.
  const ifs = new Set<string>();
  const uniqueIf = (name: string) => {
    let n = name;
    for (let i = 1; ifs.has(n); i++) n = `if${i}`;
    ifs.add(n);
    return n;
  };
  const lans = uniqueNames(raw.lan.map((l) => ({ ...l, interface: uniqueIf(l.interface) })), 'lan');
  const uplinkRaw = uniqueNames(raw.uplinks.map((u) => ({ ...u, name: u.cfg.name, interface: uniqueIf(u.cfg.interface) })), 'up');
  const ids = new Set<number>();
  const uplinks = uplinkRaw.map((u) => {
    const cfg: Record<string, unknown> = { ...u.cfg, name: u.name, interface: u.interface };
    if (typeof cfg.id === 'number') {
      if (ids.has(cfg.id)) delete cfg.id; // a repeated id: let the import assign one
      else ids.add(cfg.id);
    }
    return cfg;
  });
  const upNames = uplinks.map((u) => u.name as string);
  const lists = uniqueNames(raw.addressLists, 'list');
  const listNames = lists.map((l) => l.name);
  const fw = raw.firewall;
  const dashboardPort = fw?.dashboardPort ?? 3000;
  const allowLockout = fw?.allowLockout ?? false;

  const services = uniqueNames(raw.services, 'svc').map((s) => {
    // a conntrack helper exists for some protocols only (ftp: tcp, tftp: udp, sip: both, irc: tcp)
    const protos = s.helper !== undefined ? HELPER_PROTOCOLS[s.helper] : undefined;
    const protocol = protos && !protos.includes(s.protocol) ? protos[0] : s.protocol;
    return clean({ ...s, protocol, uplinks: s.uplinks?.map((i) => pick(upNames, i)) });
  });
  const rules = uniqueNames(raw.rules, 'rule').map(({ v6, source6, destination6, ...r }) => {
    const out: Record<string, unknown> = { ...r };
    if (v6) {
      if (r.source !== undefined) out.source = source6;
      if (r.destination !== undefined) out.destination = destination6;
    }
    // icmp is IPv4, icmpv6 IPv6: the protocol follows the addresses (none given: either is fine)
    const fam6 = v6 && (r.source !== undefined || r.destination !== undefined);
    const fam4 = !v6 && (r.source !== undefined || r.destination !== undefined);
    if (fam6 && r.protocol === 'icmp') out.protocol = 'icmpv6';
    if (fam4 && r.protocol === 'icmpv6') out.protocol = 'icmp';
    out.sourceList = r.sourceList !== undefined && listNames.length ? pick(listNames, r.sourceList) : undefined;
    out.destinationList = r.destinationList !== undefined && listNames.length ? pick(listNames, r.destinationList) : undefined;
    out.uplink = r.uplink !== undefined ? pick(upNames, r.uplink) : undefined;
    if (r.protocol !== 'tcp' && r.protocol !== 'udp') out.port = undefined;
    // The validator refuses rules that lock the LAN out of the dashboard (unless allowLockout):
    // such a rule is moved to udp, which never does.
    if (!allowLockout && mayLockOut(out as Parameters<typeof mayLockOut>[0], dashboardPort)) out.protocol = 'udp';
    return clean(out);
  });
  const lanNets = lans.map((l) => l.address);
  const portForwards = uniqueNames(raw.portForwards, 'fwd').map(({ v6, ...f }) => clean(v6
    ? { ...f, uplinks: f.uplinks?.map((i) => pick(upNames, i)), to: v6.to, toPort: undefined, sources: v6.sources }
    : { ...f, uplinks: f.uplinks?.map((i) => pick(upNames, i)), to: addr.inNetwork(pick(lanNets, f.to[0]), f.to[1]) }));
  const policies = uniqueNames(raw.policies, 'pol').map(({ v6, source6, destination6, ...p }) => clean({
    ...p,
    source: v6 && p.source !== undefined ? source6 : p.source,
    destination: v6 && p.destination !== undefined ? destination6 : p.destination,
    uplink: pick(upNames, p.uplink),
    port: p.protocol !== undefined ? p.port : undefined,
  }));

  const doc: Record<string, unknown> = { version: 1 };
  const sections: [string, unknown[]][] = [
    ['lan', lans.map((l) => clean({ name: l.name, interface: l.interface, address: addr.cidr(l.address), ipv6: l.ipv6 }))],
    ['uplinks', uplinks],
    ['services', services],
    ['rules', rules],
    ['addressLists', lists],
    ['portForwards', portForwards],
    ['policies', policies],
  ];
  sections.forEach(([key, items], i) => {
    if (items.length > 0 || (raw.emptyBits >> (i % 6)) & 1) doc[key] = items;
  });
  if (fw) doc.firewall = fw;
  if (raw.sysctl) doc.sysctl = raw.sysctl;

  // Facts: LAN interfaces carry their address; each uplink what its fact kind says.
  const interfaces: Record<string, IfaceFacts> = {};
  const iface = (name: string, a: { address: number; prefix: number }[], extra: Partial<IfaceFacts> = {}): IfaceFacts => ({
    name, exists: true, up: true, carrier: true, addresses: a.map((x) => ({ address: formatIPv4(x.address), prefix: x.prefix })), ...extra,
  });
  for (const n of raw.noise) if (!ifs.has(n.name)) interfaces[n.name] = iface(n.name, [n.address]);
  for (const l of lans) interfaces[l.interface] = iface(l.interface, [l.address]);
  const health: Record<string, HealthState> = {};
  const factKinds: Record<string, FactKind> = {};
  const health6: Record<string, HealthState> = {};
  for (const u of uplinkRaw) {
    const f = u.fact;
    factKinds[u.name] = f.kind;
    if (f.health !== undefined) health[u.name] = f.health;
    if (f.kind === 'missing') continue;
    const gateway = f.gateway === 'inside' ? addr.inNetwork(f.address, f.gatewayOffset) : f.gateway === 'outside' ? f.gatewayOutside : undefined;
    const fact = iface(u.interface, f.kind === 'no-address' ? [] : [f.address, ...f.more], gateway !== undefined ? { gateway } : {});
    if (f.v6) {
      const configured = (u.cfg.ipv6 as { prefix?: string } | undefined)?.prefix;
      const live = f.v6.delegated.find((d) => !d.lost)?.prefix;
      const prefix = configured === 'auto' ? live : configured;
      const g = f.v6.global;
      const global = g && (g.inPrefix && prefix
        ? formatIPv6(addr.inNetwork6(parse6(prefix.split('/')[0]), 64, g.offset))
        : formatIPv6(parse6(g.address)));
      fact.addresses6 = [
        ...(global ? [{ address: global, prefix: 64, scope: 'global' as const, ...(g!.deprecated ? { deprecated: true } : {}) }] : []),
        { address: 'fe80::2', prefix: 64, scope: 'link' as const },
      ];
      if (f.v6.gateway6 !== undefined) fact.gateway6 = f.v6.gateway6;
      if (configured === 'auto') fact.delegated6 = f.v6.delegated.map((d) => (d.lost ? { prefix: d.prefix, lost: true } : { prefix: d.prefix }));
      if (f.v6.health6 !== undefined) (health6[u.name] = f.v6.health6);
    }
    if (f.kind === 'not-exists') Object.assign(fact, { exists: false, up: false, carrier: false, addresses: [], addresses6: [] });
    if (f.kind === 'down') Object.assign(fact, { up: false, carrier: false });
    if (f.kind === 'no-carrier') fact.carrier = false;
    interfaces[u.interface] = fact;
  }
  return { doc: doc as ConfigInput, facts: { interfaces, health, health6 }, factKinds };
}

/** A valid document with matching facts. */
export const scenarioArb: fc.Arbitrary<Scenario> = rawArb.map(build);

/** The reason code the generator intended for each uplink (null: active), from the document and
 *  the fact kinds alone — the oracle the compiled plan's uplink reasons are compared with. */
export function intendedReasons(s: Scenario): Record<string, UplinkReasonCode | null> {
  const pre = (s.doc.uplinks ?? []).map((u) => {
    const kind = s.factKinds[u.name];
    const gw = u.gateway ?? 'auto';
    let code: UplinkReasonCode | null = null;
    if (u.enabled === false) code = 'disabled';
    else if (u.drain === true) code = 'draining';
    else if (kind === 'missing' || kind === 'not-exists') code = 'no-interface';
    else if (kind === 'down') code = 'interface-down';
    else if (kind === 'no-address') code = 'no-address';
    else if (gw === 'auto' && s.facts.interfaces[u.interface].gateway === undefined) code = 'no-gateway';
    else if (s.facts.health[u.name] === 'down') code = 'health-down';
    return { name: u.name, priority: u.priority ?? 1, code };
  });
  const candidates = pre.filter((p) => p.code === null);
  const best = Math.min(...candidates.map((p) => p.priority));
  return Object.fromEntries(pre.map((p) => [p.name, p.code ?? (p.priority !== best ? 'backup' : null)]));
}

// ---------------------------------------------------------------------------
// Mutations: a valid document with one random path set to junk
// ---------------------------------------------------------------------------

/** Strings that must never reach nft or a shell, and near-misses of every grammar. */
export const HOSTILE_STRINGS = [
  '', ' ', ';', 'a;b', '"', "'", '\n', 'eth0\n', '}', '{', '$(reboot)', '`reboot`', '|| reboot', 'a b',
  '192.168.1.1; flush ruleset', '10.0.0.0/8 }', 'x" accept #', 'lw_b_banned', '\u0000', '\u202e', 'é', '🙂',
  '../../etc/passwd', '-1', '1e3', '0x10', '22 ', ' 22', '080', '1-', '-5', '5-1', '0-65536', '1-65536',
  'auto ', 'AUTO', 'TCP', 'tcp\n', '192.168.001.1', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/24', '01.2.3.4', '::1',
  'true', 'null', 'Eth-0', '-eth', '.', '..', 'a/b', 'a:b', 'a'.repeat(16), 'a'.repeat(25), 'x'.repeat(201),
];
const LONG = 'a'.repeat(100000);

export const junkArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, undefined, true, false, 0, -0, -1, 0.5, 1.5, 65536, 2 ** 31, 2 ** 53, 1e21, -1e9, NaN, Infinity, -Infinity) },
  { weight: 4, arbitrary: fc.constantFrom<unknown>(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(LONG, `${LONG};$(reboot)`, '1'.repeat(5000)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, [null], [''], { x: 1 }, [[]], ['a;b'], [LONG], { name: 'x' }) },
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double()) },
);

export const MUTATION_KINDS = ['set', 'delete', 'unknownKey', 'duplicate', 'dangling'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];
const JUNK_KEYS = ['x', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'a;b', 'Name', 'name '];
/** A well-formed name no generated document uses: a dangling reference wherever a name is expected. */
export const DANGLING = 'zz-dangling-9';

export interface Mutation {
  doc: unknown;
  facts: Facts;
  kind: MutationKind;
  /** The mutated path, formatted like the validator's error paths ("(document)" for the root). */
  path: string;
  pathParts: (string | number)[];
}

type Json = unknown;
function pathsOf(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) pathsOf((v as Record<string, Json>)[k], [...at, k], out);
  return out;
}
const getAt = (root: Json, p: (string | number)[]): Json => p.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], root);
/** An own property, as JSON.parse creates it (plain assignment of "__proto__" would set the prototype). */
const defineOwn = (o: object, k: string | number, value: unknown) =>
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });

export function formatPathParts(p: readonly (string | number)[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out || '(document)';
}

export function mutate(s: Scenario, choice: number, kind: MutationKind, junk: unknown, keyChoice: number): Mutation {
  const root: { v: Json } = { v: JSON.parse(JSON.stringify(s.doc)) };
  const paths = pathsOf(root.v);
  let p = paths[choice % paths.length];
  const parentOf = (q: (string | number)[]) => (q.length ? getAt(root.v, q.slice(0, -1)) : root) as Record<string | number, Json>;
  const lastOf = (q: (string | number)[]) => (q.length ? q[q.length - 1] : 'v');
  const done = (k: MutationKind, q: (string | number)[]): Mutation => ({ doc: root.v, facts: s.facts, kind: k, path: formatPathParts(q), pathParts: q });
  switch (kind) {
    case 'set':
      defineOwn(parentOf(p), lastOf(p), junk);
      return done(kind, p);
    case 'dangling':
      defineOwn(parentOf(p), lastOf(p), DANGLING);
      return done(kind, p);
    case 'delete': {
      if (p.length === 0) p = paths[1 + (choice % (paths.length - 1))];
      const parent = parentOf(p);
      const k = lastOf(p);
      if (Array.isArray(parent)) parent.splice(k as number, 1);
      else delete parent[k];
      return done(kind, p);
    }
    case 'unknownKey': {
      // the nearest object at or above p
      while (p.length && (Array.isArray(getAt(root.v, p)) || typeof getAt(root.v, p) !== 'object' || getAt(root.v, p) === null)) p = p.slice(0, -1);
      const obj = getAt(root.v, p) as object;
      const key = JUNK_KEYS[keyChoice % JUNK_KEYS.length];
      defineOwn(obj, key, junk);
      return done(kind, [...p, key]);
    }
    case 'duplicate': {
      // the nearest array element at or above p: its array gets a copy of it (duplicate names, interfaces, ids, targets)
      while (p.length && !Array.isArray(getAt(root.v, p.slice(0, -1)))) p = p.slice(0, -1);
      if (p.length === 0) {
        const elements = paths.filter((q) => q.length > 0 && Array.isArray(getAt(root.v, q.slice(0, -1))));
        p = elements[choice % elements.length]; // there is always lan[0]
      }
      const arr = getAt(root.v, p.slice(0, -1)) as Json[];
      arr.push(JSON.parse(JSON.stringify(arr[p[p.length - 1] as number])));
      return done(kind, p.slice(0, -1));
    }
  }
}

export const mutationArb: fc.Arbitrary<Mutation> = fc
  .tuple(scenarioArb, fc.nat(), fc.constantFrom(...MUTATION_KINDS), junkArb, fc.nat())
  .map(([s, choice, kind, junk, key]) => mutate(s, choice, kind, junk, key));

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/** Deterministic by default; FC_SEED overrides (the tests print the seed they used). */
export const DEFAULT_SEED = 20261201;
export function propertySeed(): number {
  const s = process.env.FC_SEED;
  if (s === undefined || s === '') return DEFAULT_SEED;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(s)}`);
  return n;
}
/** Number of runs (FC_RUNS overrides; default 1 000). */
export function propertyRuns(def = 1000): number {
  const s = process.env.FC_RUNS;
  return s ? Math.max(1, Number.parseInt(s, 10) || def) : def;
}
