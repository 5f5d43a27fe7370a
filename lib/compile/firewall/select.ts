// Chain `select` (regular, jumped to for new unmarked flows from the LAN and the router):
// policy rules, sticky pins, the source prefixes of native IPv6 LANs (a host's source address
// decides its uplink: the mark follows it, so failover cleanup by mark is right), then the
// weighted pick over the active uplinks — one pick for both families when the same uplinks take
// both, else one per family (`meta nfproto`). Each policy, pin or prefix sets the ct mark and
// returns, so pins refreshed after the pick only concern weighted picks.
// Policies apply when their uplink is usable (active or backup tier): a policy is an explicit
// admin choice.
import type { Policy } from '../../validations/config';
import { canonicalNet, familyOf } from '../../validations/net';
import type { UplinkPlan } from '../types';
import { comment, counterPolicy, hex32, setPin, setPin6 } from '../constants';
import { weightRanges } from '../routing';
import type { FirewallContext } from './context';
import { cnt, MASK, portStr } from './fragments';
import { pinUpdate } from './sets';

export function selectChain(ctx: FirewallContext): string[] {
  for (const p of ctx.config.policies) {
    if (!p.enabled || ctx.usable.has(p.uplink)) continue;
    const why = ctx.byName.get(p.uplink)!.reason?.detail ?? 'not active';
    ctx.warnings.push(`policy ${p.name}: uplink ${p.uplink} is not usable (${why}); policy skipped`);
  }
  for (const { policy: p, uplink: u } of ctx.policies) {
    if (policyFamily(p) === 6 && !ctx.usable6.has(u.name)) {
      ctx.warnings.push(`policy ${p.name}: uplink ${u.name} has no usable IPv6 (${u.v6?.reason?.detail ?? 'no ipv6 block'}); policy skipped`);
    }
  }
  const rules = ctx.policies.flatMap(({ policy, uplink }) => policyRule(ctx, policy, uplink));
  for (const u of ctx.pinned) {
    rules.push(`ip saddr @${setPin(u.id)} ct mark set ${hex32(u.mark)} ${pinUpdate(ctx, u.id)} return ${comment('pin', u.name)}`);
    if (ctx.pinned6.includes(u)) rules.push(`ip6 saddr @${setPin6(u.id)} ct mark set ${hex32(u.mark)} ${pinUpdate(ctx, u.id, 6)} return ${comment('pin', u.name)}`);
  }
  for (const l of ctx.lans6) {
    if (l.mode !== 'native') continue;
    for (const p of l.perUplink) rules.push(`ip6 saddr ${p.subnet} ct mark set ${hex32(p.uplink.mark)} return ${comment('prefix', `${l.name}-${p.uplink.name}`)}`);
  }
  rules.push(...weightedByFamily(ctx));
  if (ctx.fw.sticky === 'source') {
    // (nft adds `meta nfproto` to each: an `ip saddr` key only updates for IPv4 packets)
    const active6 = new Set(ctx.active6.map((u) => u.name));
    for (const u of [...ctx.active].sort((a, b) => a.id - b.id)) {
      rules.push(`ct mark and ${MASK} == ${hex32(u.mark)} ${pinUpdate(ctx, u.id)} ${comment('pin-refresh', u.name)}`);
    }
    for (const u of ctx.pinned6) {
      if (active6.has(u.name)) rules.push(`ct mark and ${MASK} == ${hex32(u.mark)} ${pinUpdate(ctx, u.id, 6)} ${comment('pin-refresh', u.name)}`);
    }
  }
  if (ctx.active.length === 0) ctx.warnings.push('no uplink is active: new connections follow the main routing table');
  return rules;
}

/** The weighted pick: shared when both families have the same active uplinks (or IPv6 none is
 *  configured), per family otherwise; IPv6 with no active uplink gets no mark (main table). */
function weightedByFamily(ctx: FirewallContext): string[] {
  const six = ctx.uplinks.some((u) => u.v6);
  const key = (l: readonly UplinkPlan[]) => l.map((u) => `${u.id}:${u.effectiveWeight ?? u.weight}`).sort().join();
  if (!six) return weighted(ctx.active, '');
  if (key(ctx.active) === key(ctx.active6)) return weighted(ctx.active, '');
  return [...weighted(ctx.active, 'meta nfproto ipv4 '), ...weighted(ctx.active6, 'meta nfproto ipv6 ', '-v6')];
}

/** The family a policy's addresses name (null: none given). */
function policyFamily(p: Policy): 4 | 6 | null {
  const given = [p.source, p.destination].filter((a): a is string => a !== undefined);
  return given.length === 0 ? null : given.some((a) => familyOf(a) === 6) ? 6 : 4;
}

/** A policy: one line. One without addresses, when IPv6 is configured, covers IPv6 only if its
 *  uplink's IPv6 is usable, and a sticky one renders one line per family (the pin is kept in the
 *  set of the packet's family). An IPv6 policy whose uplink has no usable IPv6 is skipped. */
function policyRule(ctx: FirewallContext, p: Policy, u: UplinkPlan): string[] {
  const fam = policyFamily(p);
  const six = ctx.usable6.has(u.name);
  const line = (f: 4 | 6 | null, pinFam: 4 | 6, only?: 4 | 6) => {
    const m: string[] = [];
    const kw = f === 6 ? 'ip6' : 'ip';
    if (only !== undefined) m.push(`meta nfproto ipv${only}`);
    if (p.source) m.push(`${kw} saddr ${canonicalNet(p.source)}`);
    if (p.destination) m.push(`${kw} daddr ${canonicalNet(p.destination)}`);
    if (p.protocol) m.push(p.port !== undefined ? `${p.protocol} dport ${portStr(p.port)}` : `meta l4proto ${p.protocol}`);
    m.push(cnt(counterPolicy(p.name)), `ct mark set ${hex32(u.mark)}`);
    if (p.sticky === 'source') m.push(pinUpdate(ctx, u.id, pinFam));
    m.push('return', comment('policy', p.name));
    return m.join(' ');
  };
  if (fam === 6) return six ? [line(6, 6)] : [];
  if (fam === 4) return [line(4, 4)];
  if (!ctx.six) return [line(null, 4)];
  if (!six) return [line(null, 4, 4)];
  return p.sticky === 'source' ? [line(null, 4, 4), line(null, 6, 6)] : [line(null, 4)];
}

/** The weighted pick: a constant mark for one active uplink, a numgen map for several. */
function weighted(active: readonly UplinkPlan[], match: string, tag = ''): string[] {
  if (active.length === 0) return [];
  if (active.length === 1) return [`${match}ct mark set ${hex32(active[0].mark)} ${comment('select', `weighted${tag}`)}`];
  const { total, ranges } = weightRanges(active);
  const map = ranges.map(([lo, hi, mark]) => `${lo === hi ? String(lo) : `${lo}-${hi}`} : ${hex32(mark)}`).join(', ');
  return [`${match}ct mark set numgen random mod ${total} map { ${map} } ${comment('select', `weighted${tag}`)}`];
}
