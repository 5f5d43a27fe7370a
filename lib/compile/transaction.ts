// Renders the ONE atomic `nft -f -` script that brings `table inet linkward` to the plan.
//  1. ensure the table and every declared object exist (plan.nftObjects: counters, helpers,
//     sets without elements, chains with their hook lines) — re-declaring an existing object
//     with the same properties is a no-op, so named counters keep their values;
//  2. flush every chain (declared or existing) and every non-dynamic set;
//  3. the full declaration (rules and static set elements);
//  4. delete objects that exist but are no longer declared: chains first (their rules are gone
//     after step 2), then sets/maps (no rule references them any more), counters, ct helpers;
//  5. the plan marker "lw:<planHash>" as the comment of the single rule of unhooked chain lw_meta
//     (a table comment cannot be updated once created; the agent reads the marker from lw_meta).
// Never `delete table`: that would zero named counters and empty dynamic sets (bans, pins).
import { createHash } from 'node:crypto';
import type { NftInventory, Plan } from './types';
import { META_CHAIN, NFT_TABLE_REF } from './constants';

/** sha256 of the declaration, first 16 hex digits. */
export function planHash(plan: Pick<Plan, 'nftDeclaration'>): string {
  return createHash('sha256').update(plan.nftDeclaration).digest('hex').slice(0, 16);
}

/** The comment the lw_meta rule carries after an apply (the agent compares it with the kernel's). */
export const planMarker = (plan: Pick<Plan, 'nftDeclaration'>) => `lw:${planHash(plan)}`;

export function renderTransaction(plan: Plan, existing: NftInventory | null): string {
  const out: string[] = [];
  const have = existing ?? { chains: [], sets: [], maps: [], counters: [], ctHelpers: [] };
  const want = plan.inventory;
  const dynamic = new Set(plan.dynamicSets);

  out.push(`table ${NFT_TABLE_REF}`);
  if (plan.nftObjects) out.push(plan.nftObjects.trimEnd());
  const flushChains = (plan.nftObjects ? union(want.chains, have.chains) : have.chains).filter((c) => c !== META_CHAIN);
  for (const c of flushChains) out.push(`flush chain ${NFT_TABLE_REF} ${c}`);
  const flushSets = plan.nftObjects ? want.sets : want.sets.filter((s) => have.sets.includes(s));
  for (const s of flushSets) if (!dynamic.has(s)) out.push(`flush set ${NFT_TABLE_REF} ${s}`);
  for (const m of plan.nftObjects ? want.maps : want.maps.filter((x) => have.maps.includes(x))) out.push(`flush map ${NFT_TABLE_REF} ${m}`);
  out.push(plan.nftDeclaration.trimEnd());
  for (const c of minus(have.chains, [...want.chains, META_CHAIN])) out.push(`delete chain ${NFT_TABLE_REF} ${c}`);
  for (const s of minus(have.sets, want.sets)) out.push(`delete set ${NFT_TABLE_REF} ${s}`);
  for (const m of minus(have.maps, want.maps)) out.push(`delete map ${NFT_TABLE_REF} ${m}`);
  for (const c of minus(have.counters, want.counters)) out.push(`delete counter ${NFT_TABLE_REF} ${c}`);
  for (const h of minus(have.ctHelpers, want.ctHelpers)) out.push(`delete ct helper ${NFT_TABLE_REF} ${h}`);
  out.push(`add chain ${NFT_TABLE_REF} ${META_CHAIN}`, `flush chain ${NFT_TABLE_REF} ${META_CHAIN}`);
  out.push(`add rule ${NFT_TABLE_REF} ${META_CHAIN} return comment "${planMarker(plan)}"`);
  return out.join('\n') + '\n';
}

function union(a: string[], b: string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((x) => !seen.has(x))];
}

function minus(a: string[], b: string[]): string[] {
  const drop = new Set(b);
  return a.filter((x) => !drop.has(x));
}
