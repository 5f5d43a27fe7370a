// Kernel parameters the plan wants. Keys are sysctl(8) dotted paths; an interface name that
// contains '.' (VLAN "eth0.10") is written with '/' in that segment ("net.ipv4.conf.eth0/10.rp_filter"),
// which is how sysctl(8) and /proc/sys translation expect it.
import type { Config } from '../validations/config';
import type { Facts } from './types';

const RP: Record<Config['sysctl']['rpFilter'], string> = { off: '0', strict: '1', loose: '2' };

export const sysctlIfSegment = (ifname: string): string => ifname.replace(/\./g, '/');

const KEY_COMPONENT_RE = /^[A-Za-z0-9_/-]+$/;

/** A dotted sysctl key: at least two components of [A-Za-z0-9_/-], '/' standing for '.' inside
 *  a component (never empty, '.' or '..' once translated). */
export function isSysctlKey(key: string): boolean {
  if (key.length === 0 || key.length > 200) return false;
  const parts = key.split('.');
  if (parts.length < 2) return false;
  return parts.every((p) => KEY_COMPONENT_RE.test(p) && p.split('/').every((x) => x !== '' && x !== '.' && x !== '..'));
}

/** "net.ipv4.conf.eth0/100.rp_filter" → "/proc/sys/net/ipv4/conf/eth0.100/rp_filter" (for the agent).
 *  Throws on a key isSysctlKey refuses, so no path outside /proc/sys can come out. */
export function sysctlProcPath(key: string): string {
  if (!isSysctlKey(key)) throw new Error(`invalid sysctl key ${JSON.stringify(key)}`);
  return `/proc/sys/${key.split('.').map((seg) => seg.replace(/\//g, '.')).join('/')}`;
}

/** The kernel parameters of the plan. Per-interface keys only for interfaces that exist (a key
 *  of a missing interface cannot be written). IPv6: forwarding on (the LAN's IPv6 keeps working
 *  behind the firewall), router advertisements still accepted on the uplinks (accept_ra=2: the
 *  kernel ignores RAs once forwarding is on otherwise, and the IPv6 default route would expire),
 *  and not accepted on LANs the router advertises itself. Conntrack accounting on (bytes per flow). */
export function planSysctls(config: Config, facts?: Facts): Record<string, string> {
  const s = config.sysctl;
  const out: Record<string, string> = {
    'net.ipv4.ip_forward': '1',
    'net.ipv4.tcp_syncookies': s.syncookies ? '1' : '0',
    'net.ipv4.conf.all.rp_filter': RP[s.rpFilter],
    'net.ipv4.conf.all.log_martians': s.logMartians ? '1' : '0',
    'net.ipv4.icmp_echo_ignore_broadcasts': s.ignoreBroadcastPings ? '1' : '0',
    'net.ipv4.conf.all.accept_redirects': '0',
    'net.ipv4.conf.all.send_redirects': '0',
    'net.ipv4.conf.all.accept_source_route': '0',
  };
  out['net.netfilter.nf_conntrack_acct'] = '1';
  const exists = (i: string) => !facts || facts.interfaces[i]?.exists === true;
  const ifs = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)].filter(exists);
  for (const i of [...new Set(ifs)].sort()) out[`net.ipv4.conf.${sysctlIfSegment(i)}.rp_filter`] = RP[s.rpFilter];
  if (facts?.ipv6 !== false) {
    out['net.ipv6.conf.all.forwarding'] = '1';
    for (const u of config.uplinks) if (exists(u.interface)) out[`net.ipv6.conf.${sysctlIfSegment(u.interface)}.accept_ra`] = '2';
    for (const l of config.lan) if (l.ipv6?.ra !== undefined && l.ipv6.ra && exists(l.interface)) out[`net.ipv6.conf.${sysctlIfSegment(l.interface)}.accept_ra`] = '0';
  }
  // Sorted keys: deterministic JSON.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
