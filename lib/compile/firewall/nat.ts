// The NAT chains: prerouting_nat (IPv4 port forwards, DNAT; the NPTv6 inbound prefix
// translation) and postrouting_nat (IPv4 masquerade per uplink; NPTv6 outbound prefix
// translation, or masquerade to the uplink's own IPv6 address when the uplink has no prefix).
// IPv6 port forwards are pinholes (chain forward): no translation here.
import { canonicalNet, familyOf } from '../../validations/net';
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
    if (familyOf(f.to) === 6) continue; // a pinhole (chain forward)
    const src = f.sources && f.sources.length > 0 ? ` ip saddr ${anyOf(f.sources)}` : '';
    const to = f.toPort !== undefined ? `${f.to}:${f.toPort}` : f.to;
    rules.push(`iifname ${ifaces(ifs)}${src} ${f.protocol} dport ${portStr(f.port)} ${cnt(counterPortForward(f.name))} dnat ip to ${to} ${comment('forward', f.name)}`);
  }
  for (const l of ctx.lans6) {
    if (l.mode !== 'nptv6') continue;
    for (const p of l.perUplink) rules.push(`iifname "${p.uplink.interface}" ip6 daddr ${p.subnet} dnat ip6 prefix to ${l.prefix} ${comment('nptv6', `${l.name}-${p.uplink.name}`)}`);
  }
  return rules;
}

export function postroutingNat(ctx: FirewallContext): string[] {
  const rules = ctx.uplinksById.map((u) => `meta nfproto ipv4 oifname "${u.interface}" masquerade ${comment('masquerade', u.name)}`);
  for (const l of ctx.lans6) {
    if (l.mode !== 'nptv6') continue;
    const mapped = new Map(l.perUplink.map((p) => [p.uplink.name, p.subnet]));
    for (const u of ctx.uplinksById) {
      if (!u.v6) continue;
      const to = mapped.get(u.name);
      if (to) rules.push(`oifname "${u.interface}" ip6 saddr ${l.prefix} snat ip6 prefix to ${to} ${comment('nptv6', `${l.name}-${u.name}`)}`);
      else rules.push(`oifname "${u.interface}" ip6 saddr ${l.prefix} masquerade ${comment('masquerade6', `${l.name}-${u.name}`)}`);
    }
  }
  return rules;
}
