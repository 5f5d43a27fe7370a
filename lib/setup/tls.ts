// The names of the dashboard's certificate (pure): the router's LAN addresses (the configured LAN
// interfaces, or before any configuration the LAN that lib/setup/propose.ts would propose; all
// private addresses when none is found), its host name (+ ".local" for mDNS, ".lan"), localhost
// and loopback.
import type { MachineFacts } from './machine';
import { proposeConfig } from './propose';

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^[0-9a-fA-F:]{2,39}$/;

export interface CertNames {
  dns: string[];
  ips: string[];
}

export function certNames(m: MachineFacts, lanInterfaces: string[] | null): CertNames {
  const ifs = lanInterfaces ?? proposeConfig(m).lan.map((l) => l.interface);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const pick = (names: Set<string> | null) => {
    for (const i of m.interfaces) {
      if (i.linkType === 'loopback' || (names && !names.has(i.name))) continue;
      for (const a of i.addresses) {
        if (a.scope !== 'global') continue;
        if (a.family === 4 && /^\d+\.\d+\.\d+\.\d+$/.test(a.address)) {
          if (names || /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a.address)) ips.add(a.address);
        } else if (a.family === 6 && IPV6_RE.test(a.address) && (names || /^f[cd]/i.test(a.address))) ips.add(a.address.toLowerCase());
      }
    }
  };
  pick(ifs.length ? new Set(ifs) : null);
  const dns = new Set<string>(['localhost']);
  const host = m.hostname.trim();
  if (HOST_RE.test(host)) {
    dns.add(host);
    const short = host.split('.')[0];
    dns.add(short);
    dns.add(`${short}.local`);
    dns.add(`${short}.lan`);
  }
  return { dns: [...dns], ips: [...ips] };
}

/** The subjectAltName value openssl takes: "DNS:a,DNS:b,IP:1.2.3.4". Names are checked again here
 *  (they come from the host name and the kernel; they reach openssl as one argv element). */
export function subjectAltName(n: CertNames): string {
  const dns = n.dns.filter((d) => HOST_RE.test(d)).map((d) => `DNS:${d}`);
  const ips = n.ips.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) || IPV6_RE.test(a)).map((a) => `IP:${a}`);
  return [...dns, ...ips].join(',');
}
