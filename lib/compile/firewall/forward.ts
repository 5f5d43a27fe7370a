// Chain forward (policy drop): conntrack state and bans, the ICMPv6 errors IPv6 needs end to
// end (RFC 4890), admin rules, port-forwarded IPv4 (DNAT) connections, IPv6 pinholes (the IPv6
// port forwards: no translation, an allow rule to the LAN host), LAN to uplinks, the default drop.
// The IPv4 DNAT accept is restricted to IPv4: NPTv6 translates every inbound IPv6 destination
// (ct status dnat), and that must not open the LAN — only pinholes do.
import { canonicalNet, familyOf } from '../../validations/net';
import { comment, counterBuiltin, counterPortForward } from '../constants';
import { anyOf, ifaces } from '../nft';
import type { FirewallContext } from './context';
import { filterHead, filterTail } from './filter';
import { cnt, portStr } from './fragments';
import { ICMPV6_ERRORS } from './input';
import { adminRules } from './rules';

export function forwardChain(ctx: FirewallContext): string[] {
  const { lanIfs, uplinkIfs } = ctx;
  const rules = [...filterHead(ctx, 'forward')];
  rules.push(`icmpv6 type ${anyOf([...ICMPV6_ERRORS])} ${cnt(counterBuiltin('icmpv6-fwd'))} accept ${comment('builtin', 'icmpv6-errors')}`);
  rules.push(...adminRules(ctx, 'forward'));
  rules.push(`meta nfproto ipv4 ct status dnat ${cnt(counterBuiltin('dnat'))} accept ${comment('builtin', 'dnat')}`);
  rules.push(...pinholes(ctx));
  if (lanIfs.length > 0 && uplinkIfs.length > 0) {
    rules.push(`iifname ${ifaces(lanIfs)} oifname ${ifaces(uplinkIfs)} ${cnt(counterBuiltin('lan-out'))} accept ${comment('builtin', 'lan-out')}`);
  }
  rules.push(...filterTail(ctx, 'forward'));
  return rules;
}

/** IPv6 port forwards: new connections from the uplinks to that LAN host and port. */
function pinholes(ctx: FirewallContext): string[] {
  const rules: string[] = [];
  for (const f of ctx.config.portForwards) {
    if (!f.enabled || familyOf(f.to) !== 6) continue;
    const ifs = ctx.ifsOf(f.uplinks);
    if (ifs.length === 0) continue; // warned in prerouting_nat
    const src = f.sources && f.sources.length > 0 ? ` ip6 saddr ${anyOf(f.sources.map((s) => canonicalNet(s)!))}` : '';
    rules.push(`iifname ${ifaces(ifs)}${src} ip6 daddr ${canonicalNet(f.to)} ${f.protocol} dport ${portStr(f.port)} ${cnt(counterPortForward(f.name))} accept ${comment('pinhole', f.name)}`);
  }
  return rules;
}
