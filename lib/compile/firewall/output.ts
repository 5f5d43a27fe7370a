// Chain output (policy accept): admin rules, then ICMP the router may send (firewall.icmpOut).
import { comment, counterBuiltin } from '../constants';
import { anyOf } from '../nft';
import type { FirewallContext } from './context';
import { cnt } from './fragments';
import { adminRules } from './rules';

export function outputChain(ctx: FirewallContext): string[] {
  const { icmpOut } = ctx.fw;
  const allowed = icmpOut.length > 0 ? ` icmp type != ${anyOf([...icmpOut])}` : '';
  return [...adminRules(ctx, 'output'), `meta l4proto icmp${allowed} ${cnt(counterBuiltin('icmp-out-drop'))} drop ${comment('builtin', 'icmp-out')}`];
}
