import { z } from 'zod';
import {
  NAME_RE, NAME_HINT, isIfname, isIPv4, parseCidr, hostBitsSet, cidrToString, networkOf, parsePortSpec,
} from './net';
import { lockoutIssues } from './lockout';

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

export const PROTOCOLS = ['tcp', 'udp'] as const;
export const RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'any'] as const;
export const ACTIONS = ['accept', 'drop', 'reject'] as const;
export const CHAINS = ['input', 'forward', 'output'] as const;
export const HELPERS = ['ftp', 'tftp', 'sip', 'irc'] as const;
/** The protocols the kernel has each conntrack helper for (nf_conntrack_ftp/_tftp/_sip/_irc): a
 *  `ct helper` object of any other protocol is refused by the kernel (ENOENT) at apply time. */
export const HELPER_PROTOCOLS: Readonly<Record<(typeof HELPERS)[number], readonly (typeof PROTOCOLS)[number][]>> = {
  ftp: ['tcp'], tftp: ['udp'], sip: ['udp', 'tcp'], irc: ['tcp'],
};
export const HEALTH_METHODS = ['icmp', 'tcp', 'dns'] as const;
/** ICMP types nft knows by name (subset that makes sense for IPv4 filtering). */
export const ICMP_TYPES = [
  'echo-reply', 'destination-unreachable', 'source-quench', 'redirect', 'echo-request',
  'router-advertisement', 'router-solicitation', 'time-exceeded', 'parameter-problem',
  'timestamp-request', 'timestamp-reply', 'info-request', 'info-reply',
  'address-mask-request', 'address-mask-reply',
] as const;

const list = <T extends z.ZodTypeAny>(item: T, max: number, what = 'entries') =>
  z.array(item).max(max, `at most ${max} ${what}`);

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------

export const HEALTH_DEFAULTS = { method: 'icmp', intervalMs: 500, timeoutMs: 1000, downAfter: 3, upAfter: 5 } as const;
export const HEALTH_FAST = { intervalMs: 240, timeoutMs: 360, downAfter: 2, upAfter: 3 } as const;

export const healthSchema = z
  .object({
    targets: list(ipv4Schema, 8, 'targets').min(1, 'at least one target'),
    method: z.enum(HEALTH_METHODS).default('icmp'),
    /** TCP port for method "tcp" (default 80); UDP port for "dns" (default 53). */
    port: portSchema.optional(),
    intervalMs: z.number().int().min(100, 'must be ≥ 100').max(60000, 'must be ≤ 60000').default(HEALTH_DEFAULTS.intervalMs),
    timeoutMs: z.number().int().min(50, 'must be ≥ 50').max(30000, 'must be ≤ 30000').default(HEALTH_DEFAULTS.timeoutMs),
    downAfter: z.number().int().min(1).max(100).default(HEALTH_DEFAULTS.downAfter),
    upAfter: z.number().int().min(1).max(1000).default(HEALTH_DEFAULTS.upAfter),
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

export const lanSchema = z
  .object({
    name: nameSchema,
    interface: ifnameSchema,
    address: ifaceAddressSchema,
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
    /** Allow only these source networks (default: any). */
    sources: list(networkSchema, 256, 'sources').optional(),
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
    source: networkSchema.optional(),
    destination: networkSchema.optional(),
    /** Match against a named address list (compiled to an nft set). */
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
  });

export const addressListSchema = z
  .object({
    name: nameSchema,
    entries: list(networkSchema, 200000, 'entries'),
  })
  .strict();

export const portForwardSchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    uplinks: list(nameSchema, 50, 'uplinks').optional(),
    protocol: z.enum(PROTOCOLS),
    port: portSpecSchema,
    to: ipv4Schema,
    toPort: portSchema.optional(),
    sources: list(networkSchema, 256, 'sources').optional(),
  })
  .strict();

export const policySchema = z
  .object({
    name: nameSchema,
    enabled: z.boolean().default(true),
    source: networkSchema.optional(),
    destination: networkSchema.optional(),
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
  });

export const firewallSchema = z
  .object({
    /** ICMP types the router itself may send. */
    icmpOut: list(z.enum(ICMP_TYPES), ICMP_TYPES.length, 'types').default([
      'echo-reply', 'destination-unreachable', 'echo-request', 'time-exceeded', 'parameter-problem',
    ]),
    /** ICMP types accepted from anywhere to the router (related errors are always accepted). */
    icmpIn: list(z.enum(ICMP_TYPES), ICMP_TYPES.length, 'types').default(['echo-request']),
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
        neverBan: list(networkSchema, 1024, 'addresses').default([]),
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
        exceptions: list(networkSchema, 256, 'networks').default([]),
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

export const configSchema = configBaseSchema.superRefine((c, ctx) => {
  uniqueNames(c.lan, 'lan', ctx);
  uniqueNames(c.uplinks, 'uplinks', ctx);
  uniqueNames(c.services, 'services', ctx);
  uniqueNames(c.rules, 'rules', ctx);
  uniqueNames(c.addressLists, 'addressLists', ctx);
  uniqueNames(c.portForwards, 'portForwards', ctx);
  uniqueNames(c.policies, 'policies', ctx);

  const uplinks = new Set(c.uplinks.map((u) => u.name));
  const lists = new Set(c.addressLists.map((l) => l.name));
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
  const checkUplinkRefs = (refs: string[] | undefined, path: (string | number)[]) =>
    refs?.forEach((r, j) => {
      if (isName(r) && !uplinks.has(r)) ctx.addIssue({ code: 'custom', path: [...path, j], message: `unknown uplink "${r}"` });
    });
  c.services.forEach((s, i) => checkUplinkRefs(s.uplinks, ['services', i, 'uplinks']));
  c.portForwards.forEach((p, i) => {
    checkUplinkRefs(p.uplinks, ['portForwards', i, 'uplinks']);
    // Refinements also run when fields already failed (zod 4 custom issues do not abort): no `!`.
    const to = parseCidr(p.to);
    if (to && c.lan.length > 0 && !c.lan.some((l) => {
      const net = parseCidr(l.address);
      return net !== null && ((to.address ^ net.address) >>> (32 - net.prefix)) === 0;
    })) {
      ctx.addIssue({ code: 'custom', path: ['portForwards', i, 'to'], message: 'is not inside any LAN network' });
    }
  });
  c.policies.forEach((p, i) => {
    if (isName(p.uplink) && !uplinks.has(p.uplink)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'uplink'], message: `unknown uplink "${p.uplink}"` });
  });
  c.rules.forEach((r, i) => {
    if (isName(r.uplink) && !uplinks.has(r.uplink)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'uplink'], message: `unknown uplink "${r.uplink}"` });
    for (const k of ['sourceList', 'destinationList'] as const) {
      const v = r[k];
      if (isName(v) && !lists.has(v)) ctx.addIssue({ code: 'custom', path: ['rules', i, k], message: `unknown address list "${v}"` });
    }
  });
  const total = c.addressLists.reduce((n, l) => n + l.entries.length, 0);
  if (total > 500000) ctx.addIssue({ code: 'custom', path: ['addressLists'], message: 'at most 500000 entries in all lists together' });
  // Issue 8: refuse configs that explicitly lock the LAN out of the dashboard (lib/validations/lockout.ts).
  for (const issue of lockoutIssues(c)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

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
    const { name, ...rest } = u;
    return { name, id: next, ...rest } as Uplink; // schema key order, so re-parsing is byte-identical
  });
  return { ...c, uplinks };
}

/** Validate a whole document: returns the normalized config or every error as "path: message". */
export function parseConfig(doc: unknown): ParseResult<Config> {
  const r = configSchema.safeParse(doc);
  if (!r.success) return { ok: false, ...zodErrors(r.error) };
  return { ok: true, value: assignUplinkIds(r.data) };
}

/** Effective health settings for an uplink (defaults filled, quorum = ceil(n/2)). */
export function effectiveHealth(u: Uplink, fallbackTargets: string[] = []) {
  const h = u.health;
  const targets = h?.targets ?? fallbackTargets;
  return {
    targets,
    method: h?.method ?? HEALTH_DEFAULTS.method,
    port: h?.port ?? ((h?.method ?? 'icmp') === 'dns' ? 53 : 80),
    intervalMs: h?.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: h?.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
    downAfter: h?.downAfter ?? HEALTH_DEFAULTS.downAfter,
    upAfter: h?.upAfter ?? HEALTH_DEFAULTS.upAfter,
    quorum: h?.quorum ?? Math.max(1, Math.ceil(targets.length / 2)),
  };
}
