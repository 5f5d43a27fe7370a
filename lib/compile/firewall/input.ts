// Chain input (policy drop): loopback, conntrack state and bans, the ICMPv6 IPv6 cannot live
// without (RFC 4890) and DHCPv6 client replies, anti-lockout, admin rules, ICMP allow-lists,
// services, the rest of the LAN, port-scan detection (IPv4 per address, IPv6 per /64), the
// default drop.
import { parsePortSpec } from '../../validations/net';
import {
  comment, counterBuiltin, counterService, SADDR64, SET_BANNED, SET_BANNED6, SET_NEVER_BAN, SET_NEVER_BAN6, SET_SCAN, SET_SCAN6,
  SET_SCAN_PORTS, SET_SCAN_PORTS6,
} from '../constants';
import { anyOf, ifaces } from '../nft';
import type { FirewallContext } from './context';
import { filterHead, filterTail } from './filter';
import { addrMatches, cnt, portStr } from './fragments';
import { adminRules } from './rules';

/** Neighbor discovery (only from the link itself: hop limit 255), MLD (link-local or
 *  unspecified sources) and the ICMPv6 errors are always accepted — without them IPv6 stops
 *  working on every interface the moment input has policy drop. */
export const ND_TYPES = ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert'] as const;
export const MLD_TYPES = ['mld-listener-query', 'mld-listener-report', 'mld-listener-done', 'mld2-listener-report'] as const;
export const ICMPV6_ERRORS = ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'] as const;

export function icmpv6Essentials(ctx: FirewallContext): string[] {
  const c = cnt(counterBuiltin('icmpv6-in'));
  const rules = [
    `icmpv6 type ${anyOf([...ND_TYPES])} ip6 hoplimit 255 ${c} accept ${comment('builtin', 'nd')}`,
    `icmpv6 type ${anyOf([...MLD_TYPES])} ip6 saddr { ::, fe80::/10 } ${c} accept ${comment('builtin', 'mld')}`,
    `icmpv6 type ${anyOf([...ICMPV6_ERRORS])} ${c} accept ${comment('builtin', 'icmpv6-errors')}`,
  ];
  if (ctx.uplinkIfs.length > 0) rules.push(`iifname ${ifaces(ctx.uplinkIfs)} udp sport 547 udp dport 546 ip6 daddr fe80::/10 ${c} accept ${comment('builtin', 'dhcpv6-client')}`);
  return rules;
}

export function inputChain(ctx: FirewallContext): string[] {
  const { fw, lanIfs } = ctx;
  const rules = [`iif "lo" accept ${comment('builtin', 'loopback')}`, ...filterHead(ctx, 'input'), ...icmpv6Essentials(ctx), ...antiLockout(ctx)];
  rules.push(...adminRules(ctx, 'input'));
  if (fw.icmpIn.length > 0) rules.push(`icmp type ${anyOf([...fw.icmpIn])} ${cnt(counterBuiltin('icmp-in'))} accept ${comment('builtin', 'icmp-in')}`);
  const echo6 = fw.icmpv6In.includes('echo-request');
  const other6 = fw.icmpv6In.filter((t) => t !== 'echo-request' && !(ICMPV6_ERRORS as readonly string[]).includes(t));
  if (echo6) rules.push(`icmpv6 type echo-request limit rate 20/second burst 50 packets ${cnt(counterBuiltin('icmpv6-in'))} accept ${comment('builtin', 'icmpv6-echo')}`);
  if (other6.length > 0) rules.push(`icmpv6 type ${anyOf(other6)} ${cnt(counterBuiltin('icmpv6-in'))} accept ${comment('builtin', 'icmpv6-in')}`);
  rules.push(...services(ctx));
  if (lanIfs.length > 0) rules.push(`iifname ${ifaces(lanIfs)} ${cnt(counterBuiltin('lan-in'))} accept ${comment('builtin', 'lan-in')}`);
  rules.push(...portScan(ctx), ...filterTail(ctx, 'input'));
  return rules;
}

/** The dashboard port (and SSH when a service exposes port 22) stay reachable from the LAN,
 *  ahead of any admin rule, unless firewall.allowLockout. */
function antiLockout(ctx: FirewallContext): string[] {
  const { fw, lanIfs } = ctx;
  if (fw.allowLockout || lanIfs.length === 0) return [];
  const ports = [fw.dashboardPort];
  const coversSsh = (port: number | string) => {
    const r = parsePortSpec(port);
    return r !== null && r[0] <= 22 && 22 <= r[1];
  };
  const ssh = ctx.config.services.some((s) => s.enabled && s.protocol === 'tcp' && coversSsh(s.port));
  if (ssh && fw.dashboardPort !== 22) ports.push(22);
  return [`iifname ${ifaces(lanIfs)} tcp dport ${anyOf(ports.map(String))} ${cnt(counterBuiltin('antilockout'))} accept ${comment('builtin', 'antilockout')}`];
}

function services(ctx: FirewallContext): string[] {
  const rules: string[] = [];
  for (const s of ctx.config.services) {
    if (!s.enabled) continue;
    const ifs = [...ctx.ifsOf(s.uplinks), ...(s.lan ? ctx.lanIfs : [])];
    if (ifs.length === 0) {
      ctx.warnings.push(`service ${s.name}: no interface to listen on`);
      continue;
    }
    // sources restrict per family: one line per family they name (a family not named is not allowed)
    const srcs = s.sources && s.sources.length > 0 ? addrMatches('saddr', s.sources).map((m) => ` ${m.match}`) : [''];
    for (const src of srcs) rules.push(`iifname ${ifaces(ifs)}${src} ${s.protocol} dport ${portStr(s.port)} ${cnt(counterService(s.name))} accept ${comment('service', s.name)}`);
  }
  return rules;
}

/** Port-scan detection on the uplinks, for new TCP/UDP connections that no rule or service
 *  accepted (closed ports): each (source, interface, port) is remembered for `seconds`; only a
 *  port not seen yet feeds the per-source meter, so a source is banned after probing more than
 *  `ports` DISTINCT closed ports within `seconds` — a host retrying one port is not a scanner.
 *  Never banned: lw_never_ban (LAN, router, gateways, probe targets, service sources, neverBan)
 *  and the router's own addresses. */
function portScan(ctx: FirewallContext): string[] {
  const ps = ctx.fw.portScan;
  if (!ps.enabled || ctx.uplinkIfs.length === 0) return [];
  const perMinute = Math.max(1, Math.ceil((ps.ports * 60) / ps.seconds));
  const key = 'ip saddr . iifname . th dport';
  const fresh = `${key} != @${SET_SCAN_PORTS} add @${SET_SCAN_PORTS} { ${key} }`;
  const meter = `update @${SET_SCAN} { ip saddr limit rate over ${perMinute}/minute burst ${ps.ports} packets }`;
  const who = `ip saddr != @${SET_NEVER_BAN} fib saddr type != local`;
  const on = `iifname ${ifaces(ctx.uplinkIfs)} meta l4proto { tcp, udp } ct state new`;
  const c = `${cnt(counterBuiltin('portscan'))} drop`;
  // IPv6: per /64 (a host has many addresses in its /64, and can pick new ones at will)
  const key6 = `${SADDR64} . iifname . th dport`;
  const fresh6 = `${key6} != @${SET_SCAN_PORTS6} add @${SET_SCAN_PORTS6} { ${key6} }`;
  const meter6 = `update @${SET_SCAN6} { ${SADDR64} limit rate over ${perMinute}/minute burst ${ps.ports} packets }`;
  const who6 = `ip6 saddr != @${SET_NEVER_BAN6} fib saddr type != local`;
  return [
    `${on} ${who} ${fresh} ${meter} add @${SET_BANNED} { ip saddr timeout ${ps.banSeconds}s } ${c} ${comment('builtin', 'portscan')}`,
    `${on} ${who6} ${fresh6} ${meter6} add @${SET_BANNED6} { ${SADDR64} timeout ${ps.banSeconds}s } ${c} ${comment('builtin', 'portscan6')}`,
  ];
}
