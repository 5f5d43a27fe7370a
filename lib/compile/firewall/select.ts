// Chain `select` (regular, jumped to for new unmarked flows from the LAN and the router):
// policy rules, sticky pins, then the weighted pick over the active uplinks. Each policy or pin
// sets the ct mark and returns, so pins refreshed after the pick only concern weighted picks.
// Policies apply when their uplink is usable (active or backup tier): a policy is an explicit
// admin choice.
import type { Policy } from '../../validations/config';
import type { UplinkPlan } from '../types';
import { comment, counterPolicy, hex32, setPin } from '../constants';
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
  const rules = ctx.policies.map(({ policy, uplink }) => policyRule(ctx, policy, uplink));
  for (const u of ctx.pinned) {
    rules.push(`ip saddr @${setPin(u.id)} ct mark set ${hex32(u.mark)} ${pinUpdate(ctx, u.id)} return ${comment('pin', u.name)}`);
  }
  rules.push(...weighted(ctx.active));
  if (ctx.fw.sticky === 'source') {
    for (const u of [...ctx.active].sort((a, b) => a.id - b.id)) {
      rules.push(`ct mark and ${MASK} == ${hex32(u.mark)} ${pinUpdate(ctx, u.id)} ${comment('pin-refresh', u.name)}`);
    }
  }
  if (ctx.active.length === 0) ctx.warnings.push('no uplink is active: new connections follow the main routing table');
  return rules;
}

function policyRule(ctx: FirewallContext, p: Policy, u: UplinkPlan): string {
  const m: string[] = [];
  if (p.source) m.push(`ip saddr ${p.source}`);
  if (p.destination) m.push(`ip daddr ${p.destination}`);
  if (p.protocol) m.push(p.port !== undefined ? `${p.protocol} dport ${portStr(p.port)}` : `meta l4proto ${p.protocol}`);
  m.push(cnt(counterPolicy(p.name)), `ct mark set ${hex32(u.mark)}`);
  if (p.sticky === 'source') m.push(pinUpdate(ctx, u.id));
  m.push('return', comment('policy', p.name));
  return m.join(' ');
}

/** The weighted pick: a constant mark for one active uplink, a numgen map for several. */
function weighted(active: readonly UplinkPlan[]): string[] {
  if (active.length === 0) return [];
  if (active.length === 1) return [`ct mark set ${hex32(active[0].mark)} ${comment('select', 'weighted')}`];
  const { total, ranges } = weightRanges(active);
  const map = ranges.map(([lo, hi, mark]) => `${lo === hi ? String(lo) : `${lo}-${hi}`} : ${hex32(mark)}`).join(', ');
  return [`ct mark set numgen random mod ${total} map { ${map} } ${comment('select', 'weighted')}`];
}
