// Chain output (policy accept): admin rules, then the ICMP the router may send (firewall.icmpOut)
// and the ICMPv6 (firewall.icmpv6Out; neighbor discovery and MLD always).
import { comment, counterBuiltin } from '../constants';
import { anyOf } from '../nft';
import type { FirewallContext } from './context';
import { cnt } from './fragments';
import { MLD_TYPES, ND_TYPES } from './input';
import { adminRules } from './rules';

export function outputChain(ctx: FirewallContext): string[] {
  const { icmpOut, icmpv6Out } = ctx.fw;
  const allowed = icmpOut.length > 0 ? ` icmp type != ${anyOf([...icmpOut])}` : '';
  const allowed6 = anyOf([...icmpv6Out, ...ND_TYPES, ...MLD_TYPES]);
  return [
    ...adminRules(ctx, 'output'),
    `meta l4proto icmp${allowed} ${cnt(counterBuiltin('icmp-out-drop'))} drop ${comment('builtin', 'icmp-out')}`,
    `icmpv6 type != ${allowed6} ${cnt(counterBuiltin('icmpv6-out-drop'))} drop ${comment('builtin', 'icmpv6-out')}`,
  ];
}
