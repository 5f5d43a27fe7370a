// compile(config, facts) → Plan: pure, no I/O, deterministic.
import type { Config } from '../validations/config';
import type { Facts, Plan } from './types';
import { planUplinks, planRoutes, isUsable } from './routing';
import { planUplinks6, planLans6, planLanAddresses, planRoutes6 } from './ipv6';
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
  planUplinks6(config, facts, uplinks);
  const usable = new Set(uplinks.filter(isUsable).map((u) => u.name));
  const v4 = planRoutes(uplinks);
  const warnings6: string[] = [];
  const lans6 = planLans6(config, uplinks, warnings6);
  const v6 = facts.ipv6 === false ? { routes: [], rules: [] } : planRoutes6(uplinks, lans6);
  const lanAddr = planLanAddresses(config, facts.ipv6 === false ? [] : lans6);
  const fw = composeFirewall(config, uplinks, usable, lans6, { nflog: facts.nflog === true });
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
    routes: [...v4.routes, ...v6.routes],
    rules: [...v4.rules, ...v6.rules],
    addresses: lanAddr.addresses,
    addressScopes: lanAddr.scopes,
    ra: lanAddr.ra,
    sysctls: planSysctls(config, facts),
    counters: fw.counters,
    uplinks,
    unresolved,
    warnings: [...fw.warnings, ...warnings6],
  };
}
