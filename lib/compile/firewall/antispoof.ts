// Chain antispoof (prerouting, after conntrack, before anything else of ours): packets arriving
// on an uplink whose source cannot be genuine are counted and dropped —
//  - the router's own addresses: `fib saddr type local` (covers every address the box has, both
//    families, including DHCP/SLAAC-learned ones and loopback, without listing them);
//  - the LAN networks and loopback (IPv4 and IPv6), from an explicit list (the router knows them);
//  - bogons (firewall.antiSpoof.bogons): networks not routed on the Internet, minus the uplinks'
//    own connected networks, prefixes and gateways, health targets, sources named in services and
//    the admin's exceptions — for NEW connections only: replies to connections the router or the
//    LAN opened, and ICMP errors conntrack relates to them, pass (ISP routers often send time
//    exceeded / fragmentation needed from private addresses; dropping those breaks PMTU discovery
//    and traceroute). A forged packet matches no connection of ours, so it is new (or invalid,
//    dropped in input/forward) and still dropped here. IPv6: ICMPv6 is not bogon-filtered
//    (neighbor discovery uses :: and link-local sources; link-local is not a bogon at all).
// Why not a strict reverse-path check (`fib saddr . iif oif missing`, rp_filter=1): with several
// uplinks, a reply or an inbound connection on uplink B has a source whose best route is often
// uplink A (the default route), so strict RPF drops genuine multi-uplink traffic; a loose check
// (`fib saddr oif missing`) drops nothing once a default route exists. The explicit lists say
// exactly what cannot arrive from outside.
import { comment, counterBuiltin, SET_BOGONS, SET_BOGONS6 } from '../constants';
import { anyOf, ifaces } from '../nft';
import type { FirewallContext } from './context';
import { cnt } from './fragments';
import { networkOf, parseCidr, cidrToString } from '../../validations/net';

/** IPv4 LAN networks (from the LAN interfaces' addresses). */
export function lanNetworks(ctx: FirewallContext): string[] {
  const nets = ctx.config.lan.map((l) => {
    const c = parseCidr(l.address, true)!;
    return cidrToString({ address: networkOf(c), prefix: c.prefix });
  });
  return [...new Set(nets)];
}

/** IPv6 LAN prefixes linkward manages (the NPTv6 prefixes, the native /64s). */
export function lanNetworks6(ctx: FirewallContext): string[] {
  return [...new Set(ctx.lans6.flatMap((l) => (l.mode === 'nptv6' ? [l.prefix!] : l.perUplink.map((p) => p.subnet))))];
}

export function antispoofChain(ctx: FirewallContext): string[] {
  const as = ctx.fw.antiSpoof;
  if (!as.enabled || ctx.uplinkIfs.length === 0) return [];
  const on = `iifname ${ifaces(ctx.uplinkIfs)}`;
  const spoofed = cnt(counterBuiltin('spoofed'));
  const rules = [
    `${on} fib saddr type local ${spoofed} drop ${comment('builtin', 'spoof-local')}`,
    `${on} ip saddr ${anyOf(['127.0.0.0/8', ...lanNetworks(ctx)])} ${spoofed} drop ${comment('builtin', 'spoof-lan')}`,
    `${on} ip6 saddr ${anyOf(['::1', ...lanNetworks6(ctx)])} ${spoofed} drop ${comment('builtin', 'spoof-lan6')}`,
  ];
  if (as.bogons && ctx.sets.some((s) => s.name === SET_BOGONS)) {
    rules.push(`${on} ip saddr @${SET_BOGONS} ct state new ${cnt(counterBuiltin('bogon'))} drop ${comment('builtin', 'bogon')}`);
  }
  if (as.bogons && ctx.sets.some((s) => s.name === SET_BOGONS6)) {
    rules.push(`${on} ip6 saddr @${SET_BOGONS6} ct state new meta l4proto != icmpv6 ${cnt(counterBuiltin('bogon'))} drop ${comment('builtin', 'bogon6')}`);
  }
  return rules;
}
