// The NAT chains: prerouting_nat (port forwards, DNAT) and postrouting_nat (masquerade per uplink).
import { comment, counterPortForward } from '../constants';
import { anyOf, ifaces } from '../nft';
import type { FirewallContext } from './context';
import { cnt, portStr } from './fragments';

export function preroutingNat(ctx: FirewallContext): string[] {
  const rules: string[] = [];
  for (const f of ctx.config.portForwards) {
    if (!f.enabled) continue;
    const ifs = ctx.ifsOf(f.uplinks);
    if (ifs.length === 0) {
      ctx.warnings.push(`port forward ${f.name}: no uplink`);
      continue;
    }
    const src = f.sources && f.sources.length > 0 ? ` ip saddr ${anyOf(f.sources)}` : '';
    const to = f.toPort !== undefined ? `${f.to}:${f.toPort}` : f.to;
    rules.push(`iifname ${ifaces(ifs)}${src} ${f.protocol} dport ${portStr(f.port)} ${cnt(counterPortForward(f.name))} dnat ip to ${to} ${comment('forward', f.name)}`);
  }
  return rules;
}

export function postroutingNat(ctx: FirewallContext): string[] {
  return ctx.uplinksById.map((u) => `oifname "${u.interface}" masquerade ${comment('masquerade', u.name)}`);
}
