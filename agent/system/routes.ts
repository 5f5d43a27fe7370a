// Routes in our tables (200..250) and ip rules in our priority range (10000..10999):
// read with `ip -j`, canonicalize, diff against the plan, apply only the delta.
// Routes/rules outside our tables/range are never touched.
import { z } from 'zod';
import type { RouteSpec, RuleSpec } from '../../lib/compile/types';
import { isIfname, parseCidr, cidrToString, networkOf, isIPv4, isIPv6, parseCidr6, net6Text, formatIPv6, parseIPv6 } from '../../lib/validations/net';
import { CommandError, type Runner } from './runner';
import { TABLE_MIN, TABLE_MAX, KERNEL_TABLES, isOurTable, isOurPriority, RULE_PRIO_MIN, RULE_PRIO_MAX } from '../../lib/compile/constants';

export { TABLE_MIN, TABLE_MAX, RESERVED_TABLES, isOurTable, isOurPriority } from '../../lib/compile/constants';

// ---------- routes ----------

const NexthopJson = z.object({
  gateway: z.string().optional(),
  dev: z.string().optional(),
  weight: z.number().optional(),
  flags: z.array(z.string()).optional(),
});
const RouteJson = z.looseObject({
  type: z.string().optional(),
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  table: z.union([z.string(), z.number()]).optional(),
  protocol: z.string().optional(),
  scope: z.string().optional(),
  prefsrc: z.string().optional(),
  metric: z.number().optional(),
  tos: z.union([z.string(), z.number()]).optional(),
  flags: z.array(z.string()).optional(),
  nexthops: z.array(NexthopJson).optional(),
});
export type KernelRoute = z.infer<typeof RouteJson>;

/** A route as read from the kernel, reduced to what we compare, plus what we need to delete it. */
export interface CurrentRoute {
  /** Address family (absent = 4). */
  family?: 6;
  table: number;
  type: string; // unicast, unreachable, blackhole, ...
  dst: string; // canonical: "default" or "a.b.c.d/n"
  dev?: string;
  via?: string;
  src?: string;
  scope: string;
  metric: number;
  tos?: string;
  nexthops?: { via: string; dev: string; weight: number }[];
}

export type RouteOp =
  | { op: 'replace'; route: RouteSpec; argv: string[] }
  | { op: 'delete'; route: CurrentRoute; argv: string[] };

function canonDst(dst: string): string {
  if (dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0') return 'default';
  const c = parseCidr(dst, true);
  if (c) return cidrToString({ address: networkOf(c), prefix: c.prefix });
  const c6 = parseCidr6(dst, true);
  if (c6) return net6Text(c6);
  return dst; // leave unknown shapes alone; they will simply never match
}

/** An address in canonical text (IPv6 per RFC 5952), unchanged when it is not one. */
const canonIp = (a: string): string => (isIPv6(a) ? formatIPv6(parseIPv6(a)!) : a);
const famFlag = (f: 6 | undefined) => (f === 6 ? '-6' : '-4');

function tableNum(t: string | number | undefined): number | null {
  if (t === undefined || t === 'main') return KERNEL_TABLES.main;
  if (t === 'local') return KERNEL_TABLES.local;
  if (t === 'default') return KERNEL_TABLES.default;
  const n = typeof t === 'number' ? t : /^[0-9]+$/.test(t) ? Number(t) : NaN;
  return Number.isInteger(n) ? n : null;
}

/** Pure: kernel JSON (`ip -j -4|-6 route show table all`) → our routes (tables 200..250 only). */
export function parseRoutes(text: string, family?: 6): CurrentRoute[] {
  const raw = text.trim() === '' ? [] : JSON.parse(text);
  const list = z.array(RouteJson).parse(raw);
  const out: CurrentRoute[] = [];
  for (const r of list) {
    const table = tableNum(r.table);
    if (table === null || !isOurTable(table)) continue;
    const cur: CurrentRoute = {
      ...(family === 6 ? { family } : {}),
      table,
      type: r.type ?? 'unicast',
      dst: canonDst(r.dst),
      scope: r.scope ?? 'global',
      metric: r.metric ?? 0,
    };
    if (r.dev !== undefined) cur.dev = r.dev;
    if (r.gateway !== undefined) cur.via = canonIp(r.gateway);
    if (r.prefsrc !== undefined) cur.src = canonIp(r.prefsrc);
    if (r.tos !== undefined && r.tos !== 0 && r.tos !== '0') cur.tos = String(r.tos);
    if (r.nexthops) cur.nexthops = r.nexthops.map((n) => ({ via: canonIp(n.gateway ?? ''), dev: n.dev ?? '', weight: n.weight ?? 1 }));
    out.push(cur);
  }
  return out;
}

function nhKey(n: { via?: string; dev: string; weight?: number }): string {
  return `${n.via ?? ''}@${n.dev}*${n.weight ?? 1}`;
}

/** Canonical comparable string; kernel-added decorations (protocol, flags such as onlink/linkdown/dead) are ignored. */
export function canonCurrentRoute(r: CurrentRoute): string {
  const nh = r.nexthops ? [...r.nexthops].map(nhKey).sort().join(',') : '';
  return [r.family ?? 4, r.table, r.type, r.dst, r.metric, r.tos ?? '', r.nexthops ? '' : (r.dev ?? ''), r.nexthops ? '' : (r.via ?? ''), r.src ?? '', r.scope, nh].join('|');
}

/** The metric the kernel gives a route added without one: IPv6 routes get 1024. */
const defaultMetric = (f: 6 | undefined) => (f === 6 ? 1024 : 0);

export function canonDesiredRoute(r: RouteSpec): string {
  const multipath = r.nexthops !== undefined && r.nexthops.length > 0;
  // iproute2 gives gateway-less unicast routes scope link; routes via a gateway are global
  const scope = r.scope ?? (r.via || multipath ? 'global' : 'link');
  const nh = multipath ? [...r.nexthops!].map((n) => nhKey({ ...n, via: canonIp(n.via) })).sort().join(',') : '';
  return [r.family ?? 4, r.table, 'unicast', canonDst(r.dst), defaultMetric(r.family), '', multipath ? '' : r.dev, multipath ? '' : canonIp(r.via ?? ''), r.src ? canonIp(r.src) : '', scope, nh].join('|');
}

function routeKey(family: 6 | undefined, table: number, dst: string, metric: number, tos = ''): string {
  return `${family ?? 4}|${table}|${canonDst(dst)}|${metric}|${tos}`;
}

function checkIf(dev: string): string {
  if (!isIfname(dev)) throw new Error(`invalid interface name ${JSON.stringify(dev)}`);
  return dev;
}
function checkIp(a: string, family?: 6): string {
  if (family === 6 ? !isIPv6(a) : !isIPv4(a)) throw new Error(`invalid IPv${family ?? 4} address ${JSON.stringify(a)}`);
  return family === 6 ? canonIp(a) : a;
}

/** argv for `ip route replace` of a desired route (validated: nothing odd reaches ip). */
export function routeReplaceArgv(r: RouteSpec): string[] {
  if (!isOurTable(r.table)) throw new Error(`route table ${r.table} outside ${TABLE_MIN}..${TABLE_MAX}`);
  const dst = canonDst(r.dst);
  if (dst !== 'default' && !(r.family === 6 ? parseCidr6(dst, false) : parseCidr(dst, false))) throw new Error(`invalid route dst ${JSON.stringify(r.dst)}`);
  const argv = ['ip', famFlag(r.family), 'route', 'replace', dst, 'table', String(r.table)];
  if (r.nexthops && r.nexthops.length > 0) {
    for (const n of r.nexthops) {
      if (!Number.isInteger(n.weight) || n.weight < 1 || n.weight > 256) throw new Error(`invalid nexthop weight ${n.weight}`);
      argv.push('nexthop', 'via', checkIp(n.via, r.family), 'dev', checkIf(n.dev), 'weight', String(n.weight));
      if (n.onlink) argv.push('onlink'); // gateway outside the interface's prefix (PPP/LTE /32)
    }
  } else {
    if (r.via) argv.push('via', checkIp(r.via, r.family));
    argv.push('dev', checkIf(r.dev));
    if (r.onlink && r.via) argv.push('onlink');
  }
  if (r.src) argv.push('src', checkIp(r.src, r.family));
  if (r.scope) argv.push('scope', r.scope === 'link' ? 'link' : 'global');
  return argv;
}

const ROUTE_TYPES = new Set(['unicast', 'unreachable', 'blackhole', 'prohibit', 'throw', 'local', 'broadcast', 'multicast', 'anycast', 'nat']);

/** argv for `ip route del` of a route read from the kernel (pinned by key, and by dev/via when single-path). */
export function routeDeleteArgv(r: CurrentRoute): string[] {
  const argv = ['ip', famFlag(r.family), 'route', 'del'];
  if (r.type !== 'unicast' && ROUTE_TYPES.has(r.type)) argv.push(r.type);
  argv.push(r.dst === 'default' ? 'default' : r.dst, 'table', String(r.table));
  if (r.tos && /^(0x)?[0-9a-fA-F]{1,2}$/.test(r.tos)) argv.push('tos', r.tos);
  if (r.metric !== 0) argv.push('metric', String(r.metric));
  if (!r.nexthops && r.type === 'unicast') {
    if (r.via && (r.family === 6 ? isIPv6(r.via) : isIPv4(r.via))) argv.push('via', r.via);
    if (r.dev && isIfname(r.dev)) argv.push('dev', r.dev);
  }
  return argv;
}

/**
 * Pure: operations that turn `current` (our tables only) into `desired`.
 * Unchanged plan → []. Replaces come first (no gap), then deletes of stale entries whose key
 * (table, dst, metric, tos) is not being overwritten by a replace.
 */
export function diffRoutes(current: CurrentRoute[], desired: RouteSpec[]): RouteOp[] {
  const have = new Map<string, number>();
  for (const c of current) {
    if (!isOurTable(c.table)) continue;
    const k = canonCurrentRoute(c);
    have.set(k, (have.get(k) ?? 0) + 1);
  }
  const ops: RouteOp[] = [];
  const replacedKeys = new Set<string>();
  const wanted = new Map<string, number>();
  const seenDesiredKeys = new Set<string>();
  for (const d of desired) {
    if (!isOurTable(d.table)) throw new Error(`route table ${d.table} outside ${TABLE_MIN}..${TABLE_MAX}`);
    const key = routeKey(d.family, d.table, d.dst, defaultMetric(d.family));
    if (seenDesiredKeys.has(key)) throw new Error(`two desired routes for table ${d.table} dst ${d.dst}`);
    seenDesiredKeys.add(key);
    const k = canonDesiredRoute(d);
    wanted.set(k, (wanted.get(k) ?? 0) + 1);
    const n = have.get(k) ?? 0;
    if (n > 0) {
      have.set(k, n - 1);
      continue;
    }
    ops.push({ op: 'replace', route: d, argv: routeReplaceArgv(d) });
    replacedKeys.add(key);
  }
  for (const c of current) {
    if (!isOurTable(c.table)) continue;
    const k = canonCurrentRoute(c);
    const n = wanted.get(k) ?? 0;
    if (n > 0) {
      wanted.set(k, n - 1);
      continue;
    }
    if (replacedKeys.has(routeKey(c.family, c.table, c.dst, c.metric, c.tos ?? ''))) continue;
    ops.push({ op: 'delete', route: c, argv: routeDeleteArgv(c) });
  }
  return ops;
}

// ---------- rules ----------

const RuleJson = z.looseObject({
  priority: z.number(),
  src: z.string().optional(),
  srclen: z.number().optional(),
  dst: z.string().optional(),
  dstlen: z.number().optional(),
  fwmark: z.string().optional(),
  fwmask: z.string().optional(),
  iif: z.string().optional(),
  oif: z.string().optional(),
  not: z.union([z.boolean(), z.null()]).optional(),
  table: z.string().optional(),
  suppress_prefixlen: z.number().optional(),
  action: z.string().optional(),
});

export interface CurrentRule {
  family?: 6;
  priority: number;
  table?: string; // "main", "201", ...
  from?: string; // canonical a.b.c.d/n
  to?: string;
  fwmark?: { value: number; mask: number };
  iif?: string;
  oif?: string;
  not?: boolean;
  suppressPrefixlength?: number;
  action?: string;
  /** Selectors we do not model (ipproto, ports, uidrange, tos, l3mdev, goto...), as JSON. */
  extra?: string;
}

export type RuleOp = { op: 'add'; rule: RuleSpec; argv: string[] } | { op: 'delete'; rule: CurrentRule; argv: string[] };

const RULE_KNOWN = new Set(['priority', 'src', 'srclen', 'dst', 'dstlen', 'fwmark', 'fwmask', 'iif', 'oif', 'not', 'table', 'suppress_prefixlen', 'action', 'flags', 'protocol']);

function canonTable(t: number | string): string {
  const n = tableNum(t);
  if (n === KERNEL_TABLES.main) return 'main';
  if (n === KERNEL_TABLES.local) return 'local';
  if (n === KERNEL_TABLES.default) return 'default';
  return n === null ? String(t) : String(n);
}

function hexNum(s: string): number {
  return Number.parseInt(s, s.startsWith('0x') ? 16 : 10) >>> 0;
}

/** "addr/len" of either family in canonical text (as parsed), or the raw text. */
function canonPrefix(addr: string, len: number | undefined, family?: 6): string {
  if (family === 6) {
    const c = parseCidr6(`${addr}/${len ?? 128}`, false);
    return c ? `${formatIPv6(c.address)}/${c.prefix}` : `${addr}/${len ?? 128}`;
  }
  const c = parseCidr(`${addr}/${len ?? 32}`, false);
  return c ? cidrToString(c) : `${addr}/${len ?? 32}`;
}

/** Pure: kernel JSON (`ip -j -4|-6 rule show`) → our rules (priority 10000..10999 only). */
export function parseRules(text: string, family?: 6): CurrentRule[] {
  const raw = text.trim() === '' ? [] : JSON.parse(text);
  const list = z.array(RuleJson).parse(raw);
  const out: CurrentRule[] = [];
  for (const r of list) {
    if (!isOurPriority(r.priority)) continue;
    const cur: CurrentRule = { ...(family === 6 ? { family } : {}), priority: r.priority };
    if (r.table !== undefined) cur.table = canonTable(r.table);
    if (r.src !== undefined && r.src !== 'all') cur.from = canonPrefix(r.src, r.srclen, family);
    if (r.dst !== undefined && r.dst !== 'all') cur.to = canonPrefix(r.dst, r.dstlen, family);
    if (r.fwmark !== undefined) cur.fwmark = { value: hexNum(r.fwmark), mask: r.fwmask !== undefined ? hexNum(r.fwmask) : 0xffffffff };
    if (r.iif !== undefined) cur.iif = r.iif;
    if (r.oif !== undefined) cur.oif = r.oif;
    if (r.not === true || r.not === null) cur.not = true;
    if (r.suppress_prefixlen !== undefined) cur.suppressPrefixlength = r.suppress_prefixlen;
    if (r.action !== undefined) cur.action = r.action;
    const extra = Object.fromEntries(Object.entries(r).filter(([k]) => !RULE_KNOWN.has(k)));
    if (Object.keys(extra).length > 0) cur.extra = JSON.stringify(extra);
    out.push(cur);
  }
  return out;
}

function fwKey(f?: { value: number; mask: number }): string {
  return f ? `${(f.value >>> 0).toString(16)}/${(f.mask >>> 0).toString(16)}` : '';
}

export function canonCurrentRule(r: CurrentRule): string {
  return [r.family ?? 4, r.priority, r.not ? 'not' : '', r.from ?? '', r.to ?? '', fwKey(r.fwmark), r.iif ?? '', r.oif ?? '', r.action ?? '', r.table ?? '', r.suppressPrefixlength ?? '', r.extra ?? ''].join('|');
}

function canonFrom(from: string | undefined, family?: 6): string {
  if (from === undefined) return '';
  if (family === 6) {
    const c6 = parseCidr6(from, true);
    if (!c6) throw new Error(`invalid rule from ${JSON.stringify(from)}`);
    return c6.prefix === 0 ? '' : `${formatIPv6(c6.address)}/${c6.prefix}`;
  }
  const c = parseCidr(from, true);
  if (!c) throw new Error(`invalid rule from ${JSON.stringify(from)}`);
  return c.prefix === 0 ? '' : cidrToString(c);
}

export function canonDesiredRule(r: RuleSpec): string {
  return [r.family ?? 4, r.priority, '', canonFrom(r.from, r.family), '', fwKey(r.fwmark), '', '', '', canonTable(r.table), r.suppressPrefixlength ?? '', ''].join('|');
}

function checkU32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`invalid ${what} ${n}`);
  return n;
}

export function ruleAddArgv(r: RuleSpec): string[] {
  if (!isOurPriority(r.priority)) throw new Error(`rule priority ${r.priority} outside ${RULE_PRIO_MIN}..${RULE_PRIO_MAX}`);
  const argv = ['ip', famFlag(r.family), 'rule', 'add', 'priority', String(r.priority)];
  const from = canonFrom(r.from, r.family);
  if (from) argv.push('from', from);
  if (r.fwmark) argv.push('fwmark', `0x${checkU32(r.fwmark.value, 'fwmark').toString(16)}/0x${checkU32(r.fwmark.mask, 'fwmask').toString(16)}`);
  if (r.table === 'main') argv.push('lookup', 'main');
  else {
    if (!Number.isInteger(r.table) || r.table < 1 || r.table > 0xfffffffe) throw new Error(`invalid rule table ${r.table}`);
    argv.push('lookup', String(r.table));
  }
  if (r.suppressPrefixlength !== undefined) {
    if (!Number.isInteger(r.suppressPrefixlength) || r.suppressPrefixlength < 0 || r.suppressPrefixlength > (r.family === 6 ? 128 : 32)) throw new Error('invalid suppress_prefixlength');
    argv.push('suppress_prefixlength', String(r.suppressPrefixlength));
  }
  return argv;
}

/** argv for deleting a rule read from the kernel, with every selector we model (so it hits that rule). */
export function ruleDeleteArgv(r: CurrentRule): string[] {
  const argv = ['ip', famFlag(r.family), 'rule', 'del', 'priority', String(r.priority)];
  const isNet = (x: string) => (r.family === 6 ? parseCidr6(x, false) : parseCidr(x, false)) !== null;
  if (r.not) argv.push('not');
  if (r.from && isNet(r.from)) argv.push('from', r.from);
  if (r.to && isNet(r.to)) argv.push('to', r.to);
  if (r.fwmark) argv.push('fwmark', `0x${r.fwmark.value.toString(16)}/0x${r.fwmark.mask.toString(16)}`);
  if (r.iif && isIfname(r.iif)) argv.push('iif', r.iif);
  if (r.oif && isIfname(r.oif)) argv.push('oif', r.oif);
  if (r.table && /^(main|local|default|[0-9]{1,10})$/.test(r.table)) argv.push('lookup', r.table);
  if (r.suppressPrefixlength !== undefined) argv.push('suppress_prefixlength', String(r.suppressPrefixlength));
  return argv;
}

/**
 * Pure: operations turning our current rules into the desired ones. Unchanged → [].
 * Order: deletes of rules with selectors we do not model (their delete argv may be ambiguous),
 * then adds, then the remaining deletes (so a changed rule never leaves a gap).
 */
export function diffRules(current: CurrentRule[], desired: RuleSpec[]): RuleOp[] {
  const have = new Map<string, number>();
  for (const c of current) {
    if (!isOurPriority(c.priority)) continue;
    const k = canonCurrentRule(c);
    have.set(k, (have.get(k) ?? 0) + 1);
  }
  const adds: RuleOp[] = [];
  const wanted = new Map<string, number>();
  for (const d of desired) {
    const argv = ruleAddArgv(d); // validates
    const k = canonDesiredRule(d);
    wanted.set(k, (wanted.get(k) ?? 0) + 1);
    const n = have.get(k) ?? 0;
    if (n > 0) have.set(k, n - 1);
    else adds.push({ op: 'add', rule: d, argv });
  }
  const early: RuleOp[] = [];
  const late: RuleOp[] = [];
  for (const c of current) {
    if (!isOurPriority(c.priority)) continue;
    const k = canonCurrentRule(c);
    const n = wanted.get(k) ?? 0;
    if (n > 0) {
      wanted.set(k, n - 1);
      continue;
    }
    const op: RuleOp = { op: 'delete', rule: c, argv: ruleDeleteArgv(c) };
    if (c.extra || c.action || c.not) early.push(op);
    else late.push(op);
  }
  return [...early, ...adds, ...late];
}

// ---------- I/O ----------

/** Our routes (tables 200..250) of both families (`ip -j -4|-6 route show table all`); no IPv6
 *  in the kernel (the -6 read fails): IPv4 only. */
export async function readRoutes(runner: Runner): Promise<CurrentRoute[]> {
  const [r4, r6] = await Promise.all([
    runner.run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']),
    runner.run(['ip', '-j', '-6', 'route', 'show', 'table', 'all'], { allowFail: true }),
  ]);
  return [...parseRoutes(r4.stdout), ...(r6.exitCode === 0 ? parseRoutes(r6.stdout, 6) : [])];
}

/** Our rules (priorities 10000..10999) of both families. */
export async function readRules(runner: Runner): Promise<CurrentRule[]> {
  const [r4, r6] = await Promise.all([
    runner.run(['ip', '-j', '-4', 'rule', 'show']),
    runner.run(['ip', '-j', '-6', 'rule', 'show'], { allowFail: true }),
  ]);
  return [...parseRules(r4.stdout), ...(r6.exitCode === 0 ? parseRules(r6.stdout, 6) : [])];
}

export class OpsError extends Error {
  readonly failures: { argv: string[]; stderr: string }[];
  constructor(what: string, failures: { argv: string[]; stderr: string }[]) {
    super(`${what}: ${failures.length} operation(s) failed: ${failures.map((f) => `${f.argv.join(' ')}: ${f.stderr.trim()}`).join('; ')}`);
    this.name = 'OpsError';
    this.failures = failures;
  }
}

async function runOps(runner: Runner, what: string, ops: { argv: string[] }[]): Promise<number> {
  const failures: { argv: string[]; stderr: string }[] = [];
  let done = 0;
  for (const op of ops) {
    try {
      await runner.run(op.argv);
      done++;
    } catch (e) {
      failures.push({ argv: op.argv, stderr: e instanceof CommandError ? e.stderr : String(e) });
    }
  }
  if (failures.length > 0) throw new OpsError(what, failures);
  return done;
}

/** Read, diff, apply the route delta. Every op is attempted; failures are thrown together (OpsError). */
export async function syncRoutes(runner: Runner, desired: RouteSpec[]): Promise<RouteOp[]> {
    const ops = diffRoutes(await readRoutes(runner), desired);
  await runOps(runner, 'routes', ops);
  return ops;
}

/** Read, diff, apply the ip rule delta. */
export async function syncRules(runner: Runner, desired: RuleSpec[]): Promise<RuleOp[]> {
    const ops = diffRules(await readRules(runner), desired);
  await runOps(runner, 'rules', ops);
  return ops;
}
