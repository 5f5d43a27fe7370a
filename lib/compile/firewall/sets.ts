// Sets: address lists used by enabled rules (static, interval), and the kernel-owned dynamic
// sets (sticky pins, drop records, port-scan tracking and bans).
import { setElements, subtractNetworks } from '../addrset';
import {
  BOGONS_V4, DROP_SET_SIZE, DROP_SET_TIMEOUT_S, SET_BANNED, SET_BOGONS, SET_DROP_FORWARD, SET_DROP_INPUT, SET_NEVER_BAN,
  SET_SCAN, SET_SCAN_PORTS, setAddressList, setPin,
} from '../constants';
import { effectiveHealth } from '../../validations/config';
import { formatIPv4, maskOf, parseIPv4 } from '../../validations/net';
import type { FirewallContext } from './context';
import { lanNetworks } from './antispoof';

const DYNAMIC_ADDR = ['type ipv4_addr', 'size 65535', 'flags dynamic,timeout'];
const DROP_KEY = 'type ifname . ipv4_addr . ipv4_addr . inet_proto . inet_service';

const INTERVAL = ['type ipv4_addr', 'flags interval'];

/** Declaration order: address lists (config order), pins (by uplink id), drop records, port scan,
 *  anti-spoofing. */
export function declareSets(ctx: FirewallContext): void {
  declareAddressLists(ctx);
  const { fw, sets } = ctx;
  for (const u of ctx.pinned) sets.push({ name: setPin(u.id), props: [...DYNAMIC_ADDR], dynamic: true });
  if (fw.logDrops) {
    for (const name of [SET_DROP_INPUT, SET_DROP_FORWARD]) {
      sets.push({ name, props: [DROP_KEY, `size ${DROP_SET_SIZE}`, 'flags dynamic,timeout', 'counter', `timeout ${DROP_SET_TIMEOUT_S}s`], dynamic: true });
    }
  }
  if (fw.portScan.enabled) {
    sets.push({ name: SET_BANNED, props: [...DYNAMIC_ADDR], dynamic: true });
    sets.push({ name: SET_SCAN, props: [...DYNAMIC_ADDR, `timeout ${fw.portScan.seconds}s`], dynamic: true });
    sets.push({ name: SET_SCAN_PORTS, props: ['type ipv4_addr . ifname . inet_service', 'size 65535', 'flags dynamic,timeout', `timeout ${fw.portScan.seconds}s`], dynamic: true });
    sets.push({ name: SET_NEVER_BAN, props: [...INTERVAL], elements: setElements(neverBan(ctx)), dynamic: false });
  }
  if (fw.antiSpoof.enabled && fw.antiSpoof.bogons && ctx.uplinkIfs.length > 0) {
    const elements = subtractNetworks(BOGONS_V4, [...trusted(ctx), ...fw.antiSpoof.exceptions]);
    if (elements.length > 0) sets.push({ name: SET_BOGONS, props: [...INTERVAL], elements, dynamic: false });
  }
}

/** Addresses the router talks to on purpose: the uplinks' connected networks and gateways,
 *  health-probe targets, and the sources named in services (NTP/DNS servers, admin hosts). */
function trusted(ctx: FirewallContext): string[] {
  const out: string[] = [];
  for (const u of ctx.uplinks) {
    if (u.address !== undefined && u.prefix !== undefined) out.push(`${formatIPv4((parseIPv4(u.address)! & maskOf(u.prefix)) >>> 0)}/${u.prefix}`);
    if (u.gateway !== undefined) out.push(u.gateway);
  }
  for (const u of ctx.config.uplinks) out.push(...effectiveHealth(u).targets);
  for (const s of ctx.config.services) if (s.enabled) out.push(...(s.sources ?? []));
  return out;
}

/** Never banned: the LAN networks, the router's own addresses, everything trusted() lists, and
 *  firewall.portScan.neverBan. (The scan rule also skips `fib saddr type local`.) */
function neverBan(ctx: FirewallContext): string[] {
  const own = ctx.uplinks.flatMap((u) => (u.address !== undefined ? [u.address] : []));
  return [...lanNetworks(ctx), '127.0.0.0/8', ...own, ...trusted(ctx), ...ctx.fw.portScan.neverBan];
}

/** Only lists referenced by an enabled rule are loaded; the others get a warning. */
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
    ctx.sets.push({ name: setAddressList(l.name), props: ['type ipv4_addr', 'flags interval', 'auto-merge'], elements: setElements(l.entries), dynamic: false });
  }
}

/** `update @lw_pin_<id> { ip saddr timeout <stickySeconds>s }`: (re)pin the source to the uplink. */
export const pinUpdate = (ctx: FirewallContext, id: number): string => `update @${setPin(id)} { ip saddr timeout ${ctx.fw.stickySeconds}s }`;
