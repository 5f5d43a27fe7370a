// applyPlan: bring the kernel to a Plan. nft first (one checked transaction, skipped entirely when
// the table already carries this plan's marker and has not drifted), then the route and ip rule
// deltas, then sysctls. Applying the same plan twice makes zero kernel changes.
import { createHash } from 'node:crypto';
import type { NftInventory, Plan } from '../../lib/compile/types';
import { planHash as compilePlanHash, renderTransaction as compileRenderTransaction, setDeltas, type RenderOptions } from '../../lib/compile/transaction';
import type { SysCtx } from './context';
import {
  applyScript,
  checkScript,
  markerScript,
  META_CHAIN,
  readInventory,
  readTableSnapshot,
  readTableState,
  TABLE_FAMILY,
  TABLE_NAME,
  tableFingerprint,
} from './nft';
import { syncRoutes, syncRules, type RouteOp, type RuleOp } from './routes';
import { applySysctls, type SysctlChange } from './sysctl';

export type RenderTransaction = (plan: Plan, existing: NftInventory | null, opts?: RenderOptions) => string;

export interface ApplyCtx extends SysCtx {
  /** Defaults to lib/compile's renderTransaction (basicRenderTransaction in nft.ts is an alternative). */
  renderTransaction?: RenderTransaction;
  /** Defaults to lib/compile's planHash. Must be the hash the rendered lw_meta marker carries. */
  planHash?: (plan: Plan) => string;
  /** Filled by applyPlan: the marker and fingerprint recorded after our last nft apply, and the
   *  static sets' elements it left in the kernel (verified by reading them back). */
  cache?: { marker: string; fingerprint: string | null; sets?: Plan['staticSets'] };
  /** Internal: serializes concurrent applyPlan calls on the same ctx. */
  lock?: Promise<unknown>;
}

export interface ApplyResult {
  nftChanged: boolean;
  /** Why nft was (not) applied: 'unchanged' | 'first-trust' | 'no-table' | 'marker-differs' | 'drift'. */
  nftReason: string;
  routeOps: RouteOp[];
  ruleOps: RuleOp[];
  sysctlsChanged: SysctlChange[];
  durationMs: number;
}

/** Routes, rules or sysctls failed after nft succeeded; `partial` tells what was done. */
export class ApplyError extends Error {
  readonly partial: ApplyResult;
  readonly errors: Error[];
  constructor(errors: Error[], partial: ApplyResult) {
    super(`apply incomplete: ${errors.map((e) => e.message).join(' | ')}`);
    this.name = 'ApplyError';
    this.errors = errors;
    this.partial = partial;
  }
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Alternative hash of everything the nft transaction depends on (declaration, inventory, dynamic sets). */
export function nftPlanHash(plan: Plan): string {
  return createHash('sha256')
    .update(stable({ d: plan.nftDeclaration, i: plan.inventory, s: plan.dynamicSets }))
    .digest('hex')
    .slice(0, 32);
}

function withoutMeta(inv: NftInventory | null): NftInventory | null {
  return inv && { ...inv, chains: inv.chains.filter((c) => c !== META_CHAIN) };
}

const hashOf = (ctx: ApplyCtx, plan: Plan): string => (ctx.planHash ?? compilePlanHash)(plan);

/** The full nft script applyPlan would send (render + marker unless the renderer wrote it), for dry runs and tests. */
export function buildTransaction(ctx: ApplyCtx, plan: Plan, existing: NftInventory | null, opts: RenderOptions = {}): string {
  const render = ctx.renderTransaction ?? compileRenderTransaction;
  let text = render(plan, withoutMeta(existing), opts);
  if (!text.endsWith('\n')) text += '\n';
  const marker = `lw:${hashOf(ctx, plan)}`;
  if (text.includes(`add rule ${TABLE_FAMILY} ${TABLE_NAME} ${META_CHAIN} `)) {
    if (!text.includes(`comment "${marker}"`)) throw new Error(`renderTransaction wrote a plan marker other than ${marker}: pass the matching planHash`);
    return text;
  }
  return text + markerScript(hashOf(ctx, plan));
}

async function applyNft(ctx: ApplyCtx, plan: Plan): Promise<{ changed: boolean; reason: string }> {
  const marker = `lw:${hashOf(ctx, plan)}`;
  // one read for marker and inventory (was two nft runs before every apply)
  const state = await readTableState(ctx);
  const current = state?.marker ?? null;
  let reason = current === null ? 'no-table' : 'marker-differs';
  if (current === marker) {
    const fp = await tableFingerprint(ctx, plan.dynamicSets);
    if (!ctx.cache || ctx.cache.marker !== marker) {
      ctx.cache = { marker, fingerprint: fp }; // first look after start: trust the marker
      return { changed: false, reason: 'first-trust' };
    }
    if (fp === ctx.cache.fingerprint) return { changed: false, reason: 'unchanged' };
    reason = 'drift';
  }
  const existing = state?.inventory ?? null;
  // Element deltas for static sets only when the kernel still carries exactly our last apply
  // (its marker) and we know what that apply left in those sets; never to repair drift.
  const keepSets = reason === 'marker-differs' && ctx.cache?.sets && current === ctx.cache.marker ? ctx.cache.sets : undefined;
  const useDelta = keepSets !== undefined && setDeltas(plan, existing, keepSets).size > 0;
  if (useDelta) {
    // A delta transaction goes straight to `nft -f`: it is one kernel transaction, so a refusal
    // changes nothing, exactly like a failed `nft -c` — and each nft run re-reads the big sets
    // (≈60 ms for 10 000 elements). Refused (e.g. interval overlaps nft will not take as a
    // delta): the full transaction, checked first as always.
    const delta = buildTransaction(ctx, plan, existing, { keepSets });
    try {
      await applyScript(ctx, delta);
    } catch {
      const full = buildTransaction(ctx, plan, existing);
      await checkScript(ctx, full); // throws NftError: nothing applied
      await applyScript(ctx, full);
    }
  } else {
    const text = buildTransaction(ctx, plan, existing);
    await checkScript(ctx, text); // throws NftError: nothing applied
    await applyScript(ctx, text);
  }
  const snap = await readTableSnapshot(ctx, plan.dynamicSets);
  if (useDelta && !sameSets(snap.sets, plan.staticSets)) {
    // the kernel's sets were not what we believed (changed behind our back): full refill now
    const full = buildTransaction(ctx, plan, await readInventory(ctx));
    await checkScript(ctx, full);
    await applyScript(ctx, full);
    const again = await readTableSnapshot(ctx, plan.dynamicSets);
    ctx.cache = { marker, fingerprint: again.fingerprint, sets: sameSets(again.sets, plan.staticSets) ? plan.staticSets : undefined };
    return { changed: true, reason: `${reason} (set delta mismatch: refilled)` };
  }
  ctx.cache = { marker, fingerprint: snap.fingerprint, sets: sameSets(snap.sets, plan.staticSets) ? plan.staticSets : undefined };
  return { changed: true, reason: useDelta ? `${reason} (set deltas)` : reason };
}

/** Do the kernel's static sets (elements as read back) hold exactly the plan's elements? */
function sameSets(kernel: Record<string, string[]> | null, want: Plan['staticSets']): boolean {
  if (!kernel || !want) return false;
  for (const [name, s] of Object.entries(want)) {
    const k = kernel[name];
    if (!k || k.length !== s.elements.length) return false;
    const ks = new Set(k);
    for (const e of s.elements) if (!ks.has(e)) return false;
  }
  return true;
}

async function applyPlanUnlocked(ctx: ApplyCtx, plan: Plan): Promise<ApplyResult> {
  const t0 = performance.now();
  const nft = await applyNft(ctx, plan); // throws before any route/rule change
  const res: ApplyResult = { nftChanged: nft.changed, nftReason: nft.reason, routeOps: [], ruleOps: [], sysctlsChanged: [], durationMs: 0 };
  const errors: Error[] = [];
  try {
    res.routeOps = await syncRoutes(ctx, plan.routes);
  } catch (e) {
    errors.push(e as Error);
  }
  try {
    res.ruleOps = await syncRules(ctx, plan.rules);
  } catch (e) {
    errors.push(e as Error);
  }
  try {
    res.sysctlsChanged = await applySysctls(ctx, plan.sysctls);
  } catch (e) {
    errors.push(e as Error);
  }
  res.durationMs = Math.round((performance.now() - t0) * 10) / 10;
  if (errors.length > 0) throw new ApplyError(errors, res);
  return res;
}

/**
 * Apply a Plan. Throws NftError (nothing applied) when nft rejects the transaction;
 * ApplyError (with .partial) when routes/rules/sysctls failed after nft succeeded.
 * Calls on the same ctx are serialized.
 */
export function applyPlan(ctx: ApplyCtx, plan: Plan): Promise<ApplyResult> {
  const prev = ctx.lock ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => applyPlanUnlocked(ctx, plan));
  ctx.lock = next.catch(() => undefined);
  return next;
}

/** Forget the recorded fingerprint (forces the next apply to re-check nft like after a restart). */
export function resetApplyCache(ctx: ApplyCtx): void {
  delete ctx.cache;
}
