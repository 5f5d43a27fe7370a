// Kernel parameters the plan wants. Keys are sysctl(8) dotted paths; an interface name that
// contains '.' (VLAN "eth0.10") is written with '/' in that segment ("net.ipv4.conf.eth0/10.rp_filter"),
// which is how sysctl(8) and /proc/sys translation expect it.
import type { Config } from '../validations/config';

const RP: Record<Config['sysctl']['rpFilter'], string> = { off: '0', strict: '1', loose: '2' };

export const sysctlIfSegment = (ifname: string): string => ifname.replace(/\./g, '/');

/** Convert a dotted sysctl key to its /proc/sys path (for the agent). */
export function sysctlProcPath(key: string): string {
  return `/proc/sys/${key.split('.').map((seg) => seg.replace(/\//g, '.')).join('/')}`;
}

export function planSysctls(config: Config): Record<string, string> {
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
  const ifs = [...config.lan.map((l) => l.interface), ...config.uplinks.map((u) => u.interface)];
  for (const i of [...new Set(ifs)].sort()) out[`net.ipv4.conf.${sysctlIfSegment(i)}.rp_filter`] = RP[s.rpFilter];
  // Sorted keys: deterministic JSON.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
