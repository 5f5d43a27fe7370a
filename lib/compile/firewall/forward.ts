// Chain forward (policy drop): bans and conntrack state, admin rules, port-forwarded (DNAT)
// connections, LAN to uplinks, the default drop.
import { comment, counterBuiltin } from '../constants';
import { ifaces } from '../nft';
import type { FirewallContext } from './context';
import { filterHead, filterTail } from './filter';
import { cnt } from './fragments';
import { adminRules } from './rules';

export function forwardChain(ctx: FirewallContext): string[] {
  const { lanIfs, uplinkIfs } = ctx;
  const rules = [...filterHead(ctx, 'forward'), ...adminRules(ctx, 'forward')];
  rules.push(`ct status dnat ${cnt(counterBuiltin('dnat'))} accept ${comment('builtin', 'dnat')}`);
  if (lanIfs.length > 0 && uplinkIfs.length > 0) {
    rules.push(`iifname ${ifaces(lanIfs)} oifname ${ifaces(uplinkIfs)} ${cnt(counterBuiltin('lan-out'))} accept ${comment('builtin', 'lan-out')}`);
  }
  rules.push(...filterTail(ctx, 'forward'));
  return rules;
}
