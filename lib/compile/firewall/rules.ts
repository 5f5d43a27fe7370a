// The admin rules of config.rules (chain input, forward or output), one renderer for all three.
import type { Rule } from '../../validations/config';
import { comment, counterRule, logPrefixRule, setAddressList } from '../constants';
import type { FirewallContext } from './context';
import { cnt, portStr } from './fragments';

/** Enabled rules of one chain, config order. */
export function adminRules(ctx: FirewallContext, chain: Rule['chain']): string[] {
  return ctx.config.rules.filter((r) => r.enabled && r.chain === chain).flatMap((r) => adminRule(ctx, r));
}

/** One rule; a rule bound to an uplink in forward gives two lines (in and out of that uplink). */
export function adminRule(ctx: FirewallContext, r: Rule): string[] {
  const tail = [...matches(r), cnt(counterRule(r.name)), ...(r.log ? [`log prefix "${logPrefixRule(r.name)}"`] : []), verdict(r), comment('rule', r.name)].join(' ');
  if (r.uplink === undefined) return [tail];
  const ifn = `"${ctx.byName.get(r.uplink)!.interface}"`;
  if (r.chain === 'input') return [`iifname ${ifn} ${tail}`];
  if (r.chain === 'output') return [`oifname ${ifn} ${tail}`];
  return [`iifname ${ifn} ${tail}`, `oifname ${ifn} ${tail}`];
}

function matches(r: Rule): string[] {
  const m: string[] = [];
  if (r.source) m.push(`ip saddr ${r.source}`);
  if (r.sourceList) m.push(`ip saddr @${setAddressList(r.sourceList)}`);
  if (r.destination) m.push(`ip daddr ${r.destination}`);
  if (r.destinationList) m.push(`ip daddr @${setAddressList(r.destinationList)}`);
  if (r.protocol === 'tcp' || r.protocol === 'udp') m.push(r.port !== undefined ? `${r.protocol} dport ${portStr(r.port)}` : `meta l4proto ${r.protocol}`);
  else if (r.protocol === 'icmp') m.push('meta l4proto icmp');
  return m;
}

function verdict(r: Rule): string {
  if (r.action !== 'reject') return r.action;
  return r.protocol === 'tcp' ? 'reject with tcp reset' : 'reject';
}
