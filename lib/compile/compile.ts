// compile(config, facts) → Plan: pure, no I/O, deterministic.
import type { Config } from '../validations/config';
import type { Facts, Plan } from './types';
import { planUplinks, planRoutes, isUsable } from './routing';
import { planSysctls } from './sysctl';
import { composeFirewall } from './firewall';
import { renderTable } from './nft';
import { NFT_FAMILY, NFT_TABLE } from './constants';

export { renderTransaction, planHash, planMarker } from './transaction';
export { weightRanges, isUsable } from './routing';
export { sysctlProcPath, isSysctlKey } from './sysctl';
export * from './constants';

export function compile(config: Config, facts: Facts): Plan {
  const { uplinks, unresolved } = planUplinks(config, facts);
  const usable = new Set(uplinks.filter(isUsable).map((u) => u.name));
  const { routes, rules } = planRoutes(uplinks);
  const fw = composeFirewall(config, uplinks, usable);
  const m = fw.model;
  return {
    nftDeclaration: renderTable(m, NFT_FAMILY, NFT_TABLE, true),
    nftObjects: renderTable(m, NFT_FAMILY, NFT_TABLE, false),
    inventory: {
      chains: m.chains.map((c) => c.name),
      sets: m.sets.map((s) => s.name),
      maps: [],
      counters: [...m.counters],
      ctHelpers: m.helpers.map((h) => h.name),
    },
    dynamicSets: fw.dynamicSets,
    staticSets: Object.fromEntries(m.sets.filter((s) => !s.dynamic).map((s) => [s.name, { props: [...s.props], elements: [...(s.elements ?? [])] }])),
    routes,
    rules,
    sysctls: planSysctls(config),
    counters: fw.counters,
    uplinks,
    unresolved,
    warnings: fw.warnings,
  };
}
