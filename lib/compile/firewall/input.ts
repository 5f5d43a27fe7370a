// Chain input (policy drop): loopback, bans and conntrack state, anti-lockout, admin rules,
// ICMP allow-list, services, the rest of the LAN, port-scan detection, the default drop.
import { parsePortSpec } from '../../validations/net';
import { comment, counterBuiltin, counterService, SET_BANNED, SET_NEVER_BAN, SET_SCAN, SET_SCAN_PORTS } from '../constants';
import { anyOf, ifaces } from '../nft';
import type { FirewallContext } from './context';
import { filterHead, filterTail } from './filter';
import { cnt, portStr } from './fragments';
import { adminRules } from './rules';

export function inputChain(ctx: FirewallContext): string[] {
  const { fw, lanIfs } = ctx;
  const rules = [`iif "lo" accept ${comment('builtin', 'loopback')}`, ...filterHead(ctx, 'input'), ...antiLockout(ctx)];
  rules.push(...adminRules(ctx, 'input'));
  if (fw.icmpIn.length > 0) rules.push(`icmp type ${anyOf([...fw.icmpIn])} ${cnt(counterBuiltin('icmp-in'))} accept ${comment('builtin', 'icmp-in')}`);
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
    const src = s.sources && s.sources.length > 0 ? ` ip saddr ${anyOf(s.sources)}` : '';
    rules.push(`iifname ${ifaces(ifs)}${src} ${s.protocol} dport ${portStr(s.port)} ${cnt(counterService(s.name))} accept ${comment('service', s.name)}`);
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
  return [`iifname ${ifaces(ctx.uplinkIfs)} meta l4proto { tcp, udp } ct state new ${who} ${fresh} ${meter} add @${SET_BANNED} { ip saddr timeout ${ps.banSeconds}s } ${cnt(counterBuiltin('portscan'))} drop ${comment('builtin', 'portscan')}`];
}
