// The admin rules of config.rules (chain input, forward or output), one renderer for all three.
// A rule matches one family when it names one (an IPv4 or IPv6 address, icmp or icmpv6), the
// families of its address lists otherwise (one line per family, each against that family's set;
// an empty list has both, empty),
// and both when it names none (one family-neutral line).
import type { Rule } from '../../validations/config';
import { familyOf, type Family } from '../../validations/net';
import { ofFamily } from '../addrset';
import { comment, counterRule, logPrefixRule, setAddressList, setAddressList6 } from '../constants';
import type { FirewallContext } from './context';
import { cnt, famKw, portStr } from './fragments';
import { canonicalNet } from '../../validations/net';

/** Chains with at most this many enabled admin rules keep them inline. */
export const RULE_GROUP_INLINE = 64;
/** A group ends before a rule whose name hashes to 0 mod this (~32 rules a group on average)... */
export const RULE_GROUP_SPREAD = 32;
/** ...or when it has this many rules. */
export const RULE_GROUP_MAX = 128;

/** FNV-1a of a name (deterministic group boundaries). */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The enabled rules of one chain split into groups, config order. Boundaries depend on the rules'
 *  names, not their positions (content-defined chunking), so inserting, removing or changing a rule
 *  changes its own group only (and at most merges or splits it with a neighbour). */
export function ruleGroups<T extends { name: string }>(rules: readonly T[]): T[][] {
  const groups: T[][] = [];
  let cur: T[] = [];
  for (const r of rules) {
    if (cur.length > 0 && (cur.length >= RULE_GROUP_MAX || nameHash(r.name) % RULE_GROUP_SPREAD === 0)) {
      groups.push(cur);
      cur = [];
    }
    cur.push(r);
  }
  if (cur.length) groups.push(cur);
  return groups;
}

/** The chain of a group: named after its first rule (stable while that rule stays first). */
export const ruleGroupChain = (chain: Rule['chain'], first: string) => `rules_${chain}_${first}`;

/** Enabled rules of one chain, config order: inline, or (more than RULE_GROUP_INLINE) one jump per
 *  group chain, the groups registered in ctx.ruleChains. Every admin rule's verdict is final
 *  (accept, drop, reject), so a rule in a jumped-to chain decides exactly as it would inline. */
export function adminRules(ctx: FirewallContext, chain: Rule['chain']): string[] {
  const rules = ctx.config.rules.filter((r) => r.enabled && r.chain === chain);
  if (rules.length <= RULE_GROUP_INLINE) return rules.flatMap((r) => adminRuleCached(ctx, r));
  return ruleGroups(rules).map((g) => {
    const name = ruleGroupChain(chain, g[0].name);
    ctx.ruleChains.push({ name, rules: g.flatMap((r) => adminRuleCached(ctx, r)) });
    return `jump ${name}`;
  });
}

/** Rendered admin rules (lines and warnings) by rule object — the agent validates a revision
 *  incrementally (parseConfigIncremental), so an unchanged rule is the same frozen object in the
 *  next config — and by what else adminRule reads: its uplink's interface, the families of its
 *  lists, the log statement. A one-rule change of a big rule set renders one rule; the output is
 *  adminRule's. Weak: gone with the configs that hold the rules. */
const ruleCache = new WeakMap<Rule, { key: string; lines: string[]; warnings: string[] }>();
/** Per compile (context): the families ("4", "6", "46"; "" = empty) of each address list. */
const listFamilies = new WeakMap<FirewallContext, Map<string, string>>();

function familiesOfList(ctx: FirewallContext, name: string): string {
  let m = listFamilies.get(ctx);
  if (!m) listFamilies.set(ctx, (m = new Map()));
  let f = m.get(name);
  if (f === undefined) {
    const entries = ctx.config.addressLists.find((x) => x.name === name)?.entries ?? [];
    f = ([4, 6] as const).filter((fam) => ofFamily(entries, fam).length > 0).join('');
    m.set(name, f);
  }
  return f;
}

function adminRuleCached(ctx: FirewallContext, r: Rule): string[] {
  if (!Object.isFrozen(r)) return adminRule(ctx, r); // a rule object that may still change
  const key = [
    r.uplink === undefined ? '' : ctx.byName.get(r.uplink)?.interface ?? '?',
    r.sourceList === undefined ? '' : familiesOfList(ctx, r.sourceList),
    r.destinationList === undefined ? '' : familiesOfList(ctx, r.destinationList),
    r.log ? ctx.log('') : '',
  ].join('\u0000');
  const hit = ruleCache.get(r);
  if (hit && hit.key === key) {
    ctx.warnings.push(...hit.warnings);
    return [...hit.lines];
  }
  const before = ctx.warnings.length;
  const lines = adminRule(ctx, r);
  ruleCache.set(r, { key, lines: [...lines], warnings: ctx.warnings.slice(before) });
  return lines;
}

/** The families a rule applies to: [] = none (contradiction, warned), [null] = family-neutral. */
export function ruleFamilies(ctx: FirewallContext, r: Rule): (Family | null)[] {
  let fams: Set<Family> | null = null;
  const only = (f: Family[]) => {
    fams = fams === null ? new Set(f) : new Set(f.filter((x) => fams!.has(x)));
  };
  for (const a of [r.source, r.destination]) if (a !== undefined) only([familyOf(a) ?? 4]);
  if (r.protocol === 'icmp') only([4]);
  if (r.protocol === 'icmpv6') only([6]);
  for (const l of [r.sourceList, r.destinationList]) {
    if (l === undefined) continue;
    const entries = ctx.config.addressLists.find((x) => x.name === l)?.entries ?? [];
    // an empty list matches nothing in either family (both its sets exist, empty): no constraint
    if (entries.length > 0) only(([4, 6] as const).filter((f) => ofFamily(entries, f).length > 0));
  }
  if (fams === null) return [null];
  const out = [...(fams as Set<Family>)].sort();
  if (out.length === 0) ctx.warnings.push(`rule ${r.name}: its addresses and lists share no address family; the rule matches nothing (not rendered)`);
  return out;
}

/** One rule; per family it applies to, one line (two in forward when bound to an uplink). */
export function adminRule(ctx: FirewallContext, r: Rule): string[] {
  return ruleFamilies(ctx, r).flatMap((f) => {
    const tail = [...matches(r, f), cnt(counterRule(r.name)), ...(r.log ? [ctx.log(logPrefixRule(r.name))] : []), verdict(r), comment('rule', r.name)].join(' ');
    if (r.uplink === undefined) return [tail];
    const ifn = `"${ctx.byName.get(r.uplink)!.interface}"`;
    if (r.chain === 'input') return [`iifname ${ifn} ${tail}`];
    if (r.chain === 'output') return [`oifname ${ifn} ${tail}`];
    return [`iifname ${ifn} ${tail}`, `oifname ${ifn} ${tail}`];
  });
}

function matches(r: Rule, f: Family | null): string[] {
  const m: string[] = [];
  const kw = famKw(f ?? 4);
  const set = (name: string) => (f === 6 ? setAddressList6(name) : setAddressList(name));
  if (r.source) m.push(`${kw} saddr ${canonicalNet(r.source)}`);
  if (r.sourceList) m.push(`${kw} saddr @${set(r.sourceList)}`);
  if (r.destination) m.push(`${kw} daddr ${canonicalNet(r.destination)}`);
  if (r.destinationList) m.push(`${kw} daddr @${set(r.destinationList)}`);
  if (r.protocol === 'tcp' || r.protocol === 'udp') m.push(r.port !== undefined ? `${r.protocol} dport ${portStr(r.port)}` : `meta l4proto ${r.protocol}`);
  else if (r.protocol === 'icmp') m.push('meta l4proto icmp');
  else if (r.protocol === 'icmpv6') m.push('meta l4proto icmpv6');
  return m;
}

function verdict(r: Rule): string {
  if (r.action !== 'reject') return r.action;
  return r.protocol === 'tcp' ? 'reject with tcp reset' : 'reject';
}
