// The one value every part of the firewall compiler reads and fills: the validated config, the
// uplink plan as the firewall sees it (by name, by id, active, usable, pinned), the LAN
// interfaces, and the registries the parts add to (counters, sets, ct helpers, warnings).
// Built once per compile by createContext; chain renderers only read the derived fields.
import type { Config, Policy } from '../../validations/config';
import type { CounterSpec, UplinkPlan } from '../types';
import type { NftChain, NftHelper, NftSet } from '../nft';
import type { Lan6Plan } from '../ipv6';
import { familyOf } from '../../validations/net';
import { NFLOG_GROUP, NFLOG_SNAPLEN } from '../constants';

/** Address families a chain renderer exists for. IPv6 will add 'ip6' here: every entry of the
 *  chain table in index.ts must then name an ip6 renderer too (the type makes tsc list them).
 *  Today the 'ip' renderers also emit the family-neutral rules (conntrack state, interface
 *  matches, the counted drop); the IPv6 step splits those into a neutral head/tail per chain. */
export type Family = 'ip';
export const FAMILIES: readonly Family[] = ['ip'];

/** One chain's rules for one family, as rendered rule lines (no indentation). */
export type ChainRenderer = (ctx: FirewallContext) => string[];

/** Counters in declaration order (the order is part of the golden output). */
export class CounterRegistry {
  private readonly specs: CounterSpec[] = [];
  add(name: string, kind: CounterSpec['kind'], ref: string, description?: string): void {
    const c: CounterSpec = { name, kind, ref };
    if (description !== undefined) c.description = description;
    this.specs.push(c);
  }
  list(): CounterSpec[] {
    return [...this.specs];
  }
}

export interface FirewallContext {
  readonly config: Config;
  readonly fw: Config['firewall'];
  /** Uplink plans in config order. */
  readonly uplinks: readonly UplinkPlan[];
  /** The same, by id (the order of every per-uplink rule, counter and set). */
  readonly uplinksById: readonly UplinkPlan[];
  readonly byName: ReadonlyMap<string, UplinkPlan>;
  /** Uplinks taking new connections (config order). */
  readonly active: readonly UplinkPlan[];
  /** Names of uplinks a policy may pin to (active or backup tier). */
  readonly usable: ReadonlySet<string>;
  /** Uplinks with a sticky pin set lw_pin_<id> (by id; empty when nothing is sticky=source). */
  readonly pinned: readonly UplinkPlan[];
  /** Enabled policies whose uplink is usable, with that uplink (config order). */
  readonly policies: readonly { policy: Policy; uplink: UplinkPlan }[];
  /** Chain select has rules (a usable policy, a pin or an active uplink), so it is jumped to. */
  readonly selecting: boolean;
  readonly lanIfs: readonly string[];
  readonly uplinkIfs: readonly string[];
  /** IPv6 of the LANs with an `ipv6` block. */
  readonly lans6: readonly Lan6Plan[];
  /** Uplinks taking new IPv6 connections (by id). */
  readonly active6: readonly UplinkPlan[];
  /** IPv6 is configured (an uplink or LAN `ipv6` block, or an IPv6 policy): pins exist per family. */
  readonly six: boolean;
  /** Names of uplinks whose IPv6 is usable (active or backup tier). */
  readonly usable6: ReadonlySet<string>;
  /** Pinned uplinks whose IPv6 is usable: they have an IPv6 pin set lw_pin6_<id> (by id). */
  readonly pinned6: readonly UplinkPlan[];
  /** Interfaces of the named uplinks (all uplinks when names is undefined). */
  ifsOf(names: readonly string[] | undefined): string[];
  /** The log statement with this prefix: NFLOG (ulogd2 reads it) or the kernel log. */
  log(prefix: string): string;
  // Registries the parts fill, in declaration order.
  readonly counters: CounterRegistry;
  readonly sets: NftSet[];
  readonly helpers: Map<string, NftHelper>;
  /** Regular chains holding groups of admin rules (rules.ts), declared after the constant ones. */
  readonly ruleChains: NftChain[];
  readonly warnings: string[];
}

export function createContext(
  config: Config,
  uplinks: readonly UplinkPlan[],
  usable: ReadonlySet<string>,
  lans6: readonly Lan6Plan[] = [],
  opts: { nflog?: boolean } = {},
): FirewallContext {
  const fw = config.firewall;
  const byName = new Map(uplinks.map((u) => [u.name, u]));
  const uplinksById = [...uplinks].sort((a, b) => a.id - b.id);
  const policies = config.policies.filter((p) => p.enabled && usable.has(p.uplink)).map((policy) => ({ policy, uplink: byName.get(policy.uplink)! }));
  const stickyPolicy = policies.some(({ policy }) => policy.sticky === 'source');
  const pinned = fw.sticky === 'source' || stickyPolicy ? uplinksById.filter((u) => usable.has(u.name)) : [];
  const active = uplinks.filter((u) => u.active);
  const six = uplinks.some((u) => u.v6) || lans6.length > 0
    || config.policies.some((p) => p.enabled && [p.source, p.destination].some((a) => a !== undefined && familyOf(a) === 6));
  const usable6 = new Set(uplinks.filter((u) => u.v6 && (u.v6.active || u.v6.reason?.code === 'backup')).map((u) => u.name));
  return {
    config,
    fw,
    uplinks,
    uplinksById,
    byName,
    active,
    usable,
    pinned,
    policies,
    selecting: policies.length > 0 || pinned.length > 0 || active.length > 0 || uplinksById.some((u) => u.v6?.active) || lans6.some((l) => l.mode === 'native' && l.perUplink.length > 0),
    lanIfs: config.lan.map((l) => l.interface),
    uplinkIfs: uplinks.map((u) => u.interface),
    lans6,
    active6: uplinksById.filter((u) => u.v6?.active),
    six,
    usable6,
    pinned6: six ? pinned.filter((u) => usable6.has(u.name)) : [],
    counters: new CounterRegistry(),
    sets: [],
    helpers: new Map(),
    ruleChains: [],
    warnings: [],
    log: (prefix) => (opts.nflog ? `log prefix "${prefix}" group ${NFLOG_GROUP} snaplen ${NFLOG_SNAPLEN}` : `log prefix "${prefix}"`),
    ifsOf: (names) => (names ?? uplinks.map((u) => u.name)).map((n) => byName.get(n)!.interface),
  };
}
