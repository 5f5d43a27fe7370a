// First-run proposal (pure): from what the machine looks like (lib/setup/machine.ts) to a
// configuration document (the JSON `linkward import` takes), with a plain-language summary and
// the list of what is left as it is. Used by `linkward init` and the dashboard's /setup/network.
//
// Rules, per interface that could carry traffic (not loopback, not a bridge/bond port, not a
// container/VPN/tunnel device):
//   uplink — it has a default route in the main table, or a DHCP lease (dynamic address or a
//            "proto dhcp" route), or a public or CGNAT IPv4 address;
//            gateway "auto" when the default route came from DHCP (the agent follows the lease),
//            the peer of a point-to-point /32 (PPP), else the default route's gateway;
//   LAN    — a private IPv4 address (RFC 1918) and none of the above;
//   else   — listed as left alone (no IPv4 address, down, or an address we cannot place).
// Nothing of the host is changed by applying the proposal except what linkward owns: the
// existing default routes, DNS servers and other firewalls' tables stay (they are listed).
import type { ConfigInput } from '../validations/config';
import { parseConfig } from '../validations/config';
import { parseIPv4, parseCidr, cidrContains, formatIPv4, maskOf } from '../validations/net';
import type { MachineFacts, MachineIface, MachineRoute } from './machine';

/** Health probe targets proposed for every uplink: public anycast resolvers (answer ping from
 *  anywhere), so an uplink whose modem is up but has no Internet is taken out. An uplink without
 *  targets would never pass a health round (agent/health/state.ts) and stay down. */
export const DEFAULT_HEALTH_TARGETS = ['1.1.1.1', '9.9.9.9', '8.8.8.8'];

export interface ProposeOptions {
  /** firewall.dashboardPort (the package serves HTTPS on 443; a checkout 3000). */
  dashboardPort?: number;
  /** Health probe targets for every uplink (default DEFAULT_HEALTH_TARGETS). */
  healthTargets?: string[];
}

export interface ProposedUplink {
  name: string;
  interface: string;
  address: string;
  gateway: string;
  why: string;
}

export interface Proposal {
  /** The document `linkward import` takes (validated: parseConfig accepts it). */
  config: ConfigInput;
  lan: { name: string; interface: string; address: string; why: string }[];
  uplinks: ProposedUplink[];
  /** Interfaces not used, with the reason. */
  ignored: { interface: string; why: string }[];
  /** What stays as it is on the machine. */
  kept: { defaultRoutes: string[]; dns: string[]; nftTables: string[]; iptablesTables: string[] };
  /** Plain-language summary, one sentence per line. */
  summary: string[];
  warnings: string[];
}

const cidr = (s: string) => parseCidr(s)!;
const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(cidr);
const CGNAT = cidr('100.64.0.0/10');
const NOT_PUBLIC = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '192.0.0.0/24', '224.0.0.0/3'].map(cidr);

export function ipv4Class(a: string): 'private' | 'cgnat' | 'public' | 'other' {
  const x = parseIPv4(a);
  if (x === null) return 'other';
  if (RFC1918.some((c) => cidrContains(c, x))) return 'private';
  if (cidrContains(CGNAT, x)) return 'cgnat';
  if (NOT_PUBLIC.some((c) => cidrContains(c, x))) return 'other';
  return 'public';
}

/** Interfaces that are never a LAN or an uplink of the router (containers, VPNs, tunnels...). */
const FOREIGN_KINDS = new Set(['wireguard', 'tun', 'tap', 'ipip', 'gre', 'gretap', 'sit', 'ip6tnl', 'vxlan', 'geneve', 'dummy', 'ifb', 'vti', 'xfrm', 'nlmon', 'macvtap']);
const FOREIGN_NAMES = /^(docker\d*|br-[0-9a-f]{12}|virbr\d+(-nic)?|lxcbr\d+|lxdbr\d+|cni\d*|flannel\.\d+|cali[0-9a-f]+|vnet\d+|tailscale\d*|zt[a-z0-9]+|podman\d+)$/;

/** A config name (^[a-z][a-z0-9-]{0,23}$) from an interface name. */
function nameFrom(ifname: string, used: Set<string>, fallback: string): string {
  let n = ifname.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(n)) n = `${fallback}-${n}`;
  n = n.slice(0, 24).replace(/-+$/, '');
  if (!/^[a-z][a-z0-9-]{0,23}$/.test(n) || used.has(n)) {
    let i = 1;
    while (used.has(`${fallback}${i}`)) i++;
    n = `${fallback}${i}`;
  }
  used.add(n);
  return n;
}

function skipReason(i: MachineIface): string | null {
  if (i.linkType === 'loopback') return 'loopback';
  if (i.master) return `port of ${i.master}`;
  if (FOREIGN_KINDS.has(i.kind)) return `${i.kind} interface (VPN, tunnel or virtual device): not touched`;
  if (FOREIGN_NAMES.test(i.name)) return 'container or VM network: not touched';
  return null;
}

const fmtRoute = (r: MachineRoute) =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.protocol ? ` proto ${r.protocol}` : ''}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`;

export function proposeConfig(m: MachineFacts, opts: ProposeOptions = {}): Proposal {
  const targets = opts.healthTargets?.length ? opts.healthTargets : DEFAULT_HEALTH_TARGETS;
  const lan: Proposal['lan'] = [];
  const uplinks: ProposedUplink[] = [];
  const ignored: Proposal['ignored'] = [];
  const warnings: string[] = [];
  const names = new Set<string>();
  const defaults4 = m.routes.filter((r) => r.family === 4 && r.dst === 'default');
  const lanCandidates: { i: MachineIface; a: { address: string; prefix: number } }[] = [];

  for (const i of [...m.interfaces].sort((a, b) => a.name.localeCompare(b.name))) {
    const skip = skipReason(i);
    if (skip) {
      if (skip !== 'loopback' && !skip.startsWith('port of')) ignored.push({ interface: i.name, why: skip });
      continue;
    }
    const v4 = i.addresses.filter((a) => a.family === 4 && a.scope !== 'host');
    const def = defaults4.filter((r) => r.dev === i.name).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
    const dhcpRoute = m.routes.some((r) => r.family === 4 && r.dev === i.name && r.protocol === 'dhcp');
    const a = v4.find((x) => x.scope === 'global') ?? v4[0];
    if (!a) {
      ignored.push({ interface: i.name, why: i.up ? 'no IPv4 address' : 'down, no IPv4 address' });
      continue;
    }
    const cls = ipv4Class(a.address);
    const dhcp = dhcpRoute || a.dynamic;
    if (def || dhcp || cls === 'public' || cls === 'cgnat') {
      let gateway: string;
      let how: string;
      if (dhcp) {
        gateway = 'auto';
        how = 'gateway from the DHCP lease ("auto")';
      } else if (a.peer && parseIPv4(a.peer) !== null && (!def?.gateway || def.gateway === a.peer)) {
        gateway = a.peer;
        how = `point-to-point link: gateway is the peer ${a.peer}`;
      } else if (def?.gateway && parseIPv4(def.gateway) !== null) {
        gateway = def.gateway;
        how = `gateway ${def.gateway} from the default route`;
      } else {
        gateway = 'auto';
        how = 'no gateway found: "auto" (set it on the uplink page if the uplink stays without one)';
        warnings.push(`${i.name}: no gateway found; the uplink is proposed with gateway "auto" and will not take traffic until a default route via ${i.name} appears or you set the gateway`);
      }
      const why = [
        def ? 'has a default route' : dhcp ? 'has a DHCP lease' : `has a ${cls === 'cgnat' ? 'carrier-grade NAT' : 'public'} address`,
        how,
      ].join('; ');
      uplinks.push({ name: nameFrom(i.name, names, 'uplink'), interface: i.name, address: `${a.address}/${a.prefix}`, gateway, why });
    } else if (cls === 'private') {
      lanCandidates.push({ i, a });
    } else {
      ignored.push({ interface: i.name, why: `address ${a.address} is neither private nor public` });
    }
  }
  for (const { i, a } of lanCandidates) {
    const net = (parseIPv4(a.address)! & maskOf(a.prefix)) >>> 0;
    if (a.prefix < 8 || a.prefix > 30 || parseIPv4(a.address) === net) {
      ignored.push({ interface: i.name, why: `private address ${a.address}/${a.prefix} cannot serve a LAN (prefix 8-30 needed)` });
      continue;
    }
    lan.push({
      name: nameFrom(lanCandidates.length === 1 ? 'lan' : `lan-${i.name}`, names, 'lan'),
      interface: i.name,
      address: `${a.address}/${a.prefix}`,
      why: `private address ${a.address}/${a.prefix} (${formatIPv4(net)}/${a.prefix}) and no default route`,
    });
  }
  if (uplinks.length === 0) warnings.push('no uplink found: no interface has a default route, a DHCP lease or a public address');
  if (lan.length === 0) warnings.push('no LAN found: no interface has a private address without a default route');

  const config: ConfigInput = {
    version: 1,
    lan: lan.map(({ name, interface: iface, address }) => ({ name, interface: iface, address })),
    uplinks: uplinks.map((u) => ({
      name: u.name,
      interface: u.interface,
      gateway: u.gateway,
      health: { targets },
    })),
    ...(opts.dashboardPort !== undefined ? { firewall: { dashboardPort: opts.dashboardPort } } : {}),
  };
  const parsed = parseConfig(config);
  if (!parsed.ok) warnings.push(...parsed.errors.map((e) => `the proposal does not validate: ${e}`));

  const kept = {
    defaultRoutes: m.routes.filter((r) => r.dst === 'default').map((r) => `${r.family === 6 ? 'IPv6 ' : ''}${fmtRoute(r)}`),
    dns: m.dns,
    nftTables: m.nftTables,
    iptablesTables: m.iptablesTables,
  };
  const summary: string[] = [];
  const list = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);
  if (lan.length) summary.push(`Your local network (LAN) is ${list(lan.map((l) => `${l.interface} (${l.address})`))}: devices there reach the Internet through the router and may open the dashboard and SSH.`);
  if (uplinks.length > 1) summary.push(`New connections are shared evenly between ${uplinks.length} uplinks: ${list(uplinks.map((u) => `${u.interface} (${u.gateway === 'auto' ? 'gateway from DHCP' : `gateway ${u.gateway}`})`))}; when one fails, its traffic moves to the others.`);
  else if (uplinks.length === 1) summary.push(`All traffic leaves through ${uplinks[0].interface} (${uplinks[0].gateway === 'auto' ? 'gateway from DHCP' : `gateway ${uplinks[0].gateway}`}).`);
  if (uplinks.length) summary.push('Nothing from the uplinks may reach the router or the LAN unless you open a service or a port forward.');
  if (uplinks.length) summary.push(`Each uplink is checked by pinging ${list(targets)} through it: one whose modem is up but has no Internet is taken out until it answers again.`);
  if (ignored.length) summary.push(`Left alone: ${list(ignored.map((x) => x.interface))}.`);
  if (kept.defaultRoutes.length) summary.push(`Your current default route${kept.defaultRoutes.length > 1 ? 's stay' : ' stays'} in place (${list(kept.defaultRoutes)}); linkward adds its own routing tables next to it.`);
  if (kept.dns.length) summary.push(`DNS servers are not changed (${list(kept.dns)}).`);
  const foreign = [...kept.nftTables.map((t) => `nft table ${t}`), ...kept.iptablesTables.map((t) => `iptables table ${t}`)];
  if (foreign.length) summary.push(`Other firewall tables stay as they are: ${list(foreign)}.`);
  return { config, lan, uplinks, ignored, kept, summary, warnings };
}
