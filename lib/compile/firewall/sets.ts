// Sets: address lists used by enabled rules (static, interval), and the kernel-owned dynamic
// sets (sticky pins, drop records, port-scan tracking and bans).
import { setElements } from '../addrset';
import {
  DROP_SET_SIZE, DROP_SET_TIMEOUT_S, SET_BANNED, SET_DROP_FORWARD, SET_DROP_INPUT, SET_SCAN, setAddressList, setPin,
} from '../constants';
import type { FirewallContext } from './context';

const DYNAMIC_ADDR = ['type ipv4_addr', 'size 65535', 'flags dynamic,timeout'];
const DROP_KEY = 'type ifname . ipv4_addr . ipv4_addr . inet_proto . inet_service';

/** Declaration order: address lists (config order), pins (by uplink id), drop records, port scan. */
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
  }
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
