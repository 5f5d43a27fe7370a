// IPv6 planning (pure): which uplinks take new IPv6 connections, the LANs' IPv6 (NPTv6 or native
// prefixes), the addresses and router advertisements the agent keeps on the LANs, and the
// IPv6 routing tables and rules. See docs/ipv6.md for the two modes and their trade-offs.
//  - NPTv6 (RFC 6296): the LAN keeps one prefix; new connections get the weighted pick of the
//    IPv6-active uplinks (ct mark, `ip -6 rule fwmark … lookup 200+id`), and leave with the LAN
//    prefix translated to that uplink's prefix (`snat ip6 prefix to`); failover as for IPv4.
//  - native: every uplink's prefix gives the LAN a /64 (the `subnet`-th); hosts pick a source
//    address, source-specific rules (`ip -6 rule from <uplink prefix> lookup 200+id`) send it out
//    of its own uplink, and the prefix of a dead uplink is advertised deprecated (preferred
//    lifetime 0, RFC 8475) so new connections use the live ones.
import type { Config } from '../validations/config';
import { effectiveHealth } from '../validations/config';
import { parseCidr6, parseIPv6, formatIPv6, networkOf6, net6Text, isLinkLocal6 } from '../validations/net';
import type { AddrSpec, Facts, RaSpec, RouteSpec, RuleSpec, UplinkPlan, UplinkReason } from './types';
import { MARK_MASK, TABLE_FALLBACK, RULE_PRIO_FROM_BASE, RULE_PRIO_FROM_PREFIX_BASE, RULE_PRIO_FWMARK_BASE, RULE_PRIO_FALLBACK, RULE_PRIO_SUPPRESS_MAIN } from './constants';

const canon6 = (s: string): string => formatIPv6(parseIPv6(s)!);

/** The `index`-th /`len` inside `prefix` (text), or null when it does not fit. */
export function subnetOf(prefix: string, index: number, len = 64): string | null {
  const c = parseCidr6(prefix);
  if (!c || len < c.prefix || len > 128) return null;
  const room = len - c.prefix;
  if (room < 31 && index >= 2 ** room) return null;
  const addr = networkOf6(c) | (BigInt(index) << BigInt(128 - len));
  return net6Text({ address: addr, prefix: len });
}

/** The router's address in a /64: <prefix>::1. */
export const routerAddressIn = (subnet: string): string => {
  const c = parseCidr6(subnet)!;
  return `${formatIPv6(networkOf6(c) | 1n)}/${c.prefix}`;
};

/** Fill `v6` of every uplink with an `ipv6` block: address, gateway, prefix, active/reason. */
export function planUplinks6(config: Config, facts: Facts, uplinks: UplinkPlan[]): void {
  const cands: UplinkPlan[] = [];
  for (const u of config.uplinks) {
    if (!u.ipv6) continue;
    const p = uplinks.find((x) => x.name === u.name)!;
    const f = facts.interfaces[u.interface];
    const global = (f?.addresses6 ?? []).find((a) => a.scope === 'global' && !a.deprecated && !a.tentative);
    const gw = u.ipv6.gateway !== 'auto' ? canon6(u.ipv6.gateway) : f?.gateway6;
    const v6: NonNullable<UplinkPlan['v6']> = { active: false, reason: null };
    if (global) {
      v6.address = global.address;
      v6.net = net6Text({ address: parseIPv6(global.address)!, prefix: global.prefix });
    }
    if (gw) v6.gateway = gw;
    if (u.ipv6.prefix === 'auto') {
      const d = f?.delegated6?.find((x) => !x.lost) ?? f?.delegated6?.[0];
      const c = d ? parseCidr6(d.prefix) : null;
      if (c && c.prefix >= 32 && c.prefix <= 64) {
        v6.prefix = net6Text(c);
        if (d!.lost) v6.prefixLost = true;
      }
    } else if (u.ipv6.prefix) v6.prefix = net6Text(parseCidr6(u.ipv6.prefix)!);
    v6.reason = blocker6(p, gw, facts, u.name, effectiveHealth(u).targets.some((t) => parseIPv6(t) !== null));
    p.v6 = v6;
    if (v6.reason === null) cands.push(p);
  }
  const best = cands.length ? Math.min(...cands.map((p) => p.priority)) : 0;
  for (const p of cands) {
    if (p.priority !== best) p.v6!.reason = { code: 'backup', detail: `backup (priority ${p.priority})` };
    else p.v6!.active = true;
  }
  if (facts.ipv6 === false) for (const p of uplinks) if (p.v6) Object.assign(p.v6, { active: false, reason: { code: 'no-interface', detail: 'the kernel has no IPv6' } });
}

function blocker6(p: UplinkPlan, gw: string | undefined, facts: Facts, name: string, ownTargets: boolean): UplinkReason | null {
  const r = p.reason;
  if (r && ['disabled', 'draining', 'no-interface', 'interface-down', 'cap-reached'].includes(r.code)) return r;
  if (!gw) return { code: 'no-gateway', detail: 'no IPv6 gateway (no default route on the interface; router advertisements?)' };
  // Without IPv6 targets, IPv6 follows the IPv4 verdict (the same link).
  const h = ownTargets ? (facts.health6?.[name] ?? 'unknown') : (facts.health[name] ?? 'unknown');
  if (h === 'down') return { code: 'health-down', detail: ownTargets ? 'IPv6 down' : 'down' };
  return null;
}

export interface Lan6Plan {
  name: string;
  ifname: string;
  mode: 'nptv6' | 'native';
  ra: boolean;
  /** The LAN's own prefix (nptv6), canonical. */
  prefix?: string;
  /** Prefix per uplink with one (native: advertised; nptv6: translation target). */
  perUplink: { uplink: UplinkPlan; subnet: string }[];
}

/** The IPv6 of every LAN with an `ipv6` block. Warnings for prefixes that do not fit. */
export function planLans6(config: Config, uplinks: readonly UplinkPlan[], warnings: string[]): Lan6Plan[] {
  const out: Lan6Plan[] = [];
  for (const u of config.uplinks) {
    const p = uplinks.find((x) => x.name === u.name);
    if (u.ipv6?.prefix === 'auto' && p?.v6 && !p.v6.prefix) warnings.push(`uplink ${u.name}: no prefix delegated yet (DHCPv6-PD on ${u.interface})`);
    if (p?.v6?.prefixLost) warnings.push(`uplink ${u.name}: the delegated prefix ${p.v6.prefix} was lost (DHCPv6-PD); advertised deprecated`);
  }
  for (const l of config.lan) {
    if (!l.ipv6) continue;
    const own = l.ipv6.address ? net6Text({ ...parseCidr6(l.ipv6.address)!, address: networkOf6(parseCidr6(l.ipv6.address)!) }) : undefined;
    const len = l.ipv6.mode === 'nptv6' && own ? parseCidr6(own)!.prefix : 64;
    const perUplink: Lan6Plan['perUplink'] = [];
    for (const u of [...uplinks].sort((a, b) => a.id - b.id)) {
      if (!u.v6?.prefix) continue;
      if (l.ipv6.mode === 'nptv6' && u.v6.prefixLost) continue; // not a translation target any more: masquerade
      const subnet = subnetOf(u.v6.prefix, l.ipv6.subnet, len);
      if (subnet === null) {
        warnings.push(`lan ${l.name}: subnet ${l.ipv6.subnet} (a /${len}) does not fit in the prefix ${u.v6.prefix} of uplink ${u.name}`);
        continue;
      }
      perUplink.push({ uplink: u, subnet });
    }
    if (l.ipv6.mode === 'native' && perUplink.length === 0) warnings.push(`lan ${l.name}: native IPv6 needs an uplink with ipv6.prefix; no IPv6 prefix to advertise`);
    out.push({ name: l.name, ifname: l.interface, mode: l.ipv6.mode, ra: l.ipv6.ra, ...(own ? { prefix: own } : {}), perUplink });
  }
  return out;
}

/** Addresses the agent keeps on the LANs, the prefixes it owns addresses in, and the RAs. */
export function planLanAddresses(config: Config, lans: readonly Lan6Plan[]): { addresses: AddrSpec[]; scopes: string[]; ra: RaSpec[] } {
  const addresses: AddrSpec[] = [];
  const scopes = new Set<string>();
  const ra: RaSpec[] = [];
  for (const l of lans) {
    const cfg = config.lan.find((x) => x.name === l.name)!;
    if (l.mode === 'nptv6') {
      addresses.push({ dev: l.ifname, address: canonAddr(cfg.ipv6!.address!) });
      scopes.add(l.prefix!);
      if (l.ra) ra.push({ dev: l.ifname, prefixes: [{ prefix: l.prefix!, deprecated: false, uplink: null }] });
      continue;
    }
    for (const p of l.perUplink) {
      addresses.push({ dev: l.ifname, address: routerAddressIn(p.subnet) });
      scopes.add(p.uplink.v6!.prefix!);
    }
    if (l.ra && l.perUplink.length) {
      ra.push({ dev: l.ifname, prefixes: l.perUplink.map((p) => ({ prefix: p.subnet, deprecated: !p.uplink.v6!.active || p.uplink.v6!.prefixLost === true, uplink: p.uplink.name })) });
    }
  }
  // all configured uplink prefixes are scopes: a LAN address left in one by an earlier config is ours
  for (const u of config.uplinks) if (u.ipv6?.prefix && u.ipv6.prefix !== 'auto') scopes.add(net6Text(parseCidr6(u.ipv6.prefix)!));
  return { addresses, scopes: [...scopes].sort(), ra };
}

const canonAddr = (cidr: string): string => {
  const c = parseCidr6(cidr)!;
  return `${formatIPv6(c.address)}/${c.prefix}`;
};

/** IPv6 routes and rules: per uplink with a gateway its table 200+id (default via the gateway),
 *  table 200 over the IPv6-active uplinks, rules as for IPv4 plus `from <uplink prefix>` for
 *  native LANs (source-specific routing). */
export function planRoutes6(uplinks: readonly UplinkPlan[], lans: readonly Lan6Plan[]): { routes: RouteSpec[]; rules: RuleSpec[] } {
  const six = [...uplinks].filter((u) => u.v6).sort((a, b) => a.id - b.id);
  if (six.length === 0) return { routes: [], rules: [] };
  const routes: RouteSpec[] = [];
  const rules: RuleSpec[] = [{ family: 6, priority: RULE_PRIO_SUPPRESS_MAIN, table: 'main', suppressPrefixlength: 0 }];
  for (const u of six) {
    if (u.v6!.gateway) routes.push({ family: 6, table: u.table, dst: 'default', via: u.v6!.gateway, dev: u.interface });
  }
  const active = six.filter((u) => u.v6!.active && u.v6!.gateway);
  if (active.length === 1) routes.push({ family: 6, table: TABLE_FALLBACK, dst: 'default', via: active[0].v6!.gateway, dev: active[0].interface });
  else if (active.length > 1) {
    routes.push({ family: 6, table: TABLE_FALLBACK, dst: 'default', dev: active[0].interface, nexthops: active.map((u) => ({ via: u.v6!.gateway!, dev: u.interface, weight: u.weight })) });
  }
  for (const u of six) if (u.v6!.address) rules.push({ family: 6, priority: RULE_PRIO_FROM_BASE + u.id, table: u.table, from: u.v6!.address });
  for (const u of six) rules.push({ family: 6, priority: RULE_PRIO_FWMARK_BASE + u.id, table: u.table, fwmark: { value: u.mark, mask: MARK_MASK } });
  const native = new Set(lans.filter((l) => l.mode === 'native').flatMap((l) => l.perUplink.map((p) => p.uplink.name)));
  for (const u of six) if (u.v6!.prefix && !u.v6!.prefixLost && u.v6!.gateway && native.has(u.name)) rules.push({ family: 6, priority: RULE_PRIO_FROM_PREFIX_BASE + u.id, table: u.table, from: u.v6!.prefix });
  rules.push({ family: 6, priority: RULE_PRIO_FALLBACK, table: TABLE_FALLBACK });
  rules.sort((a, b) => a.priority - b.priority);
  return { routes, rules };
}

/** Is this IPv6 gateway link-local (then it is only meaningful with its device)? */
export const linkLocalGateway = (gw: string): boolean => isLinkLocal6(gw);
