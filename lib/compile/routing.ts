// Uplink selection (which uplinks take new connections), routing tables and ip rules.
import type { Config, Uplink } from '../validations/config';
import { parseIPv4, formatIPv4, maskOf } from '../validations/net';
import type { Facts, RouteSpec, RuleSpec, UplinkPlan, UplinkReason } from './types';
import {
  markOf, tableOf, MARK_MASK, TABLE_FALLBACK, RULE_PRIO_SUPPRESS_MAIN, RULE_PRIO_FROM_BASE,
  RULE_PRIO_FWMARK_BASE, RULE_PRIO_FALLBACK,
} from './constants';

interface Resolved {
  uplink: Uplink;
  address?: string;
  prefix?: number;
  gateway?: string;
  /** Why routes cannot be built (missing facts), or undefined. */
  missing?: UplinkReason;
}

function resolve(u: Uplink, facts: Facts): Resolved {
  const f = facts.interfaces[u.interface];
  if (!f || !f.exists) return { uplink: u, missing: { code: 'no-interface', detail: `interface ${u.interface} does not exist` } };
  // An administratively down interface has no routes and takes none (the kernel refuses them).
  if (!f.up) return { uplink: u, missing: { code: 'interface-down', detail: `interface ${u.interface} is down` } };
  const a = f.addresses.find((x) => parseIPv4(x.address) !== null && Number.isInteger(x.prefix) && x.prefix >= 0 && x.prefix <= 32);
  if (!a) return { uplink: u, missing: { code: 'no-address', detail: `no address on ${u.interface}` } };
  const gw = u.gateway !== 'auto' ? u.gateway : f.gateway !== undefined && parseIPv4(f.gateway) !== null ? f.gateway : undefined;
  if (gw === undefined) return { uplink: u, address: a.address, prefix: a.prefix, missing: { code: 'no-gateway', detail: 'no gateway' } };
  return { uplink: u, address: a.address, prefix: a.prefix, gateway: gw };
}

/** The unresolved-facts line of an uplink lacking facts. */
function unresolvedLine(u: Uplink, missing: UplinkReason): string {
  const what = missing.code === 'no-gateway' ? `no gateway known for ${u.interface} (gateway "auto")` : missing.detail;
  return `uplink ${u.name}: ${what}`;
}

/** Why an uplink cannot take connections whatever the tiers: config, then facts, then health. */
function blocker(r: Resolved, facts: Facts): UplinkReason | null {
  const u = r.uplink;
  if (!u.enabled) return { code: 'disabled', detail: 'disabled' };
  if (u.drain) return { code: 'draining', detail: 'draining' };
  if (r.missing) return r.missing;
  if ((facts.health[u.name] ?? 'unknown') === 'down') return { code: 'health-down', detail: 'down' };
  if (u.metered?.onCap === 'disable' && facts.overCap?.includes(u.name)) return { code: 'cap-reached', detail: 'data cap reached (onCap: disable)' };
  return null;
}

/** An uplink that takes new connections only when no other uplink can (issue 17): degraded with
 *  onDegraded last-resort, or over its data cap with onCap backup-only. The sentence, or null. */
function lastResort(u: Uplink, facts: Facts): string | null {
  if (facts.health[u.name] === 'degraded' && u.quality?.onDegraded === 'last-resort') return 'degraded: used only when no other uplink is up';
  if (u.metered?.onCap === 'backup-only' && facts.overCap?.includes(u.name)) return 'data cap reached: used only when no other uplink is up';
  return null;
}

/** Compute the UplinkPlan list (config order) and the unresolved facts. */
export function planUplinks(config: Config, facts: Facts): { uplinks: UplinkPlan[]; resolved: Resolved[]; unresolved: string[] } {
  const resolved = config.uplinks.map((u) => resolve(u, facts));
  const unresolved = resolved.flatMap((r) => (r.missing ? [unresolvedLine(r.uplink, r.missing)] : []));
  const pre = resolved.map((r) => ({ r, reason: blocker(r, facts), last: lastResort(r.uplink, facts) }));
  // Last-resort uplinks are candidates only when no other uplink is.
  const regular = pre.filter((p) => p.reason === null && p.last === null);
  const candidates = regular.length ? regular : pre.filter((p) => p.reason === null);
  const best = candidates.length ? Math.min(...candidates.map((p) => p.r.uplink.priority)) : 0;
  const uplinks = pre.map(({ r, reason, last }): UplinkPlan => {
    const u = r.uplink;
    const why: UplinkReason | null = reason
      ?? (last !== null && regular.length ? { code: 'last-resort', detail: last } : null)
      ?? (u.priority !== best ? { code: 'backup', detail: `backup (priority ${u.priority})` } : null);
    const p: UplinkPlan = {
      name: u.name, id: u.id, interface: u.interface, table: tableOf(u.id), mark: markOf(u.id),
      priority: u.priority, weight: u.weight, active: why === null, reason: why,
    };
    if (facts.health[u.name] === 'degraded') p.degraded = true;
    if (r.address !== undefined) { p.address = r.address; p.prefix = r.prefix; }
    if (r.gateway !== undefined) p.gateway = r.gateway;
    return p;
  });
  halveDegraded(uplinks, new Map(config.uplinks.map((u) => [u.name, u])));
  return { uplinks, resolved, unresolved };
}

/** Degraded active uplinks (onDegraded half-weight) next to healthy active ones get half their
 *  share: the healthy ones' effective weight doubles (nft numgen needs integers). */
function halveDegraded(uplinks: UplinkPlan[], cfg: Map<string, Uplink>): void {
  const active = uplinks.filter((u) => u.active);
  const halved = (u: UplinkPlan) => u.degraded === true && (cfg.get(u.name)?.quality?.onDegraded ?? 'half-weight') === 'half-weight';
  if (!active.some(halved) || active.every(halved)) return;
  for (const u of active) if (!halved(u)) u.effectiveWeight = u.weight * 2;
}

/** The weight the weighted pick uses. */
export const weightOf = (u: Pick<UplinkPlan, 'weight' | 'effectiveWeight'>): number => u.effectiveWeight ?? u.weight;

/** Uplinks a policy may pin to: active, or healthy in a backup tier or as a last resort. */
export const isUsable = (u: Pick<UplinkPlan, 'active' | 'reason'>): boolean => u.active || u.reason?.code === 'backup' || u.reason?.code === 'last-resort';

/** Routes: per-uplink tables for every uplink with address (+ default when the gateway is known),
 *  table 200 = multipath default over the active uplinks (single route if one, none if none).
 *  For the multipath route `dev` is the first nexthop's device and `via` is unset. */
export function planRoutes(uplinks: UplinkPlan[]): { routes: RouteSpec[]; rules: RuleSpec[] } {
  const routes: RouteSpec[] = [];
  const rules: RuleSpec[] = [{ priority: RULE_PRIO_SUPPRESS_MAIN, table: 'main', suppressPrefixlength: 0 }];
  const sorted = [...uplinks].sort((a, b) => a.id - b.id);
  for (const u of sorted) {
    if (u.address === undefined || u.prefix === undefined) continue;
    const net = (parseIPv4(u.address)! & maskOf(u.prefix)) >>> 0;
    if (u.gateway !== undefined) {
      const r: RouteSpec = { table: u.table, dst: 'default', via: u.gateway, dev: u.interface };
      if (((parseIPv4(u.gateway)! & maskOf(u.prefix)) >>> 0) !== net) r.onlink = true;
      routes.push(r);
    }
    routes.push({ table: u.table, dst: `${formatIPv4(net)}/${u.prefix}`, dev: u.interface, scope: 'link', src: u.address });
  }
  const active = sorted.filter((u) => u.active && u.gateway !== undefined);
  if (active.length === 1) {
    const own = routes.find((r) => r.table === active[0].table && r.dst === 'default')!;
    routes.push({ ...own, table: TABLE_FALLBACK });
  } else if (active.length > 1) {
    routes.push({
      table: TABLE_FALLBACK, dst: 'default', dev: active[0].interface,
      nexthops: active.map((u) => {
        const own = routes.find((r) => r.table === u.table && r.dst === 'default')!;
        return { via: u.gateway!, dev: u.interface, weight: weightOf(u), ...(own.onlink ? { onlink: true } : {}) };
      }),
    });
  }
  for (const u of sorted) {
    if (u.address !== undefined) rules.push({ priority: RULE_PRIO_FROM_BASE + u.id, table: u.table, from: u.address });
  }
  for (const u of sorted) {
    rules.push({ priority: RULE_PRIO_FWMARK_BASE + u.id, table: u.table, fwmark: { value: u.mark, mask: MARK_MASK } });
  }
  rules.push({ priority: RULE_PRIO_FALLBACK, table: TABLE_FALLBACK });
  rules.sort((a, b) => a.priority - b.priority);
  return { routes, rules };
}

/** Weighted selection map for numgen: [lo, hi, mark] ranges over 0..Σweights-1 (uplink id order). */
export function weightRanges(active: readonly { id: number; weight: number; effectiveWeight?: number }[]): { total: number; ranges: [number, number, number][] } {
  const sorted = [...active].sort((a, b) => a.id - b.id);
  let lo = 0;
  const ranges: [number, number, number][] = [];
  for (const u of sorted) {
    const w = weightOf(u);
    ranges.push([lo, lo + w - 1, markOf(u.id)]);
    lo += w;
  }
  return { total: lo, ranges };
}
