// The mangle-priority chains: prerouting_mangle (uplink in counters, inbound marks, the LAN's
// jump to select, mark restore), output_route (the same for router-originated flows) and
// postrouting_mangle (uplink out counters, DSCP of lowDelay services).
import { CHAIN, comment, counterUplinkIn, counterUplinkOut, hex32, LOW_DELAY_DSCP } from '../constants';
import { ifaces } from '../nft';
import type { FirewallContext } from './context';
import { cnt, MASK, portStr, UNMARKED } from './fragments';

const RESTORE_MARK = `ct mark and ${MASK} != 0 meta mark set ct mark and ${MASK} ${comment('builtin', 'restore-mark')}`;

export function preroutingMangle(ctx: FirewallContext): string[] {
  const rules = ctx.uplinksById.map((u) => `iifname "${u.interface}" ${cnt(counterUplinkIn(u.id))} ${comment('uplink-in', u.name)}`);
  // Inbound connections on an uplink keep that uplink: replies and port forwards leave where they came in.
  for (const u of ctx.uplinksById) rules.push(`ct state new iifname "${u.interface}" ct mark set ${hex32(u.mark)} ${comment('inbound', u.name)}`);
  if (ctx.selecting && ctx.lanIfs.length > 0) {
    rules.push(`ct state new ${UNMARKED} iifname ${ifaces(ctx.lanIfs)} fib daddr type != local jump ${CHAIN.select} ${comment('builtin', 'select-lan')}`);
  }
  rules.push(RESTORE_MARK);
  return rules;
}

/** Router-originated flows whose source is an uplink address leave by that uplink (the ip rule
 *  `from <address>` outranks the fwmark rules): mark them so, or conntrack cleanup by mark would
 *  miss them when that uplink dies. Unbound sockets get their source from table 200, which holds
 *  only the active uplinks, so they follow failover too. */
export function outputRoute(ctx: FirewallContext): string[] {
  const rules = [`ct state new meta mark and ${MASK} != 0 ct mark set meta mark and ${MASK} ${comment('builtin', 'socket-mark')}`];
  for (const u of ctx.uplinksById) {
    if (u.address !== undefined) rules.push(`ct state new ${UNMARKED} ip saddr ${u.address} ct mark set ${hex32(u.mark)} ${comment('source', u.name)}`);
    if (u.v6?.address) rules.push(`ct state new ${UNMARKED} ip6 saddr ${u.v6.address} ct mark set ${hex32(u.mark)} ${comment('source6', u.name)}`);
  }
  if (ctx.selecting) rules.push(`ct state new ${UNMARKED} fib daddr type != local jump ${CHAIN.select} ${comment('builtin', 'select-local')}`);
  rules.push(RESTORE_MARK);
  return rules;
}

export function postroutingMangle(ctx: FirewallContext): string[] {
  const rules = ctx.uplinksById.map((u) => `oifname "${u.interface}" ${cnt(counterUplinkOut(u.id))} ${comment('uplink-out', u.name)}`);
  for (const s of ctx.config.services) {
    if (!s.enabled || !s.lowDelay) continue;
    const p = portStr(s.port);
    for (const kw of ['ip', 'ip6']) {
      rules.push(`${s.protocol} dport ${p} ${kw} dscp set ${LOW_DELAY_DSCP} ${comment('lowdelay', s.name)}`);
      rules.push(`${s.protocol} sport ${p} ${kw} dscp set ${LOW_DELAY_DSCP} ${comment('lowdelay', s.name)}`);
    }
  }
  return rules;
}
