import { z } from 'zod';
import {
  NAME_RE, NAME_HINT, isIfname, isIPv4, parseCidr, hostBitsSet, cidrToString, networkOf, parsePortSpec,
  parseIPv6, parseCidr6, hostBitsSet6, net6Text, isLinkLocal6, isMulticast6, isSpecial6, familyOf, type Family,
} from './net';
import { lockoutIssues } from './lockout';
import { notificationSchema, qualitySchema, meteredSchema, secretSchema, METERED_HEALTH } from './observe';

// ---------------------------------------------------------------------------
// Primitive field schemas (shared by forms, CLI import and the agent)
// ---------------------------------------------------------------------------

export const nameSchema = z.string().regex(NAME_RE, NAME_HINT);
export const ifnameSchema = z
  .string()
  .refine(isIfname, 'not a valid Linux interface name (1-15 of A-Z a-z 0-9 _ . -)');
export const ipv4Schema = z.string().refine(isIPv4, 'not an IPv4 address');
/** A network in CIDR notation (bare address = /32). Host bits must be zero. */
export const networkSchema = z.string().superRefine((s, ctx) => {
  const c = parseCidr(s);
  if (!c) {
    ctx.addIssue({ code: 'custom', message: 'not an IPv4 address or CIDR (a.b.c.d/n)' });
    return;
  }
  if (hostBitsSet(c)) {
    ctx.addIssue({
      code: 'custom',
      message: `host bits set; did you mean ${cidrToString({ address: networkOf(c), prefix: c.prefix })}?`,
    });
  }
});
/** An IPv6 address, no zone id. */
export const ipv6Schema = z.string().refine((s) => parseIPv6(s) !== null, 'not an IPv6 address (no zone ids like %eth0)');
/** An address of either family. */
export const ipSchema = z.string().refine((s) => isIPv4(s) || parseIPv6(s) !== null, 'not an IPv4 or IPv6 address');
/** An IPv6 network (bare address = /128). Host bits must be zero. */
export const network6Schema = z.string().superRefine((s, ctx) => {
  const c = parseCidr6(s);
  if (!c) ctx.addIssue({ code: 'custom', message: 'not an IPv6 address or prefix (like 2001:db8::/48; no zone ids)' });
  else if (hostBitsSet6(c)) ctx.addIssue({ code: 'custom', message: `host bits set; did you mean ${net6Text(c)}?` });
});
/** A network of either family (IPv4 CIDR or IPv6 prefix; a bare address is a host). */
export const anyNetworkSchema = z.string().superRefine((s, ctx) => {
  const fam = familyOf(s);
  if (fam === 4) {
    const c = parseCidr(s)!;
    if (hostBitsSet(c)) ctx.addIssue({ code: 'custom', message: `host bits set; did you mean ${cidrToString({ address: networkOf(c), prefix: c.prefix })}?` });
  } else if (fam === 6) {
    const c = parseCidr6(s)!;
    if (hostBitsSet6(c)) ctx.addIssue({ code: 'custom', message: `host bits set; did you mean ${net6Text(c)}?` });
  } else ctx.addIssue({ code: 'custom', message: 'not an IPv4 (a.b.c.d/n) or IPv6 (2001:db8::/48) address or network' });
});
/** A health-probe target: a global address of either family (no link-local, no multicast). */
export const targetSchema = z.string().superRefine((s, ctx) => {
  if (isIPv4(s)) return;
  if (parseIPv6(s) === null) ctx.addIssue({ code: 'custom', message: 'not an IPv4 or IPv6 address' });
  else if (isLinkLocal6(s) || isMulticast6(s) || isSpecial6(s)) ctx.addIssue({ code: 'custom', message: 'must be a global IPv6 address (not link-local, multicast, ::, ::1 or IPv4-mapped)' });
});
/** Router IPv6 interface address with prefix, e.g. fd00:1::1/64. */
export const iface6AddressSchema = z.string().superRefine((s, ctx) => {
  const c = parseCidr6(s, false);
  if (!c || c.prefix < 48 || c.prefix > 64) ctx.addIssue({ code: 'custom', message: 'not an IPv6 interface address like fd00:1::1/64 (prefix 48-64)' });
  else if (!hostBitsSet6(c)) ctx.addIssue({ code: 'custom', message: 'is the prefix itself; use a host address like fd00:1::1/64' });
  else if (isLinkLocal6(s) || isMulticast6(s) || isSpecial6(s)) ctx.addIssue({ code: 'custom', message: 'must be a global or unique-local address' });
});
/** A routed/delegated IPv6 prefix (/32 to /64). */
export const prefix6Schema = network6Schema.superRefine((s, ctx) => {
  const c = parseCidr6(s);
  if (c && (c.prefix < 32 || c.prefix > 64 || !s.includes('/'))) ctx.addIssue({ code: 'custom', message: 'must be a prefix /32 to /64, like 2001:db8:100::/56' });
});

/** The family of a validated address/network string (4 when unknown). */
export const famOf = (s: string): Family => familyOf(s) ?? 4;

/** An interface address with prefix, e.g. 192.168.1.1/24 (host bits expected). */
export const ifaceAddressSchema = z.string().superRefine((s, ctx) => {
  const c = parseCidr(s, false);
  if (!c || c.prefix < 8 || c.prefix > 30) {
    ctx.addIssue({ code: 'custom', message: 'not an interface address like 192.168.1.1/24 (prefix 8-30)' });
  } else if (c.address === networkOf(c)) {
    ctx.addIssue({ code: 'custom', message: 'is the network address; use a host address like x.x.x.1/n' });
  }
});
export const portSchema = z.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
/** A port (number) or a range "a-b". */
export const portSpecSchema = z.union([z.number(), z.string()]).superRefine((v, ctx) => {
  if (!parsePortSpec(v)) ctx.addIssue({ code: 'custom', message: 'must be a port 1-65535 or a range "a-b"' });
});

export { PROTOCOLS, RULE_PROTOCOLS, ACTIONS, CHAINS, HELPERS, HEALTH_METHODS, ICMP_TYPES, HEALTH_DEFAULTS, HEALTH_FAST } from './enums';
import { PROTOCOLS, RULE_PROTOCOLS, ACTIONS, CHAINS, HELPERS, HEALTH_METHODS, ICMP_TYPES, HEALTH_DEFAULTS } from './enums';
export { ICMPV6_TYPES } from './enums';
import { ICMPV6_TYPES } from './enums';
/** The protocols the kernel has each conntrack helper for (nf_conntrack_ftp/_tftp/_sip/_irc): a
 *  `ct helper` object of any other protocol is refused by the kernel (ENOENT) at apply time. */
export const HELPER_PROTOCOLS: Readonly<Record<(typeof HELPERS)[number], readonly (typeof PROTOCOLS)[number][]>> = {
  ftp: ['tcp'], tftp: ['udp'], sip: ['udp', 'tcp'], irc: ['tcp'],
};

const list = <T extends z.ZodTypeAny>(item: T, max: number, what = 'entries') =>
  z.array(item).max(max, `at most ${max} ${what}`);

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------


/** Timing fields left out are filled by effectiveHealth() (not by the schema: a metered uplink has
 *  slower defaults, so "not given" must stay visible). */
export const healthSchema = z
  .object({
    /** IPv4 and/or IPv6 targets: each family is probed (and decided) on its own. */
    targets: list(targetSchema, 8, 'targets').min(1, 'at least one target'),
    method: z.enum(HEALTH_METHODS).default('icmp'),
    /** TCP port for method "tcp" (default 80); UDP port for "dns" (default 53). */
    port: portSchema.optional(),
    intervalMs: z.number().int().min(50, 'must be ≥ 50').max(60000, 'must be ≤ 60000').optional(),
    timeoutMs: z.number().int().min(50, 'must be ≥ 50').max(30000, 'must be ≤ 30000').optional(),
    downAfter: z.number().int().min(1).max(100).optional(),
    upAfter: z.number().int().min(1).max(1000).optional(),
    quorum: z.number().int().min(1).max(8).optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    if (h.quorum !== undefined && h.quorum > h.targets.length) {
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: `must be ≤ the number of targets (${h.targets.length})` });
    }
    if (new Set(h.targets).size !== h.targets.length) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'targets must be distinct' });
    }
  });

/** IPv6 of one LAN (docs/ipv6.md). Without it, linkward manages no IPv6 on that LAN (a prefix
 *  routed to it by other means keeps working through the firewall). */
export const lan6Schema = z
  .object({
    /** nptv6: the LAN keeps one stable prefix (`address`), translated to each uplink's prefix
     *  (RFC 6296); native: each uplink's prefix is advertised on the LAN, deprecated when it dies. */
    mode: z.enum(['nptv6', 'native']),
    /** The router's address on the LAN with its prefix (nptv6: required, a ULA or the primary uplink's). */
    address: iface6AddressSchema.optional(),
    /** native: which /64 of each uplink's prefix this LAN uses (0 = the first). */
    subnet: z.number().int().min(0, 'must be 0-255').max(255, 'must be 0-255').default(0),
    /** Send router advertisements on this LAN (radvd, supervised by the agent). */
    ra: z.boolean().default(true),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.mode === 'nptv6' && !l.address) ctx.addIssue({ code: 'custom', path: ['address'], message: 'nptv6 needs the LAN prefix: the router address on it, like fd00:1::1/64' });
  });

export const lanSchema = z
  .object({
    name: nameSchema,
    interface: ifnameSchema,
    address: ifaceAddressSchema,
    ipv6: lan6Schema.optional(),
  })
  .strict();

/** IPv6 of one uplink. */
export const uplink6Schema = z
  .object({
    /** "auto": the main table's IPv6 default route on the interface (router advertisements). A
     *  link-local gateway (fe80::1) is fine: it is used with the interface. */
    gateway: z.union([z.literal('auto'), ipv6Schema.refine((s) => !isMulticast6(s) && !isSpecial6(s), 'must be a unicast router address (link-local like fe80::1 is fine)')]).default('auto'),
    /** The prefix the ISP routes (delegates) to this uplink, e.g. 2001:db8:100::/56, or "auto":
     *  requested from the ISP by DHCPv6 prefix delegation (Debian's dhcpcd, supervised by the
     *  agent). Needed for native LANs (their /64 comes from it) and for NPTv6 (the translation
     *  target); without it an NPTv6 LAN is masqueraded to the uplink's own IPv6 address. */
    prefix: z.union([z.literal('auto'), prefix6Schema]).optional(),
  })
  .strict();

export const uplinkSchema = z
  .object({
    name: nameSchema,
    /** Stable id 1-50: derives the routing table (200+id, below the kernel's reserved 253-255), fwmark and counter names. Assigned on import when absent. */
    id: z.number().int().min(1, 'must be 1-50').max(50, 'must be 1-50').optional(),
    interface: ifnameSchema,
    gateway: z.union([z.literal('auto'), ipv4Schema]).default('auto'),
    weight: z.number().int().min(1, 'must be 1-100').max(100, 'must be 1-100').default(1),
    priority: z.number().int().min(1, 'must be 1-9').max(9, 'must be 1-9').default(1),
    enabled: z.boolean().default(true),
    /** Draining: takes no new connections, keeps existing flows. */
    drain: z.boolean().default(false),
    /** On recovery: "keep" leaves moved flows where they are; "reset" deletes flows of the same tier so they come back. */
    failback: z.enum(['keep', 'reset']).default('keep'),
    health: healthSchema.optional(),
    ipv6: uplink6Schema.optional(),
    /** Latency/loss thresholds: the degraded state (issue 17, lib/validations/observe.ts). */
    quality: qualitySchema.optional(),
    /** A data cap (issue 17). */
    metered: meteredSchema.optional(),
  })
  .strict();

/** Who may scrape GET /metrics: a bearer token, and/or source networks (issue 17). */
export const metricsSchema = z
  .object({
    token: secretSchema.optional(),
    allow: list(networkSchema, 64, 'networks').optional(),
  })
  .strict();

export const serviceSchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    protocol: z.enum(PROTOCOLS),
    port: portSpecSchema,
    /** Uplinks on which the service is reachable (default: all). */
    uplinks: list(nameSchema, 50, 'uplinks').optional(),
    /** Allow only these source networks, IPv4 and/or IPv6 (default: any). */
    sources: list(anyNetworkSchema, 256, 'sources').optional(),
    /** Also reachable from the LAN (default true). */
    lan: z.boolean().default(true),
    helper: z.enum(HELPERS).optional(),
    lowDelay: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    const protos = s.helper !== undefined ? HELPER_PROTOCOLS[s.helper] : undefined;
    if (protos && !protos.includes(s.protocol)) {
      ctx.addIssue({ code: 'custom', path: ['helper'], message: `the ${s.helper} helper exists for ${protos.join(' and ')} only, not ${s.protocol}` });
    }
  });

export const ruleSchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    chain: z.enum(CHAINS),
    action: z.enum(ACTIONS),
    protocol: z.enum(RULE_PROTOCOLS).default('any'),
    source: anyNetworkSchema.optional(),
    destination: anyNetworkSchema.optional(),
    /** Match against a named address list (compiled to an nft set per family). */
    sourceList: nameSchema.optional(),
    destinationList: nameSchema.optional(),
    port: portSpecSchema.optional(),
    /** Restrict to traffic arriving on (input/forward) or leaving by (output/forward) this uplink. */
    uplink: nameSchema.optional(),
    log: z.boolean().default(false),
    /** Free text for humans. Never rendered into nft. */
    description: z.string().max(200, 'at most 200 characters').optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.port !== undefined && r.protocol !== 'tcp' && r.protocol !== 'udp') {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'a port needs protocol tcp or udp' });
    }
    sameFamily(ctx, [['source', r.source], ['destination', r.destination]], r.protocol);
  });

/** Addresses of one rule/policy must be of one family, and icmp/icmpv6 must match it. */
function sameFamily(ctx: z.RefinementCtx, fields: [string, string | undefined][], protocol?: string): void {
  const given = fields.filter((f): f is [string, string] => f[1] !== undefined && familyOf(f[1]) !== null);
  const fams = new Set(given.map(([, v]) => famOf(v)));
  if (fams.size > 1) {
    ctx.addIssue({ code: 'custom', path: [given[1][0]], message: `is IPv${famOf(given[1][1])} but ${given[0][0]} is IPv${famOf(given[0][1])}: one rule matches one family` });
    return;
  }
  const fam = [...fams][0];
  if (protocol === 'icmp' && fam === 6) ctx.addIssue({ code: 'custom', path: ['protocol'], message: 'icmp is IPv4: use icmpv6 with IPv6 addresses' });
  if (protocol === 'icmpv6' && fam === 4) ctx.addIssue({ code: 'custom', path: ['protocol'], message: 'icmpv6 is IPv6: use icmp with IPv4 addresses' });
}

export const addressListSchema = z
  .object({
    name: nameSchema,
    /** IPv4 and/or IPv6 networks (one nft set per family). */
    entries: list(anyNetworkSchema, 200000, 'entries'),
  })
  .strict();

export const portForwardSchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    uplinks: list(nameSchema, 50, 'uplinks').optional(),
    protocol: z.enum(PROTOCOLS),
    port: portSpecSchema,
    /** The LAN host: IPv4 (DNAT) or IPv6 (a pinhole: no address translation, the host's own
     *  address is reachable; `port` is opened to it as is). */
    to: ipSchema,
    toPort: portSchema.optional(),
    sources: list(anyNetworkSchema, 256, 'sources').optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (familyOf(p.to) !== 6) {
      const v6 = (p.sources ?? []).findIndex((x) => famOf(x) === 6);
      if (v6 >= 0) ctx.addIssue({ code: 'custom', path: ['sources', v6], message: 'is IPv6 but the forward goes to an IPv4 host' });
      return;
    }
    if (p.toPort !== undefined) ctx.addIssue({ code: 'custom', path: ['toPort'], message: 'an IPv6 forward is a pinhole (no translation): the port stays the same' });
    if (isLinkLocal6(p.to) || isMulticast6(p.to) || isSpecial6(p.to)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be a global IPv6 address of the LAN host' });
    const v4 = (p.sources ?? []).findIndex((x) => famOf(x) === 4);
    if (v4 >= 0) ctx.addIssue({ code: 'custom', path: ['sources', v4], message: 'is IPv4 but the pinhole goes to an IPv6 host' });
  });

export const policySchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    source: anyNetworkSchema.optional(),
    destination: anyNetworkSchema.optional(),
    protocol: z.enum(PROTOCOLS).optional(),
    port: portSpecSchema.optional(),
    uplink: nameSchema,
    /** "source": pin each matching LAN host to one uplink for stickySeconds. */
    sticky: z.enum(['connection', 'source']).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.port !== undefined && !p.protocol) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'a port needs protocol tcp or udp' });
    }
    sameFamily(ctx, [['source', p.source], ['destination', p.destination]]);
  });

export const firewallSchema = z
  .object({
    /** ICMP types the router itself may send. */
    icmpOut: list(z.enum(ICMP_TYPES), ICMP_TYPES.length, 'types').default([
      'echo-reply', 'destination-unreachable', 'echo-request', 'time-exceeded', 'parameter-problem',
    ]),
    /** ICMP types accepted from anywhere to the router (related errors are always accepted). */
    icmpIn: list(z.enum(ICMP_TYPES), ICMP_TYPES.length, 'types').default(['echo-request']),
    /** ICMPv6 types accepted to the router beyond the ones IPv6 needs (neighbor discovery, MLD,
     *  and the errors packet-too-big, time-exceeded, parameter-problem, destination-unreachable,
     *  which are always accepted: RFC 4890). echo-request is rate-limited. */
    icmpv6In: list(z.enum(ICMPV6_TYPES), ICMPV6_TYPES.length, 'types').default(['echo-request']),
    /** ICMPv6 types the router itself may send (neighbor discovery and MLD always). */
    icmpv6Out: list(z.enum(ICMPV6_TYPES), ICMPV6_TYPES.length, 'types').default([
      'destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem', 'echo-request', 'echo-reply',
    ]),
    logDrops: z.boolean().default(true),
    /** Log at most this many dropped packets per minute. */
    logRatePerMinute: z.number().int().min(1).max(100000).default(60),
    portScan: z
      .object({
        enabled: z.boolean().default(true),
        /** A source probing more than `ports` DISTINCT closed ports within `seconds` ... */
        ports: z.number().int().min(2).max(10000).default(20),
        seconds: z.number().int().min(1).max(3600).default(10),
        /** ... is banned for banSeconds. */
        banSeconds: z.number().int().min(1).max(604800).default(600),
        /** Sources that are never banned, on top of the built-in ones (LAN networks, the router's
         *  own addresses, gateways, health-probe targets, NTP/DNS sources named in services). */
        neverBan: list(anyNetworkSchema, 1024, 'addresses').default([]),
      })
      .strict()
      .default({ enabled: true, ports: 20, seconds: 10, banSeconds: 600, neverBan: [] }),
    /** Drop packets arriving on an uplink with a source that cannot be genuine: the router's own
     *  addresses, loopback, the LAN networks, and (bogons) addresses that are not routed on the
     *  Internet; counted before anything else (chain prerouting_raw). */
    antiSpoof: z
      .object({
        enabled: z.boolean().default(true),
        bogons: z.boolean().default(true),
        /** Networks taken out of the bogon list (e.g. a private network behind an uplink's modem). */
        exceptions: list(anyNetworkSchema, 256, 'networks').default([]),
      })
      .strict()
      .default({ enabled: true, bogons: true, exceptions: [] }),
    /** Default outbound balancing: per connection, or pin each LAN source host. */
    sticky: z.enum(['connection', 'source']).default('connection'),
    stickySeconds: z.number().int().min(10).max(86400).default(600),
    /** TCP port of the dashboard, kept reachable from the LAN by the anti-lockout rule. */
    dashboardPort: portSchema.default(3000),
    /** Advanced: allow configs that would lock the LAN out of the dashboard. */
    allowLockout: z.boolean().default(false),
  })
  .strict();

export const sysctlSchema = z
  .object({
    syncookies: z.boolean().default(true),
    rpFilter: z.enum(['off', 'strict', 'loose']).default('loose'),
    logMartians: z.boolean().default(true),
    ignoreBroadcastPings: z.boolean().default(true),
  })
  .strict();

const FIREWALL_DEFAULT = firewallSchema.parse({});
const SYSCTL_DEFAULT = sysctlSchema.parse({});

export const configBaseSchema = z
  .object({
    version: z.literal(1, 'must be 1'),
    lan: list(lanSchema, 16, 'LAN networks').default([]),
    uplinks: list(uplinkSchema, 50, 'uplinks').default([]),
    services: list(serviceSchema, 1000, 'services').default([]),
    rules: list(ruleSchema, 20000, 'rules').default([]),
    addressLists: list(addressListSchema, 64, 'address lists').default([]),
    portForwards: list(portForwardSchema, 1000, 'port forwards').default([]),
    policies: list(policySchema, 1000, 'policies').default([]),
    firewall: firewallSchema.default(FIREWALL_DEFAULT),
    sysctl: sysctlSchema.default(SYSCTL_DEFAULT),
    /** Notification channels (issue 17; secrets are write-only, see lib/store/secrets.ts). */
    notifications: list(notificationSchema, 32, 'channels').default([]),
    metrics: metricsSchema.optional(),
  })
  .strict();

/** A value echoed in an error message, cut to 40 characters (it may be any junk). */
const cut = (v: unknown): string => {
  const s = String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};
const isName = (v: unknown): v is string => typeof v === 'string' && NAME_RE.test(v);

// Cross-field checks below look only at values that passed their own grammar: a malformed value
// already has its error at its own path, and checking it again would repeat it (and echo junk).
function uniqueNames(items: { name: string }[], section: string, ctx: z.RefinementCtx) {
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
    if (!isName(it.name)) return;
    if (seen.has(it.name)) {
      ctx.addIssue({ code: 'custom', path: [section, i, 'name'], message: `duplicate name "${it.name}" (also ${section}[${seen.get(it.name)}])` });
    } else seen.set(it.name, i);
  });
}

type Issue = { path: (string | number)[]; message: string };
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const field = (v: unknown, k: string): unknown => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined);

/** References between sections (uplink and address-list names) over a document that may be
 *  invalid elsewhere: zod skips a refinement once a field has a type error, so parseConfig also
 *  runs this on the raw document and reports both kinds of error in one answer. Tolerant of any
 *  shape; only well-formed names are checked (a malformed one has its own error). */
export function referenceIssues(doc: unknown): Issue[] {
  const out: Issue[] = [];
  const uplinks = new Set(arr(field(doc, 'uplinks')).map((u) => field(u, 'name')).filter(isName));
  const lists = new Set(arr(field(doc, 'addressLists')).map((l) => field(l, 'name')).filter(isName));
  const uplinkRefs = (refs: unknown, path: (string | number)[]) =>
    arr(refs).forEach((r, j) => {
      if (isName(r) && !uplinks.has(r)) out.push({ path: [...path, j], message: `unknown uplink "${r}"` });
    });
  arr(field(doc, 'services')).forEach((s, i) => uplinkRefs(field(s, 'uplinks'), ['services', i, 'uplinks']));
  arr(field(doc, 'portForwards')).forEach((p, i) => uplinkRefs(field(p, 'uplinks'), ['portForwards', i, 'uplinks']));
  arr(field(doc, 'policies')).forEach((p, i) => {
    const u = field(p, 'uplink');
    if (isName(u) && !uplinks.has(u)) out.push({ path: ['policies', i, 'uplink'], message: `unknown uplink "${u}"` });
  });
  arr(field(doc, 'rules')).forEach((r, i) => {
    const u = field(r, 'uplink');
    if (isName(u) && !uplinks.has(u)) out.push({ path: ['rules', i, 'uplink'], message: `unknown uplink "${u}"` });
    for (const k of ['sourceList', 'destinationList'] as const) {
      const v = field(r, k);
      if (isName(v) && !lists.has(v)) out.push({ path: ['rules', i, k], message: `unknown address list "${v}"` });
    }
  });
  return out;
}

/** The checks across sections (names, interfaces, ids, references, lockout) of a document whose
 *  sections passed their own schemas. */
function crossChecks(c: z.output<typeof configBaseSchema>, ctx: z.RefinementCtx): void {
  uniqueNames(c.lan, 'lan', ctx);
  uniqueNames(c.uplinks, 'uplinks', ctx);
  uniqueNames(c.services, 'services', ctx);
  uniqueNames(c.rules, 'rules', ctx);
  uniqueNames(c.addressLists, 'addressLists', ctx);
  uniqueNames(c.portForwards, 'portForwards', ctx);
  uniqueNames(c.policies, 'policies', ctx);
  uniqueNames(c.notifications, 'notifications', ctx);

  const ifaces = new Map<string, string>();
  c.lan.forEach((l, i) => {
    if (!isIfname(l.interface)) return;
    if (ifaces.has(l.interface)) ctx.addIssue({ code: 'custom', path: ['lan', i, 'interface'], message: `interface ${l.interface} is already used by ${ifaces.get(l.interface)}` });
    ifaces.set(l.interface, `lan ${cut(l.name)}`);
  });
  const ids = new Map<number, string>();
  c.uplinks.forEach((u, i) => {
    if (isIfname(u.interface)) {
      if (ifaces.has(u.interface)) ctx.addIssue({ code: 'custom', path: ['uplinks', i, 'interface'], message: `interface ${u.interface} is already used by ${ifaces.get(u.interface)}` });
      ifaces.set(u.interface, `uplink ${cut(u.name)}`);
    }
    const id = u.id;
    if (id !== undefined && Number.isInteger(id)) {
      if (ids.has(id)) ctx.addIssue({ code: 'custom', path: ['uplinks', i, 'id'], message: `id ${id} is already used by uplink ${cut(ids.get(id))}` });
      ids.set(id, u.name);
    }
  });
  for (const issue of referenceIssues(c)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  c.portForwards.forEach((p, i) => {
    // Refinements also run when fields already failed (zod 4 custom issues do not abort): no `!`.
    const to = parseCidr(p.to);
    if (to && c.lan.length > 0 && !c.lan.some((l) => {
      const net = parseCidr(l.address);
      return net !== null && ((to.address ^ net.address) >>> (32 - net.prefix)) === 0;
    })) {
      ctx.addIssue({ code: 'custom', path: ['portForwards', i, 'to'], message: 'is not inside any LAN network' });
    }
  });
  const total = c.addressLists.reduce((n, l) => n + l.entries.length, 0);
  if (total > 500000) ctx.addIssue({ code: 'custom', path: ['addressLists'], message: 'at most 500000 entries in all lists together' });
  // Issue 8: refuse configs that explicitly lock the LAN out of the dashboard (lib/validations/lockout.ts).
  for (const issue of lockoutIssues(c)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
}

export const configSchema = configBaseSchema.superRefine(crossChecks);

/** Input document (what users write: defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
/** Parsed document with defaults filled in; uplink ids may still be absent. */
export type ConfigParsed = z.output<typeof configSchema>;
export type Uplink = ConfigParsed['uplinks'][number] & { id: number };
/** Normalized config: defaults filled and every uplink has a stable id. */
export type Config = Omit<ConfigParsed, 'uplinks'> & { uplinks: Uplink[] };
export type Service = Config['services'][number];
export type Rule = Config['rules'][number];
export type PortForward = Config['portForwards'][number];
export type Policy = Config['policies'][number];
export type Lan = Config['lan'][number];
export type AddressList = Config['addressLists'][number];
export type Health = z.output<typeof healthSchema>;
export type Notification = Config['notifications'][number];

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(document)';
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[]; fieldErrors: Record<string, string[]> };

export function zodErrors(err: z.ZodError): { errors: string[]; fieldErrors: Record<string, string[]> } {
  const errors: string[] = [];
  const fieldErrors: Record<string, string[]> = {};
  for (const issue of err.issues) {
    const p = formatPath(issue.path);
    // zod's own message quotes unknown keys whole, and a key can be any junk
    const message = issue.code === 'unrecognized_keys'
      ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.slice(0, 5).map((k) => JSON.stringify(cut(k))).join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}`
      : issue.message;
    errors.push(`${p}: ${message}`);
    (fieldErrors[p] ??= []).push(message);
  }
  return { errors, fieldErrors };
}

/** Give every uplink without an id the smallest free one (stable afterwards, since export includes it). */
export function assignUplinkIds(c: ConfigParsed): Config {
  const used = new Set(c.uplinks.map((u) => u.id).filter((x): x is number => x !== undefined));
  let next = 1;
  const uplinks = c.uplinks.map((u) => {
    if (u.id !== undefined) return u as Uplink;
    while (used.has(next)) next++;
    used.add(next);
    // (`id` may be present as undefined: zod keeps an explicit undefined, and it must not win)
    const { name, id: _absent, ...rest } = u;
    return { name, id: next, ...rest } as Uplink; // schema key order, so re-parsing is byte-identical
  });
  return { ...c, uplinks };
}

/** Validate a whole document: returns the normalized config or every error as "path: message". */
export function parseConfig(doc: unknown): ParseResult<Config> {
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    const res = zodErrors(r.error);
    // References too, even where zod stopped before its cross-field checks (one answer, not two rounds).
    for (const issue of referenceIssues(doc)) {
      const p = formatPath(issue.path);
      if (res.fieldErrors[p]?.includes(issue.message)) continue;
      res.errors.push(`${p}: ${issue.message}`);
      (res.fieldErrors[p] ??= []).push(issue.message);
    }
    return { ok: false, ...res };
  }
  return { ok: true, value: assignUplinkIds(r.data) };
}

/** Rules already validated by ruleSchema, by their JSON text (parseConfigIncremental). */
export type RuleParseCache = Map<string, Readonly<Rule>>;

/** configSchema with rules that are ruleSchema's own output already (same list limit, same
 *  cross-section checks): only parseConfigIncremental gives it rules, each parsed by ruleSchema. */
const preparsedRulesSchema = configBaseSchema
  .extend({ rules: list(z.custom<z.output<typeof ruleSchema>>(), 20000, 'rules').default([]) })
  .strict()
  .superRefine(crossChecks);

/**
 * parseConfig for a document that usually differs little from the last one (the agent validates
 * every revision): each rule is validated on its own by ruleSchema — or taken from `cache` when the
 * same rule text was validated before — and the whole document, with those rules, by the same
 * section schemas and cross-section checks as configSchema. Any error: parseConfig(doc) itself
 * (its messages, unchanged). `cache` is replaced by the rules of a valid document. Cached rules are
 * frozen (shared by successive configs).
 */
export function parseConfigIncremental(doc: unknown, cache: RuleParseCache): ParseResult<Config> {
  const raw = field(doc, 'rules');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray(raw)) return parseConfig(doc);
  const next: RuleParseCache = new Map();
  const rules: Readonly<Rule>[] = [];
  for (const r of raw) {
    const key = JSON.stringify(r);
    let v = next.get(key) ?? cache.get(key);
    if (v === undefined) {
      const p = ruleSchema.safeParse(r);
      if (!p.success) return parseConfig(doc);
      v = Object.freeze(p.data);
    }
    next.set(key, v);
    rules.push(v);
  }
  const r = preparsedRulesSchema.safeParse({ ...(doc as Record<string, unknown>), rules });
  if (!r.success) return parseConfig(doc);
  cache.clear();
  for (const [k, v] of next) cache.set(k, v);
  return { ok: true, value: assignUplinkIds(r.data as ConfigParsed) };
}

/** The quorum for one family's `n` targets of an uplink (each family is probed and decided on its
 *  own): the configured quorum, at most n; by default ⌈n/2⌉ of THAT family (not of all targets:
 *  3 IPv4 + 3 IPv6 targets must not need 3 of 3 per family, or one dead target takes it down). */
export function familyQuorum(u: Uplink, n: number): number {
  const q = u.health?.quorum;
  return Math.max(1, q !== undefined ? Math.min(q, n) : Math.ceil(n / 2));
}

/** Effective health settings for an uplink (defaults filled, quorum = ceil(n/2)). A metered
 *  uplink probes slower by default (METERED_HEALTH: one probe per target every 10 s); its own
 *  intervalMs/timeoutMs, when given, win. Quality thresholds (the degraded state) ride along. */
export function effectiveHealth(u: Uplink, fallbackTargets: string[] = []) {
  const h = u.health;
  const targets = h?.targets ?? fallbackTargets;
  const d = u.metered ? METERED_HEALTH : HEALTH_DEFAULTS;
  const slow = u.metered !== undefined && h?.intervalMs === undefined && h?.timeoutMs === undefined;
  const intervalMs = h?.intervalMs ?? d.intervalMs;
  return {
    targets,
    method: h?.method ?? HEALTH_DEFAULTS.method,
    port: h?.port ?? ((h?.method ?? 'icmp') === 'dns' ? 53 : 80),
    intervalMs,
    timeoutMs: h?.timeoutMs ?? d.timeoutMs,
    downAfter: h?.downAfter ?? d.downAfter,
    upAfter: h?.upAfter ?? d.upAfter,
    quorum: h?.quorum ?? Math.max(1, Math.ceil(targets.length / 2)),
    ...(slow ? { probeEveryMs: METERED_HEALTH.probeEveryMs } : {}),
    ...(u.quality ? { quality: u.quality } : {}),
  };
}
