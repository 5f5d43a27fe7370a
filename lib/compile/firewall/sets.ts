// Sets: address lists used by enabled rules (static, interval, one per family present), and the
// kernel-owned dynamic sets (sticky pins, drop records, port-scan tracking and bans; IPv6 twins
// keyed by /64), the static never-ban and bogon sets of each family.
import { ofFamily, setElements, setElements6, subtractNetworks, subtractNetworks6 } from '../addrset';
import {
  BOGONS_V4, BOGONS_V6, DROP_SET_SIZE, DROP_SET_TIMEOUT_S, SET_BANNED, SET_BANNED6, SET_BOGONS, SET_BOGONS6, SET_DROP_FORWARD,
  SET_DROP_FORWARD6, SET_DROP_INPUT, SET_DROP_INPUT6, SET_NEVER_BAN, SET_NEVER_BAN6, SET_SCAN, SET_SCAN6, SET_SCAN_PORTS,
  SET_SCAN_PORTS6, setAddressList, setAddressList6, setPin, setPin6,
} from '../constants';
import { effectiveHealth } from '../../validations/config';
import { formatIPv4, maskOf, parseIPv4, familyOf } from '../../validations/net';
import type { FirewallContext } from './context';
import { lanNetworks, lanNetworks6 } from './antispoof';

const addrType = (f: 4 | 6) => (f === 6 ? 'ipv6_addr' : 'ipv4_addr');
const dynamicAddr = (f: 4 | 6) => [`type ${addrType(f)}`, 'size 65535', 'flags dynamic,timeout'];
const dropKey = (f: 4 | 6) => `type ifname . ${addrType(f)} . ${addrType(f)} . inet_proto . inet_service`;
const interval = (f: 4 | 6) => [`type ${addrType(f)}`, 'flags interval'];

/** Declaration order: address lists (config order), pins (by uplink id), drop records, port scan,
 *  anti-spoofing; IPv4 before IPv6. */
export function declareSets(ctx: FirewallContext): void {
  declareAddressLists(ctx);
  const { fw, sets } = ctx;
  for (const u of ctx.pinned) {
    sets.push({ name: setPin(u.id), props: dynamicAddr(4), dynamic: true });
    if (ctx.pinned6.includes(u)) sets.push({ name: setPin6(u.id), props: dynamicAddr(6), dynamic: true });
  }
  if (fw.logDrops) {
    for (const [name, f] of [[SET_DROP_INPUT, 4], [SET_DROP_FORWARD, 4], [SET_DROP_INPUT6, 6], [SET_DROP_FORWARD6, 6]] as const) {
      sets.push({ name, props: [dropKey(f), `size ${DROP_SET_SIZE}`, 'flags dynamic,timeout', 'counter', `timeout ${DROP_SET_TIMEOUT_S}s`], dynamic: true });
    }
  }
  if (fw.portScan.enabled) {
    const ps = fw.portScan;
    const never = neverBan(ctx);
    for (const [f, banned, scan, ports, nb] of [[4, SET_BANNED, SET_SCAN, SET_SCAN_PORTS, SET_NEVER_BAN], [6, SET_BANNED6, SET_SCAN6, SET_SCAN_PORTS6, SET_NEVER_BAN6]] as const) {
      sets.push({ name: banned, props: dynamicAddr(f), dynamic: true });
      sets.push({ name: scan, props: [...dynamicAddr(f), `timeout ${ps.seconds}s`], dynamic: true });
      sets.push({ name: ports, props: [`type ${addrType(f)} . ifname . inet_service`, 'size 65535', 'flags dynamic,timeout', `timeout ${ps.seconds}s`], dynamic: true });
      sets.push({ name: nb, props: interval(f), elements: f === 4 ? setElements(ofFamily(never, 4)) : setElements6(ofFamily(never, 6)), dynamic: false });
    }
  }
  if (fw.antiSpoof.enabled && fw.antiSpoof.bogons && ctx.uplinkIfs.length > 0) {
    const keep = [...trusted(ctx), ...fw.antiSpoof.exceptions];
    const b4 = subtractNetworks(BOGONS_V4, ofFamily(keep, 4));
    if (b4.length > 0) sets.push({ name: SET_BOGONS, props: interval(4), elements: b4, dynamic: false });
    const b6 = subtractNetworks6(BOGONS_V6, ofFamily(keep, 6));
    if (b6.length > 0) sets.push({ name: SET_BOGONS6, props: interval(6), elements: b6, dynamic: false });
  }
}

/** Addresses the router talks to on purpose: the uplinks' connected networks and gateways (both
 *  families), their IPv6 prefixes, health-probe targets, and the sources named in services. */
function trusted(ctx: FirewallContext): string[] {
  const out: string[] = [];
  for (const u of ctx.uplinks) {
    if (u.address !== undefined && u.prefix !== undefined) out.push(`${formatIPv4((parseIPv4(u.address)! & maskOf(u.prefix)) >>> 0)}/${u.prefix}`);
    if (u.gateway !== undefined) out.push(u.gateway);
    if (u.v6?.net) out.push(u.v6.net);
    if (u.v6?.prefix) out.push(u.v6.prefix);
    if (u.v6?.gateway && familyOf(u.v6.gateway) === 6) out.push(u.v6.gateway);
  }
  for (const u of ctx.config.uplinks) out.push(...effectiveHealth(u).targets);
  for (const s of ctx.config.services) if (s.enabled) out.push(...(s.sources ?? []));
  return out;
}

/** Never banned: the LAN networks, the router's own addresses, everything trusted() lists, the
 *  link-local neighbours, and firewall.portScan.neverBan. (The scan rule also skips
 *  `fib saddr type local`.) */
function neverBan(ctx: FirewallContext): string[] {
  const own = ctx.uplinks.flatMap((u) => [...(u.address !== undefined ? [u.address] : []), ...(u.v6?.address ? [u.v6.address] : [])]);
  return [...lanNetworks(ctx), '127.0.0.0/8', ...lanNetworks6(ctx), '::1', 'fe80::/10', ...own, ...trusted(ctx), ...ctx.fw.portScan.neverBan];
}

/** Only lists referenced by an enabled rule are loaded (one set per family with entries); the
 *  others get a warning. */
function declareAddressLists(ctx: FirewallContext): void {
  const used = new Set<string>();
  for (const r of ctx.config.rules) {
    if (!r.enabled) continue;
    if (r.sourceList) used.add(r.sourceList);
    if (r.destinationList) used.add(r.destinationList);
  }
  for (const l of ctx.config.addressLists) {
    if (!used.has(l.name)) {
      ctx.warnings.push(`address list ${l.name} is not used by any enabled rule (not loaded)`);
      continue;
    }
    const v4 = ofFamily(l.entries, 4);
    const v6 = ofFamily(l.entries, 6);
    if (v4.length > 0 || v6.length === 0) ctx.sets.push({ name: setAddressList(l.name), props: [...interval(4), 'auto-merge'], elements: setElements(v4), dynamic: false });
    if (v6.length > 0 || v4.length === 0) ctx.sets.push({ name: setAddressList6(l.name), props: [...interval(6), 'auto-merge'], elements: setElements6(v6), dynamic: false });
  }
}

/** `update @lw_pin_<id> { ip saddr timeout <stickySeconds>s }`: (re)pin the source to the uplink. */
export const pinUpdate = (ctx: FirewallContext, id: number, f: 4 | 6 = 4): string =>
  f === 6 ? `update @${setPin6(id)} { ip6 saddr timeout ${ctx.fw.stickySeconds}s }` : `update @${setPin(id)} { ip saddr timeout ${ctx.fw.stickySeconds}s }`;
