// Renders the ONE atomic `nft -f -` script that brings `table inet linkward` to the plan.
//  1. ensure the table and every declared object exist (plan.nftObjects: counters, helpers,
//     sets without elements, chains with their hook lines) — re-declaring an existing object
//     with the same properties is a no-op, so named counters keep their values;
//  2. flush every chain (declared or existing) and every non-dynamic set;
//  3. the full declaration (rules and static set elements);
//  4. delete objects that exist but are no longer declared: chains first (their rules are gone
//     after step 2), then sets/maps (no rule references them any more), counters, ct helpers;
//  (3b. with RenderOptions.keepSets: sets whose kernel content is known are neither flushed nor
//      re-filled; only `delete element` / `add element` for the difference — a one-entry change to
//      a 10 000-entry list sends two lines, not 10 000 elements)
//  5. the plan marker "lw:<planHash>" as the comment of the single rule of unhooked chain lw_meta
//     (a table comment cannot be updated once created; the agent reads the marker from lw_meta).
// Never `delete table`: that would zero named counters and empty dynamic sets (bans, pins).
//
// renderPartialTransaction (partial sync, the idea of kube-proxy's nftables mode): when the kernel
// still holds exactly the last applied plan, only the chains whose block changed are flushed and
// refilled, new counters/chains are added and gone ones deleted — one atomic transaction too. With
// 10 000 admin rules in rule-group chains (firewall/rules.ts), a one-rule change sends one group
// chain (~32 rules) instead of every rule, counter and set of the table.
import { createHash } from 'node:crypto';
import type { NftInventory, Plan } from './types';
import { META_CHAIN, NFT_TABLE_REF, planMarkerOf } from './constants';

/** sha256 of the declaration, first 16 hex digits. */
export function planHash(plan: Pick<Plan, 'nftDeclaration'>): string {
  return createHash('sha256').update(plan.nftDeclaration).digest('hex').slice(0, 16);
}

/** The comment the lw_meta rule carries after an apply (the agent compares it with the kernel's). */
export const planMarker = (plan: Pick<Plan, 'nftDeclaration'>) => planMarkerOf(planHash(plan));

/** Options of renderTransaction. */
export interface RenderOptions {
  /** Static sets whose current kernel content is known (name → elements as last applied). When
   *  the set exists, is still declared with the same properties, its elements are not flushed and
   *  re-sent: the script carries `delete element` / `add element` for the difference only. */
  keepSets?: Record<string, { props: string[]; elements: string[] }>;
}

/** Sets of `plan` that can be updated by element deltas, with their deltas. */
export function setDeltas(plan: Plan, existing: NftInventory | null, keep: RenderOptions['keepSets']): Map<string, { add: string[]; del: string[] }> {
  const out = new Map<string, { add: string[]; del: string[] }>();
  if (!keep || !existing) return out;
  for (const [name, want] of Object.entries(plan.staticSets)) {
    const had = keep[name];
    if (!had || !existing.sets.includes(name) || had.props.join('\n') !== want.props.join('\n')) continue;
    const hadSet = new Set(had.elements);
    const wantSet = new Set(want.elements);
    out.set(name, { add: want.elements.filter((e) => !hadSet.has(e)), del: had.elements.filter((e) => !wantSet.has(e)) });
  }
  return out;
}

/** The declaration with the `elements = { ... }` block of the named sets removed (format of renderTable). */
export function stripSetElements(decl: string, names: Iterable<string>): string {
  let text = decl;
  for (const name of names) {
    const head = `\tset ${name} {\n`;
    const start = text.indexOf(head);
    if (start < 0) continue;
    const blockEnd = text.indexOf('\n\t}', start);
    const el = text.indexOf('\n\t\telements = { ', start);
    if (el < 0 || blockEnd < 0 || el > blockEnd) continue;
    text = text.slice(0, el) + text.slice(blockEnd);
  }
  return text;
}

export function renderTransaction(plan: Plan, existing: NftInventory | null, opts: RenderOptions = {}): string {
  const out: string[] = [];
  const have = existing ?? { chains: [], sets: [], maps: [], counters: [], ctHelpers: [] };
  const want = plan.inventory;
  const dynamic = new Set(plan.dynamicSets);
  const deltas = setDeltas(plan, existing, opts.keepSets);

  out.push(`table ${NFT_TABLE_REF}`);
  out.push(plan.nftObjects.trimEnd());
  const flushChains = union(want.chains, have.chains).filter((c) => c !== META_CHAIN);
  for (const c of flushChains) out.push(`flush chain ${NFT_TABLE_REF} ${c}`);
  const flushSets = want.sets;
  for (const s of flushSets) if (!dynamic.has(s) && !deltas.has(s)) out.push(`flush set ${NFT_TABLE_REF} ${s}`);
  for (const m of want.maps) out.push(`flush map ${NFT_TABLE_REF} ${m}`);
  out.push((deltas.size ? stripSetElements(plan.nftDeclaration, deltas.keys()) : plan.nftDeclaration).trimEnd());
  for (const [name, d] of deltas) {
    if (d.del.length) out.push(`delete element ${NFT_TABLE_REF} ${name} { ${d.del.join(', ')} }`);
    if (d.add.length) out.push(`add element ${NFT_TABLE_REF} ${name} { ${d.add.join(', ')} }`);
  }
  for (const c of minus(have.chains, [...want.chains, META_CHAIN])) out.push(`delete chain ${NFT_TABLE_REF} ${c}`);
  for (const s of minus(have.sets, want.sets)) out.push(`delete set ${NFT_TABLE_REF} ${s}`);
  for (const m of minus(have.maps, want.maps)) out.push(`delete map ${NFT_TABLE_REF} ${m}`);
  for (const c of minus(have.counters, want.counters)) out.push(`delete counter ${NFT_TABLE_REF} ${c}`);
  for (const h of minus(have.ctHelpers, want.ctHelpers)) out.push(`delete ct helper ${NFT_TABLE_REF} ${h}`);
  out.push(`add chain ${NFT_TABLE_REF} ${META_CHAIN}`, `flush chain ${NFT_TABLE_REF} ${META_CHAIN}`);
  out.push(`add rule ${NFT_TABLE_REF} ${META_CHAIN} return comment "${planMarker(plan)}"`);
  return out.join('\n') + '\n';
}

/** What a partial sync compares against: the parts of the plan last applied to the kernel. */
export type AppliedTable = Pick<Plan, 'nftDeclaration' | 'nftObjects' | 'inventory' | 'staticSets' | 'dynamicSets'>;

/** The `\t<kind> NAME { ... }` blocks of a rendered table (renderTable's format), by name:
 *  kind "chain" of nftDeclaration (with rules), "set" or "ct helper" of nftObjects. */
export function blocks(text: string, kind: 'chain' | 'set' | 'ct helper'): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`^\\t${kind} (\\S+) \\{\\n(?:[\\s\\S]*?\\n)?\\t\\}$`, 'gm');
  for (const m of text.matchAll(re)) out.set(m[1], m[0]);
  return out;
}

const sameMap = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** Chains of `plan` whose block differs from `prev` (new ones included), in declaration order. */
export function changedChains(plan: Pick<Plan, 'nftDeclaration'>, prev: Pick<Plan, 'nftDeclaration'>): string[] {
  const a = blocks(plan.nftDeclaration, 'chain');
  const b = blocks(prev.nftDeclaration, 'chain');
  return [...a.keys()].filter((c) => b.get(c) !== a.get(c));
}

/** The partial transaction from `prev` (the plan the kernel holds) to `plan`, or null when only a
 *  full transaction can do it (sets or ct helpers added, removed or redeclared; a new base chain).
 *  Static set elements go as deltas against prev's elements. */
export function renderPartialTransaction(plan: Plan, prev: AppliedTable): { script: string; chains: string[]; setDeltas: number } | null {
  const T = NFT_TABLE_REF;
  if (!sameList(plan.inventory.sets, prev.inventory.sets) || !sameList(plan.inventory.maps, prev.inventory.maps)) return null;
  if (!sameList(plan.dynamicSets, prev.dynamicSets)) return null;
  if (!sameMap(blocks(plan.nftObjects, 'ct helper'), blocks(prev.nftObjects, 'ct helper'))) return null;
  if (!sameMap(blocks(plan.nftObjects, 'set'), blocks(prev.nftObjects, 'set'))) return null;
  const now = blocks(plan.nftDeclaration, 'chain');
  const was = blocks(prev.nftDeclaration, 'chain');
  // the declaration must be made of these blocks only (anything else: the full path)
  if (now.size !== plan.inventory.chains.length || was.size !== prev.inventory.chains.length) return null;
  const changed = [...now.keys()].filter((c) => was.get(c) !== now.get(c));
  const newChains = changed.filter((c) => !was.has(c));
  const gone = [...was.keys()].filter((c) => !now.has(c));
  const prevCounters = new Set(prev.inventory.counters);
  const newCounters = plan.inventory.counters.filter((c) => !prevCounters.has(c));
  const planCounters = new Set(plan.inventory.counters);
  const goneCounters = prev.inventory.counters.filter((c) => !planCounters.has(c));
  // new chains are rule groups (regular chains); a new hooked chain is a change of structure
  for (const c of newChains) if (/^\t\ttype /m.test(now.get(c) as string)) return null;
  const out: string[] = [];
  const decl: string[] = [...newCounters.map((c) => `\tcounter ${c} { }`), ...newChains.map((c) => `\tchain ${c} {\n\t}`)];
  if (decl.length) out.push(`table ${T} {\n${decl.join('\n')}\n}`);
  for (const c of [...changed.filter((x) => !newChains.includes(x)), ...gone]) out.push(`flush chain ${T} ${c}`);
  if (changed.length) out.push(`table ${T} {\n${changed.map((c) => now.get(c)).join('\n\n')}\n}`);
  let setDeltas = 0;
  for (const [name, want] of Object.entries(plan.staticSets)) {
    const had = prev.staticSets[name];
    if (!had) return null;
    const hadSet = new Set(had.elements);
    const wantSet = new Set(want.elements);
    const del = had.elements.filter((e) => !wantSet.has(e));
    const add = want.elements.filter((e) => !hadSet.has(e));
    if (del.length) out.push(`delete element ${T} ${name} { ${del.join(', ')} }`);
    if (add.length) out.push(`add element ${T} ${name} { ${add.join(', ')} }`);
    if (del.length || add.length) setDeltas++;
  }
  for (const c of gone) out.push(`delete chain ${T} ${c}`);
  for (const c of goneCounters) out.push(`delete counter ${T} ${c}`);
  out.push(`add chain ${T} ${META_CHAIN}`, `flush chain ${T} ${META_CHAIN}`);
  out.push(`add rule ${T} ${META_CHAIN} return comment "${planMarker(plan)}"`);
  return { script: out.join('\n') + '\n', chains: changed, setDeltas };
}

function union(a: string[], b: string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((x) => !seen.has(x))];
}

function minus(a: string[], b: string[]): string[] {
  const drop = new Set(b);
  return a.filter((x) => !drop.has(x));
}
