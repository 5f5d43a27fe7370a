// Readable diffs between two revisions (issue 8): a line diff of the pretty-printed config JSON,
// and of what the compiler makes of each (nft declaration, routes, ip rules, sysctls) with the
// same facts. Pure; Myers' O((N+M)·D) algorithm after trimming the common prefix and suffix, with
// a cap on D so a huge change degrades to "replace this block" instead of burning CPU.
import type { Config } from '../validations/config';
import type { Facts, Plan } from '../compile/types';
import { compile } from '../compile/compile';

export type DiffOp = ' ' | '+' | '-';
export interface DiffLine {
  op: DiffOp;
  text: string;
}

const MAX_D = 4000;

/** Line diff of a and b: every line of both, in order, tagged ' ' (both), '-' (a only), '+' (b only). */
export function diffLines(a: string[], b: string[]): DiffLine[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const mid = myers(A, B);
  return [
    ...a.slice(0, pre).map((text) => ({ op: ' ' as const, text })),
    ...mid,
    ...a.slice(a.length - suf).map((text) => ({ op: ' ' as const, text })),
  ];
}

function myers(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((text) => ({ op: '+', text }));
  if (m === 0) return a.map((text) => ({ op: '-', text }));
  const max = Math.min(n + m, MAX_D);
  const off = max;
  let v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    const nv = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      nv[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, nv, a, b, d, off);
    }
    v = nv;
  }
  // Too different: show the whole middle as replaced.
  return [...a.map((text) => ({ op: '-' as const, text })), ...b.map((text) => ({ op: '+' as const, text }))];
}

function backtrack(trace: Int32Array[], last: Int32Array, a: string[], b: string[], dEnd: number, off: number): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const v = trace[d]; // state before step d (== after step d-1)
    const k = x - y;
    const down = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]);
    const pk = down ? k + 1 : k - 1;
    const px = v[off + pk];
    const py = px - pk;
    while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) {
      out.push({ op: ' ', text: a[--x] });
      y--;
    }
    if (down) out.push({ op: '+', text: b[--y] });
    else out.push({ op: '-', text: a[--x] });
  }
  while (x > 0 && y > 0) {
    out.push({ op: ' ', text: a[--x] });
    y--;
  }
  void last;
  return out.reverse();
}

/** Unified-diff style text with `context` lines around changes ("@@" between hunks). */
export function unified(lines: DiffLine[], context = 3): string {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === ' ') return;
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep[j] = true;
  });
  const out: string[] = [];
  let gap = false;
  lines.forEach((l, i) => {
    if (!keep[i]) {
      gap = true;
      return;
    }
    if (gap || out.length === 0) out.push('@@');
    gap = false;
    out.push(`${l.op}${l.text}`);
  });
  return out.join('\n');
}

export function countChanges(lines: DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.op === '+') added++;
    else if (l.op === '-') removed++;
  }
  return { added, removed };
}

export const configLines = (c: Config | null): string[] => (c ? JSON.stringify(c, null, 2).split('\n') : []);

/** The compiled plan as diffable text: nft declaration, then routes, ip rules and sysctls. */
export function planLines(p: Plan | null): string[] {
  if (!p) return [];
  const out = p.nftDeclaration.split('\n');
  out.push('', '# routes');
  for (const r of p.routes) out.push(`route table ${r.table} ${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.src ? ` src ${r.src}` : ''}${r.scope ? ` scope ${r.scope}` : ''}${r.onlink ? ' onlink' : ''}${r.nexthops ? ` ${r.nexthops.map((h) => `nexthop via ${h.via} dev ${h.dev} weight ${h.weight}`).join(' ')}` : ''}`);
  out.push('', '# ip rules');
  for (const r of p.rules) out.push(`rule pref ${r.priority}${r.from ? ` from ${r.from}` : ''}${r.fwmark ? ` fwmark 0x${r.fwmark.value.toString(16)}/0x${r.fwmark.mask.toString(16)}` : ''} lookup ${r.table}${r.suppressPrefixlength !== undefined ? ` suppress_prefixlength ${r.suppressPrefixlength}` : ''}`);
  out.push('', '# sysctls');
  for (const k of Object.keys(p.sysctls).sort()) out.push(`${k} = ${p.sysctls[k]}`);
  return out;
}

/** Facts to compile with when the agent has not reported any: every interface present, up, no addresses. */
export function normalizeFacts(raw: unknown): Facts {
  const f = raw as Partial<Facts> | null;
  return { interfaces: f?.interfaces ?? {}, health: f?.health ?? {}, ...(Array.isArray(f?.overCap) && f.overCap.length ? { overCap: f.overCap } : {}) };
}

export interface RevisionDiff {
  config: DiffLine[];
  plan: DiffLine[];
  planError: string | null;
}

/** Diff two configs and their compiled plans (same facts for both). */
export function diffRevisions(a: Config | null, b: Config, facts: Facts): RevisionDiff {
  let planError: string | null = null;
  const safe = (c: Config | null): Plan | null => {
    if (!c) return null;
    try {
      return compile(c, facts);
    } catch (e) {
      planError = (e as Error).message;
      return null;
    }
  };
  return { config: diffLines(configLines(a), configLines(b)), plan: diffLines(planLines(safe(a)), planLines(safe(b))), planError };
}
