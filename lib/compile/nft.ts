// The nftables model (objects of `table inet linkward`) and its deterministic text rendering.

export interface NftSet {
  name: string;
  /** Lines inside the set block except elements, e.g. ["type ipv4_addr", "flags interval", "auto-merge"]. */
  props: string[];
  /** Static elements (already rendered). Undefined for dynamic sets. */
  elements?: string[];
  dynamic: boolean;
}

export interface NftHelper {
  name: string;
  type: string;
  protocol: string;
}

export interface NftChain {
  name: string;
  /** Hook line ("type filter hook input priority filter; policy drop;") for base chains. */
  hook?: string;
  rules: string[];
}

export interface NftModel {
  counters: string[];
  helpers: NftHelper[];
  sets: NftSet[];
  chains: NftChain[];
}

const q = (s: string) => `"${s}"`;

function renderSet(s: NftSet, withElements: boolean): string {
  const lines = s.props.map((p) => `\t\t${p}`);
  if (withElements && s.elements && s.elements.length > 0) {
    lines.push(`\t\telements = { ${s.elements.join(',\n\t\t\t     ')} }`);
  }
  return `\tset ${s.name} {\n${lines.join('\n')}\n\t}`;
}

function renderChain(c: NftChain, withRules: boolean): string {
  const lines: string[] = [];
  if (c.hook) lines.push(`\t\t${c.hook}`);
  if (withRules) for (const r of c.rules) lines.push(`\t\t${r}`);
  return lines.length ? `\tchain ${c.name} {\n${lines.join('\n')}\n\t}` : `\tchain ${c.name} {\n\t}`;
}

/** Render the table block. full=false gives the "objects only" skeleton: counters, helpers,
 *  sets without elements, chains with only their hook line. */
export function renderTable(m: NftModel, family: string, table: string, full: boolean): string {
  const blocks: string[] = [];
  if (m.counters.length > 0) blocks.push(m.counters.map((c) => `\tcounter ${c} { }`).join('\n'));
  for (const h of m.helpers) blocks.push(`\tct helper ${h.name} {\n\t\ttype ${q(h.type)} protocol ${h.protocol}\n\t\tl3proto ip\n\t}`);
  for (const s of m.sets) blocks.push(renderSet(s, full));
  for (const c of m.chains) blocks.push(renderChain(c, full));
  return `table ${family} ${table} {\n${blocks.join('\n\n')}\n}\n`;
}

/** "x" or "{ x, y }"; callers never pass an empty list. */
export function anyOf(xs: readonly string[]): string {
  if (xs.length === 0) throw new Error('anyOf: empty list');
  return xs.length === 1 ? xs[0] : `{ ${xs.join(', ')} }`;
}

export function ifaces(names: readonly string[]): string {
  return anyOf([...new Set(names)].map(q));
}

// Convenience re-export (callers import renderTransaction from here too).
export { renderTransaction, planHash, planMarker } from './transaction';
