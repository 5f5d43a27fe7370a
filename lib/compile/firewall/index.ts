// Builds the nftables model of `table inet linkward` from a validated config and the uplink plan.
// One context (context.ts), one module per part of the ruleset, composed over the constant chain
// table of lib/compile/constants.ts (every chain always declared; unused ones stay empty):
//   counters.ts  named counters          sets.ts     address lists and dynamic sets
//   mangle.ts    prerouting_mangle, output_route, postrouting_mangle
//   select.ts    select (policies, pins, weighted pick)
//   helpers.ts   prerouting_helper and the ct helper objects
//   input.ts, forward.ts (+ filter.ts, rules.ts), output.ts, nat.ts
//  - Big admin rule sets (> RULE_GROUP_INLINE rules in a chain) live in regular chains
//    rules_<chain>_<first rule> of ~32 rules each (content-defined boundaries, rules.ts), jumped to in
//    order: a one-rule change alters one group chain, which the agent alone flushes and refills
//    (lib/compile/transaction.ts renderPartialTransaction).
// Design notes (where this deviates from or details the brief):
//  - Uplink selection lives in the regular chain `select`, jumped to from prerouting_mangle (LAN)
//    and output_route (router-originated).
//  - Pin sets lw_pin_<id> exist for usable uplinks when sticky=source is used anywhere.
//  - The table comment cannot be changed after creation (the kernel ignores it on update and
//    nft 1.0.6 does not list it in JSON), so the plan hash is carried by the comment of a rule in
//    the unhooked chain `lw_meta` instead (see transaction.ts).
import type { Config } from '../../validations/config';
import type { CounterSpec, UplinkPlan } from '../types';
import type { Lan6Plan } from '../ipv6';
import type { NftChain, NftModel } from '../nft';
import { CHAIN, CHAIN_TABLE, hookLine, type ChainName } from '../constants';
import { createContext, FAMILIES, type ChainRenderer, type Family, type FirewallContext } from './context';
import { declareCounters } from './counters';
import { declareSets } from './sets';
import { antispoofChain } from './antispoof';
import { outputRoute, postroutingMangle, preroutingMangle } from './mangle';
import { selectChain } from './select';
import { preroutingHelper } from './helpers';
import { inputChain } from './input';
import { forwardChain } from './forward';
import { outputChain } from './output';
import { postroutingNat, preroutingNat } from './nat';

export type { FirewallContext } from './context';

/** The renderers of each chain, per family. Exhaustive over ChainName and Family. */
const RENDERERS: Record<ChainName, Record<Family, ChainRenderer>> = {
  [CHAIN.antispoof]: { ip: antispoofChain },
  [CHAIN.preroutingMangle]: { ip: preroutingMangle },
  [CHAIN.select]: { ip: selectChain },
  [CHAIN.outputRoute]: { ip: outputRoute },
  [CHAIN.preroutingHelper]: { ip: preroutingHelper },
  [CHAIN.input]: { ip: inputChain },
  [CHAIN.forward]: { ip: forwardChain },
  [CHAIN.output]: { ip: outputChain },
  [CHAIN.postroutingMangle]: { ip: postroutingMangle },
  [CHAIN.preroutingNat]: { ip: preroutingNat },
  [CHAIN.postroutingNat]: { ip: postroutingNat },
};

export interface FirewallResult {
  model: NftModel;
  counters: CounterSpec[];
  dynamicSets: string[];
  warnings: string[];
}

/** Counters, then sets, then the chains in table order (warnings follow the same order). */
export function composeFirewall(config: Config, uplinks: UplinkPlan[], usable: ReadonlySet<string>, lans6: readonly Lan6Plan[] = [], opts: { nflog?: boolean } = {}): FirewallResult {
  const ctx = createContext(config, uplinks, usable, lans6, opts);
  declareCounters(ctx);
  declareSets(ctx);
  const chains = CHAIN_TABLE.map(({ name, hook }): NftChain => {
    const rules = FAMILIES.flatMap((f) => RENDERERS[name][f](ctx));
    return hook ? { name, hook: hookLine(hook), rules } : { name, rules };
  });
  // the rule groups of big rule sets (rules.ts), jumped to from input/forward/output
  return result(ctx, [...chains, ...ctx.ruleChains]);
}

function result(ctx: FirewallContext, chains: NftChain[]): FirewallResult {
  const counters = ctx.counters.list();
  const model: NftModel = {
    counters: counters.map((c) => c.name),
    helpers: [...ctx.helpers.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    sets: ctx.sets,
    chains,
  };
  return { model, counters, dynamicSets: ctx.sets.filter((s) => s.dynamic).map((s) => s.name), warnings: ctx.warnings };
}
