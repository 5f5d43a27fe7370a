// Builds the nftables model of `table inet linkward` from a validated config and the uplink plan.
// Design notes (where this deviates from or details the brief):
//  - Every chain is always declared (constant chain inventory); unused ones are simply empty.
//  - Uplink selection lives in the regular chain `select`, jumped to from prerouting_mangle (LAN)
//    and output_route (router-originated). Each matching policy / pin rule sets the ct mark and
//    `return`s, so pins refreshed after the weighted pick only concern weighted picks.
//  - Policies apply when their uplink is *usable* (enabled, not draining, not down, address and
//    gateway known), even if it is in a backup tier: a policy is an explicit admin choice.
//  - Pin sets lw_pin_<id> exist for usable uplinks when sticky=source is used anywhere.
//  - Counters exist for every configured rule/service/forward/policy, enabled or not, so a
//    disable/enable cycle keeps the totals.
//  - The table comment cannot be changed after creation (the kernel ignores it on update and
//    nft 1.0.6 does not list it in JSON), so the plan hash is carried by the comment of a rule in
//    the unhooked chain `lw_meta` instead (see transaction.ts).
import type { Config, Rule } from '../validations/config';
import { parsePortSpec } from '../validations/net';
import type { CounterSpec, UplinkPlan } from './types';
import type { NftChain, NftHelper, NftModel, NftSet } from './nft';
import { anyOf, ifaces } from './nft';
import { setElements } from './addrset';
import { weightRanges } from './routing';
import {
  CHAIN, CHAIN_HOOKS, MARK_MASK, BUILTIN_COUNTERS, comment, counterBuiltin, counterPolicy, counterPortForward,
  counterRule, counterService, counterUplinkIn, counterUplinkOut, helperName, hex32, hexMask, LOW_DELAY_DSCP,
  SET_BANNED, SET_SCAN, setAddressList, setPin,
  SET_DROP_INPUT, SET_DROP_FORWARD, DROP_SET_SIZE, DROP_SET_TIMEOUT_S,
} from './constants';

const CHAIN_ORDER = [
  CHAIN.preroutingMangle, CHAIN.select, CHAIN.outputRoute, CHAIN.preroutingHelper, CHAIN.input,
  CHAIN.forward, CHAIN.output, CHAIN.postroutingMangle, CHAIN.preroutingNat, CHAIN.postroutingNat,
] as const;

const portStr = (p: number | string): string => {
  const r = parsePortSpec(p);
  if (!r) throw new Error(`invalid port ${String(p)}`); // unreachable for validated configs
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
};
const cnt = (name: string) => `counter name "${name}"`;
const MASK = hexMask(MARK_MASK);
const UNMARKED = `ct mark and ${MASK} == 0`;

export interface FirewallResult {
  model: NftModel;
  counters: CounterSpec[];
  dynamicSets: string[];
  warnings: string[];
}

export function buildFirewall(config: Config, uplinks: UplinkPlan[], usable: Set<string>): FirewallResult {
  const fw = config.firewall;
  const warnings: string[] = [];
  const counters: CounterSpec[] = [];
  const addCounter = (name: string, kind: CounterSpec['kind'], ref: string, description?: string) => {
    const c: CounterSpec = { name, kind, ref };
    if (description !== undefined) c.description = description;
    counters.push(c);
  };
  const chains = new Map<string, NftChain>();
  for (const n of CHAIN_ORDER) {
    const c: NftChain = { name: n, rules: [] };
    if (CHAIN_HOOKS[n]) c.hook = CHAIN_HOOKS[n];
    chains.set(n, c);
  }
  const rules = (n: string) => chains.get(n)!.rules;
  const sets: NftSet[] = [];
  const helpers = new Map<string, NftHelper>();

  const byName = new Map(uplinks.map((u) => [u.name, u]));
  const lanIfs = config.lan.map((l) => l.interface);
  const upIfs = uplinks.map((u) => u.interface);
  const ifsOf = (names: string[] | undefined) => (names ?? uplinks.map((u) => u.name)).map((n) => byName.get(n)!.interface);
  const active = uplinks.filter((u) => u.active);
  const usableUplinks = uplinks.filter((u) => usable.has(u.name));

  // ---- counters (declaration order = this order) ----
  for (const [k, d] of Object.entries(BUILTIN_COUNTERS)) addCounter(counterBuiltin(k), 'builtin', k, d);
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) {
    addCounter(counterUplinkIn(u.id), 'uplink', u.name, `bytes received on ${u.interface}`);
    addCounter(counterUplinkOut(u.id), 'uplink', u.name, `bytes sent on ${u.interface}`);
  }
  for (const r of config.rules) addCounter(counterRule(r.name), 'rule', r.name);
  for (const s of config.services) addCounter(counterService(s.name), 'service', s.name);
  for (const p of config.portForwards) addCounter(counterPortForward(p.name), 'portForward', p.name);
  for (const p of config.policies) addCounter(counterPolicy(p.name), 'policy', p.name);

  // ---- address lists (only those referenced by enabled rules) ----
  const usedLists = new Set<string>();
  for (const r of config.rules) {
    if (!r.enabled) continue;
    if (r.sourceList) usedLists.add(r.sourceList);
    if (r.destinationList) usedLists.add(r.destinationList);
  }
  for (const l of config.addressLists) {
    if (!usedLists.has(l.name)) { warnings.push(`address list ${l.name} is not used by any enabled rule (not loaded)`); continue; }
    sets.push({ name: setAddressList(l.name), props: ['type ipv4_addr', 'flags interval', 'auto-merge'], elements: setElements(l.entries), dynamic: false });
  }

  // ---- dynamic sets ----
  const stickyPolicies = config.policies.filter((p) => p.enabled && p.sticky === 'source' && usable.has(p.uplink));
  const globalSticky = fw.sticky === 'source';
  const pinned = globalSticky || stickyPolicies.length > 0 ? usableUplinks : [];
  for (const u of [...pinned].sort((a, b) => a.id - b.id)) {
    sets.push({ name: setPin(u.id), props: ['type ipv4_addr', 'size 65535', 'flags dynamic,timeout'], dynamic: true });
  }
  if (fw.logDrops) {
    for (const name of [SET_DROP_INPUT, SET_DROP_FORWARD]) {
      sets.push({ name, props: ['type ifname . ipv4_addr . ipv4_addr . inet_proto . inet_service', `size ${DROP_SET_SIZE}`, 'flags dynamic,timeout', 'counter', `timeout ${DROP_SET_TIMEOUT_S}s`], dynamic: true });
    }
  }
  if (fw.portScan.enabled) {
    sets.push({ name: SET_BANNED, props: ['type ipv4_addr', 'size 65535', 'flags dynamic,timeout'], dynamic: true });
    sets.push({ name: SET_SCAN, props: ['type ipv4_addr', 'size 65535', 'flags dynamic,timeout', `timeout ${fw.portScan.seconds}s`], dynamic: true });
  }
  const pinUpdate = (id: number) => `update @${setPin(id)} { ip saddr timeout ${fw.stickySeconds}s }`;

  // ---- prerouting_mangle / select / output_route ----
  const pm = rules(CHAIN.preroutingMangle);
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) pm.push(`iifname "${u.interface}" ${cnt(counterUplinkIn(u.id))} ${comment('uplink-in', u.name)}`);
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) {
    pm.push(`ct state new iifname "${u.interface}" ct mark set ${hex32(u.mark)} ${comment('inbound', u.name)}`);
  }
  const sel = rules(CHAIN.select);
  for (const p of config.policies) {
    if (!p.enabled) continue;
    const u = byName.get(p.uplink)!;
    if (!usable.has(p.uplink)) { warnings.push(`policy ${p.name}: uplink ${p.uplink} is not usable (${u.reason}); policy skipped`); continue; }
    const m: string[] = [];
    if (p.source) m.push(`ip saddr ${p.source}`);
    if (p.destination) m.push(`ip daddr ${p.destination}`);
    if (p.protocol) m.push(p.port !== undefined ? `${p.protocol} dport ${portStr(p.port)}` : `meta l4proto ${p.protocol}`);
    m.push(cnt(counterPolicy(p.name)), `ct mark set ${hex32(u.mark)}`);
    if (p.sticky === 'source') m.push(pinUpdate(u.id));
    m.push('return', comment('policy', p.name));
    sel.push(m.join(' '));
  }
  for (const u of [...pinned].sort((a, b) => a.id - b.id)) {
    sel.push(`ip saddr @${setPin(u.id)} ct mark set ${hex32(u.mark)} ${pinUpdate(u.id)} return ${comment('pin', u.name)}`);
  }
  if (active.length === 1) {
    sel.push(`ct mark set ${hex32(active[0].mark)} ${comment('select', 'weighted')}`);
  } else if (active.length > 1) {
    const { total, ranges } = weightRanges(active);
    const map = ranges.map(([lo, hi, mark]) => `${lo === hi ? String(lo) : `${lo}-${hi}`} : ${hex32(mark)}`).join(', ');
    sel.push(`ct mark set numgen random mod ${total} map { ${map} } ${comment('select', 'weighted')}`);
  }
  if (globalSticky && active.length > 0) {
    for (const u of [...active].sort((a, b) => a.id - b.id)) {
      sel.push(`ct mark and ${MASK} == ${hex32(u.mark)} ${pinUpdate(u.id)} ${comment('pin-refresh', u.name)}`);
    }
  }
  if (active.length === 0) warnings.push('no uplink is active: new connections follow the main routing table');
  const selecting = sel.length > 0;
  if (selecting && lanIfs.length > 0) {
    pm.push(`ct state new ${UNMARKED} iifname ${ifaces(lanIfs)} fib daddr type != local jump ${CHAIN.select} ${comment('builtin', 'select-lan')}`);
  }
  pm.push(`ct mark and ${MASK} != 0 meta mark set ct mark and ${MASK} ${comment('builtin', 'restore-mark')}`);
  const orr = rules(CHAIN.outputRoute);
  orr.push(`ct state new meta mark and ${MASK} != 0 ct mark set meta mark and ${MASK} ${comment('builtin', 'socket-mark')}`);
  // Router-originated flows whose source is an uplink address leave by that uplink (the ip rule
  // `from <address>` outranks the fwmark rules): mark them so, or conntrack cleanup by mark would
  // miss them when that uplink dies. Unbound sockets get their source from table 200, which holds
  // only the active uplinks, so they follow failover too.
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) {
    if (u.address !== undefined) orr.push(`ct state new ${UNMARKED} ip saddr ${u.address} ct mark set ${hex32(u.mark)} ${comment('source', u.name)}`);
  }
  if (selecting) orr.push(`ct state new ${UNMARKED} fib daddr type != local jump ${CHAIN.select} ${comment('builtin', 'select-local')}`);
  orr.push(`ct mark and ${MASK} != 0 meta mark set ct mark and ${MASK} ${comment('builtin', 'restore-mark')}`);

  // ---- helpers ----
  const ph = rules(CHAIN.preroutingHelper);
  for (const s of config.services) {
    if (!s.enabled || !s.helper) continue;
    const ifs = [...ifsOf(s.uplinks), ...(s.lan ? lanIfs : [])];
    if (ifs.length === 0) continue;
    const h = helperName(s.helper, s.protocol);
    helpers.set(h, { name: h, type: s.helper, protocol: s.protocol });
    ph.push(`ct state new iifname ${ifaces(ifs)} ${s.protocol} dport ${portStr(s.port)} ct helper set "${h}" ${comment('helper', s.name)}`);
  }

  // ---- admin rules ----
  const adminRule = (r: Rule): string[] => {
    const m: string[] = [];
    if (r.source) m.push(`ip saddr ${r.source}`);
    if (r.sourceList) m.push(`ip saddr @${setAddressList(r.sourceList)}`);
    if (r.destination) m.push(`ip daddr ${r.destination}`);
    if (r.destinationList) m.push(`ip daddr @${setAddressList(r.destinationList)}`);
    if (r.protocol === 'tcp' || r.protocol === 'udp') m.push(r.port !== undefined ? `${r.protocol} dport ${portStr(r.port)}` : `meta l4proto ${r.protocol}`);
    else if (r.protocol === 'icmp') m.push('meta l4proto icmp');
    m.push(cnt(counterRule(r.name)));
    if (r.log) m.push(`log prefix "lw:${r.name} "`);
    m.push(r.action === 'reject' ? (r.protocol === 'tcp' ? 'reject with tcp reset' : 'reject') : r.action);
    m.push(comment('rule', r.name));
    const tail = m.join(' ');
    if (r.uplink === undefined) return [tail];
    const ifn = `"${byName.get(r.uplink)!.interface}"`;
    if (r.chain === 'input') return [`iifname ${ifn} ${tail}`];
    if (r.chain === 'output') return [`oifname ${ifn} ${tail}`];
    return [`iifname ${ifn} ${tail}`, `oifname ${ifn} ${tail}`];
  };
  const adminRules = (chain: Rule['chain']) => config.rules.filter((r) => r.enabled && r.chain === chain).flatMap(adminRule);

  const dropTail = (chain: 'input' | 'forward') => {
    const out: string[] = [];
    if (fw.logDrops) out.push(`limit rate ${fw.logRatePerMinute}/minute log prefix "lw:drop:${chain} " ${comment('builtin', `log-drop-${chain}`)}`);
    // Every dropped IPv4 packet is recorded (not rate-limited) in a bounded kernel set the agent reads.
    if (fw.logDrops) out.push(`update @${chain === 'input' ? SET_DROP_INPUT : SET_DROP_FORWARD} { iifname . ip saddr . ip daddr . meta l4proto . th dport } ${comment('builtin', `record-drop-${chain}`)}`);
    out.push(`${cnt(counterBuiltin(`drop-${chain}`))} drop ${comment('builtin', `drop-${chain}`)}`);
    return out;
  };

  // ---- input ----
  const inp = rules(CHAIN.input);
  inp.push(`iif "lo" accept ${comment('builtin', 'loopback')}`);
  if (fw.portScan.enabled) inp.push(`ip saddr @${SET_BANNED} ${cnt(counterBuiltin('banned'))} drop ${comment('builtin', 'banned')}`);
  inp.push(`ct state established,related ${cnt(counterBuiltin('established-in'))} accept ${comment('builtin', 'established')}`);
  inp.push(`ct state invalid ${cnt(counterBuiltin('invalid'))} drop ${comment('builtin', 'invalid')}`);
  if (!fw.allowLockout && lanIfs.length > 0) {
    const ports = [fw.dashboardPort];
    const ssh = config.services.some((s) => s.enabled && s.protocol === 'tcp' && (() => { const r = parsePortSpec(s.port); return r !== null && r[0] <= 22 && 22 <= r[1]; })());
    if (ssh && fw.dashboardPort !== 22) ports.push(22);
    inp.push(`iifname ${ifaces(lanIfs)} tcp dport ${anyOf(ports.map(String))} ${cnt(counterBuiltin('antilockout'))} accept ${comment('builtin', 'antilockout')}`);
  }
  inp.push(...adminRules('input'));
  if (fw.icmpIn.length > 0) inp.push(`icmp type ${anyOf([...fw.icmpIn])} ${cnt(counterBuiltin('icmp-in'))} accept ${comment('builtin', 'icmp-in')}`);
  for (const s of config.services) {
    if (!s.enabled) continue;
    const ifs = [...ifsOf(s.uplinks), ...(s.lan ? lanIfs : [])];
    if (ifs.length === 0) { warnings.push(`service ${s.name}: no interface to listen on`); continue; }
    const src = s.sources && s.sources.length > 0 ? ` ip saddr ${anyOf(s.sources)}` : '';
    inp.push(`iifname ${ifaces(ifs)}${src} ${s.protocol} dport ${portStr(s.port)} ${cnt(counterService(s.name))} accept ${comment('service', s.name)}`);
  }
  if (lanIfs.length > 0) inp.push(`iifname ${ifaces(lanIfs)} ${cnt(counterBuiltin('lan-in'))} accept ${comment('builtin', 'lan-in')}`);
  if (fw.portScan.enabled && upIfs.length > 0) {
    const ps = fw.portScan;
    const perMinute = Math.max(1, Math.ceil((ps.ports * 60) / ps.seconds));
    inp.push(`iifname ${ifaces(upIfs)} ct state new update @${SET_SCAN} { ip saddr limit rate over ${perMinute}/minute burst ${ps.ports} packets } add @${SET_BANNED} { ip saddr timeout ${ps.banSeconds}s } ${cnt(counterBuiltin('portscan'))} drop ${comment('builtin', 'portscan')}`);
  }
  inp.push(...dropTail('input'));

  // ---- forward ----
  const fwd = rules(CHAIN.forward);
  if (fw.portScan.enabled) fwd.push(`ip saddr @${SET_BANNED} ${cnt(counterBuiltin('banned'))} drop ${comment('builtin', 'banned')}`);
  fwd.push(`ct state established,related ${cnt(counterBuiltin('established-fwd'))} accept ${comment('builtin', 'established')}`);
  fwd.push(`ct state invalid ${cnt(counterBuiltin('invalid'))} drop ${comment('builtin', 'invalid')}`);
  fwd.push(...adminRules('forward'));
  fwd.push(`ct status dnat ${cnt(counterBuiltin('dnat'))} accept ${comment('builtin', 'dnat')}`);
  if (lanIfs.length > 0 && upIfs.length > 0) fwd.push(`iifname ${ifaces(lanIfs)} oifname ${ifaces(upIfs)} ${cnt(counterBuiltin('lan-out'))} accept ${comment('builtin', 'lan-out')}`);
  fwd.push(...dropTail('forward'));

  // ---- output ----
  const out = rules(CHAIN.output);
  out.push(...adminRules('output'));
  const icmpOut = fw.icmpOut.length > 0 ? ` icmp type != ${anyOf([...fw.icmpOut])}` : '';
  out.push(`meta l4proto icmp${icmpOut} ${cnt(counterBuiltin('icmp-out-drop'))} drop ${comment('builtin', 'icmp-out')}`);

  // ---- postrouting_mangle: uplink out counters, DSCP ----
  const pom = rules(CHAIN.postroutingMangle);
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) pom.push(`oifname "${u.interface}" ${cnt(counterUplinkOut(u.id))} ${comment('uplink-out', u.name)}`);
  for (const s of config.services) {
    if (!s.enabled || !s.lowDelay) continue;
    const p = portStr(s.port);
    pom.push(`${s.protocol} dport ${p} ip dscp set ${LOW_DELAY_DSCP} ${comment('lowdelay', s.name)}`);
    pom.push(`${s.protocol} sport ${p} ip dscp set ${LOW_DELAY_DSCP} ${comment('lowdelay', s.name)}`);
  }

  // ---- NAT ----
  const pn = rules(CHAIN.preroutingNat);
  for (const f of config.portForwards) {
    if (!f.enabled) continue;
    const ifs = ifsOf(f.uplinks);
    if (ifs.length === 0) { warnings.push(`port forward ${f.name}: no uplink`); continue; }
    const src = f.sources && f.sources.length > 0 ? ` ip saddr ${anyOf(f.sources)}` : '';
    const to = f.toPort !== undefined ? `${f.to}:${f.toPort}` : f.to;
    pn.push(`iifname ${ifaces(ifs)}${src} ${f.protocol} dport ${portStr(f.port)} ${cnt(counterPortForward(f.name))} dnat ip to ${to} ${comment('forward', f.name)}`);
  }
  const pon = rules(CHAIN.postroutingNat);
  for (const u of [...uplinks].sort((a, b) => a.id - b.id)) pon.push(`oifname "${u.interface}" masquerade ${comment('masquerade', u.name)}`);

  const model: NftModel = {
    counters: counters.map((c) => c.name),
    helpers: [...helpers.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    sets,
    chains: CHAIN_ORDER.map((n) => chains.get(n)!),
  };
  return { model, counters, dynamicSets: sets.filter((s) => s.dynamic).map((s) => s.name), warnings };
}
