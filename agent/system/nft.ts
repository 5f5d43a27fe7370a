// nftables access for `table inet linkward`: inventory, check/apply of transactions (stdin),
// counters, a drift fingerprint and the plan marker. Every command goes through the Runner.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { NftInventory } from '../../lib/compile/types';
import { COMMENT_PREFIX, META_CHAIN, NFT_FAMILY as TABLE_FAMILY, NFT_TABLE as TABLE_NAME } from '../../lib/compile/constants';
import { CommandError, type Runner, type Session } from './runner';

/** nft rejected a script (syntax/semantic error) or could not run. `stderr` is nft's own message. */
export class NftError extends Error {
  readonly stage: 'check' | 'apply' | 'read';
  readonly stderr: string;
  readonly exitCode: number | undefined;
  constructor(stage: 'check' | 'apply' | 'read', message: string, stderr: string, exitCode: number | undefined, cause?: unknown) {
    super(`nft ${stage} failed: ${message}${stderr ? `\n${stderr.trim()}` : ''}`, cause ? { cause } : undefined);
    this.name = 'NftError';
    this.stage = stage;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

const Named = z.object({ name: z.string(), table: z.string().optional(), family: z.string().optional() });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{"nftables": [ {...}, ... ]}`, checked by hand (it is on the agent's 2 s counter path; a zod
 *  schema over ~1 000 items cost more than JSON.parse itself). */
function parseDoc(text: string, what: string): Record<string, unknown>[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NftError('read', `${what}: invalid JSON (${(e as Error).message})`, '', 0);
  }
  const items = isRecord(raw) ? raw.nftables : undefined;
  if (!Array.isArray(items)) throw new NftError('read', `${what}: unexpected JSON shape`, 'expected {"nftables": [...]}', 0);
  for (let i = 0; i < items.length; i++) {
    if (!isRecord(items[i])) throw new NftError('read', `${what}: unexpected JSON shape`, `nftables[${i}] is not an object`, 0);
  }
  return items as Record<string, unknown>[];
}

function isNoTable(stderr: string): boolean {
  return /No such file or directory/.test(stderr);
}

/** Run a read-only nft command; null when the table does not exist. */
async function nftRead(runner: Runner, args: string[], signal?: AbortSignal): Promise<string | null> {
  let r;
  try {
    r = await runner.run(['nft', ...args], { allowFail: true, ...(signal ? { signal } : {}) });
  } catch (e) {
    const ce = e instanceof CommandError ? e : undefined;
    throw new NftError('read', `nft ${args.join(' ')}`, ce?.stderr ?? String(e), ce?.exitCode, e);
  }
  if (r.exitCode === 0) return r.stdout;
  if (isNoTable(r.stderr)) return null;
  throw new NftError('read', `nft ${args.join(' ')} exited ${r.exitCode}`, r.stderr, r.exitCode);
}

/** Pure: inventory of an `nft -j [-t] list table` document. */
export function inventoryFromJson(text: string): NftInventory {
  const inv: NftInventory = { chains: [], sets: [], maps: [], counters: [], ctHelpers: [] };
  const key: Record<string, keyof NftInventory> = { chain: 'chains', set: 'sets', map: 'maps', counter: 'counters', 'ct helper': 'ctHelpers' };
  for (const item of parseDoc(text, 'nft -j list table')) {
    for (const [k, v] of Object.entries(item)) {
      const slot = key[k];
      if (!slot) continue;
      const n = Named.safeParse(v);
      if (n.success && (n.data.table === undefined || n.data.table === TABLE_NAME)) inv[slot].push(n.data.name);
    }
  }
  for (const k of Object.keys(inv) as (keyof NftInventory)[]) inv[k].sort();
  return inv;
}

/** Objects currently in table inet linkward (terse: no set elements); null if the table is absent. */
export async function readInventory(runner: Runner): Promise<NftInventory | null> {
  const out = await nftRead(runner, ['-j', '-t', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  return out === null ? null : inventoryFromJson(out);
}

async function runScript(runner: Runner, stage: 'check' | 'apply', text: string, timeoutMs: number, onPid?: (pid: number) => void): Promise<void> {
  const argv = stage === 'check' ? ['nft', '-c', '-f', '-'] : ['nft', '-f', '-'];
  let r;
  try {
    r = await runner.run(argv, { input: text, allowFail: true, timeoutMs, ...(onPid ? { onPid } : {}) });
  } catch (e) {
    const ce = e instanceof CommandError ? e : undefined;
    throw new NftError(stage, ce?.timedOut ? 'timed out' : 'could not run nft', ce?.stderr ?? String(e), ce?.exitCode, e);
  }
  if (r.exitCode !== 0) throw new NftError(stage, `nft exited ${r.exitCode}`, r.stderr, r.exitCode);
}

/** `nft -c -f -`: validate a script without touching the ruleset. Throws NftError with nft's stderr. */
export function checkScript(runner: Runner, text: string, timeoutMs = 60000): Promise<void> {
  return runScript(runner, 'check', text, timeoutMs);
}

/** `nft -f -`: apply a script as one kernel transaction. Throws NftError with nft's stderr.
 *  `onPid`: told the nft process id (its transaction's "by process" in `nft monitor`). */
export function applyScript(runner: Runner, text: string, timeoutMs = 60000, onPid?: (pid: number) => void): Promise<void> {
  return runScript(runner, 'apply', text, timeoutMs, onPid);
}

export interface CounterValue {
  name: string;
  packets: number;
  bytes: number;
}

/** Pure: counters of an `nft -j list counters` document, restricted to table inet linkward. */
export function countersFromJson(text: string): CounterValue[] {
  const out: CounterValue[] = [];
  for (const item of parseDoc(text, 'nft -j list counters')) {
    if (!('counter' in item)) continue;
    const c = item.counter;
    if (!isRecord(c) || typeof c.name !== 'string' || typeof c.packets !== 'number' || typeof c.bytes !== 'number' || (c.table !== undefined && typeof c.table !== 'string')) {
      throw new NftError('read', 'nft -j list counters: unexpected counter shape', JSON.stringify(c).slice(0, 200), 0);
    }
    if (c.table !== undefined && c.table !== TABLE_NAME) continue;
    out.push({ name: c.name, packets: c.packets, bytes: c.bytes });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Named counter values in table inet linkward ([] when the table does not exist). */
export async function readCounters(runner: Runner): Promise<CounterValue[]> {
  const out = await nftRead(runner, ['-j', 'list', 'counters', 'table', TABLE_FAMILY, TABLE_NAME]);
  return out === null ? [] : countersFromJson(out);
}

/** After this many reads the `nft -i` process is replaced (bounds whatever it may accumulate). */
const SESSION_MAX_READS = 1000;

/**
 * Counter reads for the agent's 2 s cycle through one long-running `nft -j -i` session of the
 * runner (one request line, one JSON answer line; errors on stderr) instead of a new `nft` per
 * read: no fork/exec in the agent and no nft start-up per read. Any trouble (timeout, exit, an
 * answer out of step, an error other than "no table") closes the session; that read falls back to
 * readCounters() and the next one starts a new session. A runner without sessions (the fake)
 * gets plain reads.
 */
export class NftCounterReader {
  private session: Session | null = null;
  private reads = 0;
  private sessions = true;

  constructor(private readonly runner: Runner) {}

  async read(): Promise<CounterValue[]> {
    if (!this.sessions) return readCounters(this.runner);
    try {
      if (!this.session?.alive || this.reads >= SESSION_MAX_READS) {
        this.session?.close();
        this.session = null;
        try {
          this.session = this.runner.session(['nft', '-j', '-i']);
        } catch {
          this.sessions = false; // this runner cannot hold sessions
          return readCounters(this.runner);
        }
        this.reads = 0;
      }
      this.reads++;
      const r = await this.session.request(`list counters table ${TABLE_FAMILY} ${TABLE_NAME}`, 10000);
      if (r.stdout !== null) return countersFromJson(r.stdout);
      if (isNoTable(r.stderr)) return [];
      throw new NftError('read', 'nft -i: list counters failed', r.stderr, undefined);
    } catch {
      this.close();
      return readCounters(this.runner);
    }
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function strip(v: Json): Json {
  if (Array.isArray(v)) return v.map(strip);
  if (v === null || typeof v !== 'object') return v;
  const o: { [k: string]: Json } = {};
  for (const k of Object.keys(v).sort()) {
    if (k === 'handle') continue;
    const val = v[k];
    // anonymous counters inside rule expressions: {"counter": {"packets": n, "bytes": n}}
    if (k === 'counter' && val !== null && typeof val === 'object' && !Array.isArray(val) && 'packets' in val) {
      o[k] = strip(Object.fromEntries(Object.entries(val).filter(([kk]) => kk !== 'packets' && kk !== 'bytes')) as Json);
      continue;
    }
    o[k] = strip(val);
  }
  return o;
}

/** Pure: the table document with handles, counter values, quota usage and dynamic-set elements removed. */
export function normalizeTableJson(text: string, dynamicSets: string[] = [], opts: { noElements?: boolean } = {}): string {
  return normalizeItems(parseDoc(text, 'nft -j list table') as Record<string, Json>[], dynamicSets, opts);
}

function normalizeItems(items: Record<string, Json>[], dynamicSets: string[], opts: { noElements?: boolean } = {}): string {
  const dyn = new Set(dynamicSets);
  const kept: Json[] = [];
  for (const item of items) {
    if ('metainfo' in item) continue;
    const entries = Object.entries(item).map(([k, v]): [string, Json] => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return [k, v];
      const o: { [kk: string]: Json } = { ...v };
      if (k === 'counter') {
        delete o.packets;
        delete o.bytes;
      }
      if (k === 'quota') delete o.used;
      if (k === 'set' || k === 'map') {
        const flags = Array.isArray(o.flags) ? o.flags : [];
        // elements of kernel-owned sets (listed as dynamic, or with timeouts) change at runtime
        if (opts.noElements || dyn.has(String(o.name)) || flags.includes('dynamic') || flags.includes('timeout')) delete o.elem;
      }
      return [k, o];
    });
    kept.push(strip(Object.fromEntries(entries) as Json));
  }
  return JSON.stringify(kept);
}

/** Stable hash of the table's content (null if absent): detects drift, proves "apply twice = no change". */
export async function tableFingerprint(runner: Runner, dynamicSets: string[] = []): Promise<string | null> {
  const out = await nftRead(runner, ['-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  if (out === null) return null;
  return createHash('sha256').update(normalizeTableJson(out, dynamicSets)).digest('hex');
}

/** Pure: one nft JSON set element as linkward renders it ("a.b.c.d", "a.b.c.d/n", "a-b"); null if unknown. */
export function elementText(e: unknown): string | null {
  if (typeof e === 'string' || typeof e === 'number') return String(e);
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const p = o.prefix as { addr?: unknown; len?: unknown } | undefined;
    if (p && typeof p.addr === 'string' && typeof p.len === 'number') return `${p.addr}/${p.len}`;
    const r = o.range;
    if (Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'string') return `${r[0]}-${r[1]}`;
    if ('elem' in o) return elementText((o.elem as { val?: unknown }).val ?? o.elem);
  }
  return null;
}

/** Pure: elements of every set of table inet linkward in an `nft -j list table` document. */
export function setElementsFromJson(text: string): Record<string, string[]> {
  return setElementsOf(parseDoc(text, 'nft -j list table'));
}

function setElementsOf(items: Record<string, unknown>[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const s = item.set as { name?: unknown; table?: unknown; elem?: unknown } | undefined;
    if (!s || typeof s.name !== 'string' || (s.table !== undefined && s.table !== TABLE_NAME)) continue;
    const elems = Array.isArray(s.elem) ? s.elem : [];
    out[s.name] = elems.map(elementText).filter((x): x is string => x !== null);
  }
  return out;
}

/** The table in parts (from normalized JSON): a hash of each chain's rules, the chain and counter
 *  names, and a hash of every other object (table, sets without elements, ct helpers) — what a
 *  partial sync checks after its apply: the chains it did not touch must be as it left them. */
export interface TableParts {
  rules: Record<string, string>;
  chains: string[];
  counters: string[];
  objects: string;
}

export function tableParts(normalized: string): TableParts {
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  const byChain = new Map<string, string[]>();
  const chains: string[] = [];
  const counters: string[] = [];
  const other: string[] = [];
  for (const item of JSON.parse(normalized) as Record<string, Record<string, unknown>>[]) {
    if (item.rule) {
      const c = String(item.rule.chain);
      const { handle: _h, ...r } = item.rule;
      void _h;
      (byChain.get(c) ?? byChain.set(c, []).get(c)!).push(JSON.stringify(r));
    } else if (item.chain) {
      chains.push(String(item.chain.name));
      const { handle: _h, ...c } = item.chain;
      void _h;
      if (c.hook !== undefined) other.push(JSON.stringify({ chain: c })); // base chains: hook, policy
    } else if (item.counter) counters.push(String(item.counter.name));
    else {
      const [k, v] = Object.entries(item)[0] ?? ['', {}];
      const { handle: _h, elem: _e, ...o } = (v ?? {}) as Record<string, unknown>;
      void _h;
      void _e;
      other.push(JSON.stringify({ [k]: o }));
    }
  }
  const rules: Record<string, string> = {};
  for (const [c, rs] of byChain) rules[c] = hash(rs.join('\n'));
  return { rules, chains: chains.sort(), counters: counters.sort(), objects: hash(other.sort().join('\n')) };
}

/** One read of the whole table: its drift fingerprint, its parts, the elements of its sets and
 *  the plan marker it carries (all null when the table is absent). The document is parsed once. */
export interface TableSnapshot {
  fingerprint: string | null;
  parts: TableParts | null;
  sets: Record<string, string[]> | null;
  marker: string | null;
}

/** `stale()`, asked once nft answered: true when the answer is no longer wanted (an apply came
 *  meanwhile), which saves parsing megabytes of JSON for nothing (null is returned). */
export async function readTableSnapshot(runner: Runner, dynamicSets: string[] = [], signal?: AbortSignal, stale?: () => boolean): Promise<TableSnapshot | null> {
  const out = await nftRead(runner, ['-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME], signal);
  if (stale?.()) return null;
  if (out === null) return { fingerprint: null, parts: null, sets: null, marker: null };
  const items = parseDoc(out, 'nft -j list table');
  const marker = markerOf(items);
  const sets = setElementsOf(items);
  const norm = normalizeItems(items as Record<string, Json>[], dynamicSets);
  return { fingerprint: createHash('sha256').update(norm).digest('hex'), parts: tableParts(norm), sets, marker };
}

const RuleObj = z.object({ chain: z.string(), comment: z.string().optional() });

/** Pure: the plan marker from `nft -j list chain inet linkward lw_meta` output. */
export function markerFromChainJson(text: string): string | null {
  return markerOf(parseDoc(text, 'nft -j list chain'));
}

function markerOf(items: Record<string, unknown>[]): string | null {
  for (const item of items) {
    if (!('rule' in item)) continue;
    const r = RuleObj.safeParse(item.rule);
    if (r.success && r.data.chain === META_CHAIN && r.data.comment?.startsWith(COMMENT_PREFIX)) return r.data.comment;
  }
  return null;
}

/** Pure: the table-level `comment "..."` of an `nft list table` text listing. */
export function tableCommentFromText(text: string): string | null {
  let depth = 0;
  for (const line of text.split('\n')) {
    if (depth === 1) {
      const m = /^\s*comment "((?:[^"\\]|\\.)*)"\s*$/.exec(line);
      if (m) return m[1];
    }
    for (const ch of line) {
      if (ch === '{') depth++;
      else if (ch === '}') depth--;
    }
  }
  return null;
}

/**
 * The plan marker of table inet linkward: the comment ("lw:<planHash>") of the rule in chain
 * lw_meta, else the table's own comment; null if neither (or no table).
 * Why a chain rule: nft 1.0.6 / the kernel keep a table's comment from its creation; a
 * `table inet linkward { comment "..." }` redeclaration silently does not update it, and
 * deleting the table to change it would zero the named counters.
 */
export async function readTableComment(runner: Runner): Promise<string | null> {
    const r = await runner.run(['nft', '-j', 'list', 'chain', TABLE_FAMILY, TABLE_NAME, META_CHAIN], { allowFail: true });
  if (r.exitCode === 0) {
    const m = markerFromChainJson(r.stdout);
    if (m !== null) return m;
  }
  const t = await nftRead(runner, ['-t', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  return t === null ? null : tableCommentFromText(t);
}

/** One terse read (`nft -j -t list table`): the plan marker (as readTableComment) and the inventory; null if no table. */
export async function readTableState(runner: Runner): Promise<{ marker: string | null; inventory: NftInventory } | null> {
  const out = await nftRead(runner, ['-j', '-t', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  if (out === null) return null;
  let marker = markerFromChainJson(out);
  if (marker === null) {
    for (const item of parseDoc(out, 'nft -j -t list table')) {
      const t = item.table as { name?: unknown; comment?: unknown } | undefined;
      if (t && t.name === TABLE_NAME && typeof t.comment === 'string') marker = t.comment;
    }
  }
  return { marker, inventory: inventoryFromJson(out) };
}

/** The plan marker alone (`nft -j list chain inet linkward lw_meta`: one small chain, not the
 *  whole table); null when the table or the chain does not exist. */
export async function readMarker(runner: Runner): Promise<string | null> {
  const out = await nftRead(runner, ['-j', 'list', 'chain', TABLE_FAMILY, TABLE_NAME, META_CHAIN]);
  return out === null ? null : markerFromChainJson(out);
}

/** `nft -j list set inet linkward NAME`; null when the set (or the table) does not exist. */
export async function listSetJson(runner: Runner, name: string): Promise<string | null> {
  if (!OBJ_NAME_RE.test(name)) throw new Error(`invalid set name ${JSON.stringify(name)}`);
  const r = await runner.run(['nft', '-j', 'list', 'set', TABLE_FAMILY, TABLE_NAME, name], { allowFail: true, timeoutMs: 10000 });
  return r.exitCode === 0 ? r.stdout : null;
}

/** Delete one element (already validated by the caller's grammar, e.g. an address) from a set of
 *  table inet linkward; false when it was not there. */
export async function deleteSetElement(runner: Runner, name: string, element: string): Promise<boolean> {
  if (!OBJ_NAME_RE.test(name)) throw new Error(`invalid set name ${JSON.stringify(name)}`);
  if (!/^[0-9a-fA-F.:/]{1,64}$/.test(element)) throw new Error(`invalid set element ${JSON.stringify(element)}`);
  const r = await runner.run(['nft', 'delete', 'element', TABLE_FAMILY, TABLE_NAME, name, `{ ${element} }`], { allowFail: true, timeoutMs: 10000 });
  return r.exitCode === 0;
}

const OBJ_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
