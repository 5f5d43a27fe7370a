// Address lists in the dashboard (issue 15): pasted or uploaded text → entries, the edit of one
// list applied to a configuration (rename follows into the rules that use it), per-list
// statistics and search. Pure; the write goes through the store's one write path, where the
// whole document is validated with the shared schema (lib/validations/config.ts).
import type { Config } from '../validations/config';
import { familyOf } from '../validations/net';

/** Largest pasted/uploaded list text accepted by the form (200 000 entries of ~40 bytes). */
export const MAX_LIST_TEXT = 8 * 1024 * 1024;

/** One entry per line (or separated by commas/blanks); `#` and `;` start a comment (blocklist
 *  files use both); duplicates are dropped, the first occurrence keeps its place. */
export function parseEntriesText(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '');
    for (const tok of line.split(/[\s,]+/)) {
      if (!tok || seen.has(tok)) continue;
      seen.add(tok);
      out.push(tok);
    }
  }
  return out;
}

export interface ListEdit {
  /** The list edited ("" / null = a new one). */
  original: string | null;
  name: string;
  entries: string[];
  /** replace: the list becomes `entries`; append: `entries` are added to what it has. */
  mode: 'replace' | 'append';
}

export class ListRefused extends Error {}

/** The configuration with one list created, replaced, appended to or renamed. */
export function applyListEdit(c: Config, e: ListEdit): Config {
  const lists = [...c.addressLists];
  const i = e.original ? lists.findIndex((l) => l.name === e.original) : -1;
  if (e.original && i < 0) throw new ListRefused(`list ${e.original} no longer exists`);
  if (lists.some((l, j) => l.name === e.name && j !== i)) throw new ListRefused(`a list named ${e.name} already exists`);
  const prev = i >= 0 ? lists[i].entries : [];
  const entries = e.mode === 'append' ? [...prev, ...e.entries.filter((x) => !new Set(prev).has(x))] : e.entries;
  const list = { name: e.name, entries };
  if (i >= 0) lists[i] = list;
  else lists.push(list);
  const renamed = e.original && e.original !== e.name ? e.original : null;
  const rules = renamed
    ? c.rules.map((r) => ({ ...r, ...(r.sourceList === renamed ? { sourceList: e.name } : {}), ...(r.destinationList === renamed ? { destinationList: e.name } : {}) }))
    : c.rules;
  return { ...c, addressLists: lists, rules };
}

/** The configuration without list `name`; refused while a rule uses it (say which). */
export function deleteList(c: Config, name: string): Config {
  const users = c.rules.filter((r) => r.sourceList === name || r.destinationList === name).map((r) => r.name);
  if (users.length) throw new ListRefused(`list ${name} is used by rule${users.length > 1 ? 's' : ''} ${users.join(', ')}: change ${users.length > 1 ? 'them' : 'it'} first`);
  if (!c.addressLists.some((l) => l.name === name)) throw new ListRefused(`list ${name} no longer exists`);
  return { ...c, addressLists: c.addressLists.filter((l) => l.name !== name) };
}

export interface ListStats {
  name: string;
  entries: number;
  v4: number;
  v6: number;
  /** Rules that use the list, with the direction. */
  rules: { name: string; chain: string; action: string; enabled: boolean; as: 'source' | 'destination' }[];
}

export function listStats(c: Config | null | undefined): ListStats[] {
  return (c?.addressLists ?? []).map((l) => {
    let v4 = 0;
    let v6 = 0;
    for (const e of l.entries) {
      const f = familyOf(e);
      if (f === 4) v4++;
      else if (f === 6) v6++;
    }
    const rules: ListStats['rules'] = [];
    for (const r of c?.rules ?? []) {
      if (r.sourceList === l.name) rules.push({ name: r.name, chain: r.chain, action: r.action, enabled: r.enabled, as: 'source' });
      if (r.destinationList === l.name) rules.push({ name: r.name, chain: r.chain, action: r.action, enabled: r.enabled, as: 'destination' });
    }
    return { name: l.name, entries: l.entries.length, v4, v6, rules };
  });
}

/** Entries containing `q` (case-insensitive), at most `limit`, and how many matched in all. */
export function searchEntries(entries: readonly string[], q: string, limit = 200): { matches: string[]; total: number } {
  const needle = q.trim().toLowerCase();
  if (!needle) return { matches: entries.slice(0, limit), total: entries.length };
  const matches: string[] = [];
  let total = 0;
  for (const e of entries) {
    if (!e.toLowerCase().includes(needle)) continue;
    total++;
    if (matches.length < limit) matches.push(e);
  }
  return { matches, total };
}

/** Schema errors of a saved list ("addressLists[2].entries[17]: …") as lines a user can find:
 *  "entry 18 (1.2.3.999): must be …". Other errors pass unchanged. */
export function listErrors(errors: readonly string[], listIndex: number, entries: readonly string[], max = 50): string[] {
  const re = new RegExp(`^addressLists\\[${listIndex}\\]\\.entries\\[(\\d+)\\]: (.*)$`);
  const out: string[] = [];
  for (const e of errors) {
    const m = re.exec(e);
    out.push(m ? `entry ${Number(m[1]) + 1} (${JSON.stringify(entries[Number(m[1])]?.slice(0, 60) ?? '')}): ${m[2]}` : e.replace(new RegExp(`^addressLists\\[${listIndex}\\]\\.`), ''));
    if (out.length >= max) {
      out.push(`… and ${errors.length - max} more`);
      break;
    }
  }
  return out;
}
