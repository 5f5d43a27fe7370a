// Chain prerouting_helper and the ct helper objects: new connections to a service with a
// conntrack helper (ftp, tftp, sip, irc) get that helper assigned on the service's interfaces.
import { comment, helperName } from '../constants';
import { ifaces } from '../nft';
import type { FirewallContext } from './context';
import { portStr } from './fragments';

export function preroutingHelper(ctx: FirewallContext): string[] {
  const rules: string[] = [];
  for (const s of ctx.config.services) {
    if (!s.enabled || !s.helper) continue;
    const ifs = [...ctx.ifsOf(s.uplinks), ...(s.lan ? ctx.lanIfs : [])];
    if (ifs.length === 0) continue;
    const h = helperName(s.helper, s.protocol);
    ctx.helpers.set(h, { name: h, type: s.helper, protocol: s.protocol });
    rules.push(`ct state new iifname ${ifaces(ifs)} ${s.protocol} dport ${portStr(s.port)} ct helper set "${h}" ${comment('helper', s.name)}`);
  }
  return rules;
}
