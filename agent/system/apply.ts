// applyPlan: bring the kernel to a Plan. nft first (one checked transaction, skipped entirely when
// the table already carries this plan's marker and has not drifted), then the route and ip rule
// deltas, then sysctls. Applying the same plan twice makes zero kernel changes.
import type { NftInventory, Plan } from '../../lib/compile/types';
import { planMarker, renderTransaction, renderPartialTransaction, setDeltas, type AppliedTable, type RenderOptions } from '../../lib/compile/transaction';
import { META_CHAIN } from '../../lib/compile/constants';
import type { Runner } from './runner';
import { applyScript, checkScript, readInventory, readMarker, readTableSnapshot, readTableState, tableFingerprint, type TableParts } from './nft';
import { syncRoutes, syncRules, type RouteOp, type RuleOp } from './routes';
import { syncAddresses, type AddrOp } from './addresses';
import { applySysctls, type SysctlChange } from './sysctl';

export interface ApplyCtx {
  runner: Runner;
  /** Filled by applyPlan: the marker and fingerprint recorded after our last nft apply, and the
   *  static sets' elements it left in the kernel (verified by reading them back). After a partial
   *  apply `fingerprint` is null until the table has been read back and checked (`verify`), and
   *  `refilled` lists the chains partial applies refilled since `parts` was read; DRIFT when that
   *  check found the kernel differing from our applies (the next apply of the plan is full). */
  cache?: { marker: string; fingerprint: string | null; parts?: TableParts | null; sets?: Plan['staticSets']; applied?: AppliedTable; refilled?: string[] };
  /** True when nothing can have touched our table since our last apply was verified (the agent's
   *  drift watch): a partial apply then skips its marker read. */
  kernelAsLeft?: () => boolean;
  /** Internal: serializes concurrent applyPlan calls on the same ctx. */
  lock?: Promise<unknown>;
  /** Called when the read-back after partial applies (off the apply path) found drift: the caller
   *  should reconcile again (that apply repairs it with a full transaction). */
  onDrift?: (why: string) => void;
  /** Told the process id of each `nft -f` we run (the drift watch then knows that transaction's
   *  events as ours). */
  ownCommit?: (pid: number) => void;
  /** Runs one of our large transactions (BULK_SCRIPT_BYTES and more) with the drift watch's
   *  `nft monitor` unsubscribed (the agent: DriftWatch.quietDuring). */
  bulk?: (commit: () => Promise<void>) => Promise<void>;
  /** Taken just before a read-back reads the table; handed to onVerified when the read-back found
   *  the table as our applies left it (the agent: its drift generations at that moment). */
  verifyToken?: () => unknown;
  onVerified?: (token: unknown) => void;
  /** The read-back after partial applies waits this long without a new apply (ms, default 1000). */
  verifyDelayMs?: number;
  /** Internal: the pending read-back (timer and the running check). */
  verify?: { timer: ReturnType<typeof setTimeout> | null; running: Promise<void> | null; abort?: AbortController | null };
  /** Internal: a marker read started by prefetchMarker() (the partial path's cheap look). */
  markerRead?: { after: number; at: number; read: Promise<string | null> };
  /** Internal: bumped by every nft apply (a prefetched marker read must be newer). */
  applies?: number;
  /** Internal: the sysctls, LAN addresses, routes and ip rules our last complete apply left in the
   *  kernel (their JSON). A new plan with the same ones, applied while kernelAsLeft(), skips their
   *  reads (7 commands): nothing watched changed them since. */
  rest?: string;
}

/** From this size (characters of script) a transaction (a full load of ~2 000 rules and more) is committed without our own
 *  `nft monitor` listening: with a listener the kernel builds a notification for every object of
 *  the transaction and the monitor prints each one as a line, ~0.1 s and more of a 10 000-rule load
 *  (docs/performance.md, section 1). Smaller ones keep the monitor: restarting it costs a process
 *  and, until a verification, the partial path's skipped marker read. */
export const BULK_SCRIPT_BYTES = 256 * 1024;

/** `nft -f` of one of our transactions: its pid goes to the drift watch; a large one runs unwatched. */
function commit(ctx: ApplyCtx, text: string): Promise<void> {
  const run = () => applyScript(ctx.runner, text, undefined, ctx.ownCommit);
  return text.length >= BULK_SCRIPT_BYTES && ctx.bulk ? ctx.bulk(run) : run();
}

/** The fingerprint of a table the read-back found differing from our applies. */
export const DRIFT = 'drift';

export interface ApplyResult {
  nftChanged: boolean;
  /** Why nft was (not) applied: 'unchanged' | 'first-trust' | 'no-table' | 'marker-differs' | 'drift'. */
  nftReason: string;
  routeOps: RouteOp[];
  ruleOps: RuleOp[];
  /** IPv6 LAN address changes. */
  addrOps: AddrOp[];
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

function withoutMeta(inv: NftInventory | null): NftInventory | null {
  return inv && { ...inv, chains: inv.chains.filter((c) => c !== META_CHAIN) };
}

/** The full nft script applyPlan would send (lib/compile's renderTransaction over the kernel's
 *  inventory, lw_meta left out: the transaction re-creates it), for dry runs and tests. */
export function buildTransaction(plan: Plan, existing: NftInventory | null, opts: RenderOptions = {}): string {
  return renderTransaction(plan, withoutMeta(existing), opts);
}

const appliedOf = (p: Plan): AppliedTable => ({ nftDeclaration: p.nftDeclaration, nftObjects: p.nftObjects, inventory: p.inventory, staticSets: p.staticSets, dynamicSets: p.dynamicSets });

/** Start the partial path's cheap look at the kernel (its marker, `nft list chain lw_meta`) now,
 *  while the caller validates and compiles: applyPlan uses it when no nft apply came in between. */
export function prefetchMarker(ctx: ApplyCtx): void {
  const c = ctx.cache;
  if (!c?.applied || c.fingerprint === DRIFT || process.env.LINKWARD_NFT_PARTIAL === '0') return;
  if (ctx.kernelAsLeft?.()) return; // applyPartial will not look at the marker: no nft run for nothing
  const read = readMarker(ctx.runner);
  read.catch(() => undefined);
  ctx.markerRead = { after: ctx.applies ?? 0, at: performance.now(), read };
}

async function markerNow(ctx: ApplyCtx, pre: ApplyCtx['markerRead']): Promise<string | null> {
  try {
    // only a read of this reconcile (no apply since it started, at most 2 s old)
    if (pre && pre.after === (ctx.applies ?? 0) && performance.now() - pre.at < 2000) return await pre.read;
    return await readMarker(ctx.runner);
  } catch {
    return null;
  }
}

/** Partial sync: the kernel still carries our last apply (its marker, one small read) and the new
 *  plan differs in chains, counters and set elements only → flush and refill the changed chains,
 *  one transaction, straight to `nft -f` (a refusal changes nothing; the full path follows). The
 *  whole table is read back and checked afterwards, off the apply path (scheduleVerify): a chain
 *  or set that differs from what our applies left → DRIFT, a full apply follows. */
async function applyPartial(ctx: ApplyCtx, plan: Plan, marker: string, pre: ApplyCtx['markerRead']): Promise<NftOutcome | null> {
  const c = ctx.cache;
  if (!c?.applied || !c.sets || !c.parts || c.marker === marker || c.fingerprint === DRIFT || process.env.LINKWARD_NFT_PARTIAL === '0') return null;
  const partial = renderPartialTransaction(plan, { ...c.applied, staticSets: c.sets });
  if (!partial) return null;
  // our marker (one small read, usually started before the compile): the kernel holds our last
  // apply, as far as a cheap look tells; the read-back after the apply checks the rest
  // (skipped when the agent's drift watch saw nothing since a verification: ctx.kernelAsLeft)
  if (!ctx.kernelAsLeft?.() && (await markerNow(ctx, pre)) !== c.marker) return null;
  ctx.applies = (ctx.applies ?? 0) + 1;
  try {
    await commit(ctx, partial.script);
  } catch {
    return null;
  }
  // the cache as it is now (a read-back may have finished meanwhile): parts and refilled together
  const now = ctx.cache ?? c;
  const refilled = [...new Set([...(now.refilled ?? []), ...partial.chains])];
  ctx.cache = { marker, fingerprint: now.fingerprint === DRIFT ? DRIFT : null, parts: now.parts, sets: plan.staticSets, applied: appliedOf(plan), refilled };
  scheduleVerify(ctx);
  return { changed: true, partial: true, reason: `marker-differs (partial: ${partial.chains.length} chain${partial.chains.length === 1 ? '' : 's'}${partial.setDeltas ? `, set deltas in ${partial.setDeltas}` : ''})` };
}

/** The read-back after partial applies, once no apply came for verifyDelayMs (a burst of changes
 *  is read back once, and never delays the next apply). */
function scheduleVerify(ctx: ApplyCtx): void {
  const v = (ctx.verify ??= { timer: null, running: null });
  if (v.timer) clearTimeout(v.timer);
  v.timer = setTimeout(() => {
    v.timer = null;
    if (v.running) return scheduleVerify(ctx); // one at a time; check again later
    const ac = new AbortController();
    v.abort = ac;
    v.running = verifyApplied(ctx, true, ac.signal).finally(() => {
      v.running = null;
      v.abort = null;
    });
  }, ctx.verifyDelayMs ?? 1000);
  v.timer.unref?.();
}

/** Check the table against what our applies left: a snapshot carrying our latest marker must hold
 *  the plan's chains, counters and set elements, and every chain no partial apply refilled since the
 *  last check must hold exactly the rules it held then. Consistent → the snapshot becomes the new
 *  baseline (fingerprint, parts); differing → DRIFT and onDrift. A snapshot of an older or foreign
 *  marker proves nothing (an apply ran meanwhile, or someone replaced the table: the next apply
 *  finds that marker and takes the full path). Never throws. */
export async function verifyApplied(ctx: ApplyCtx, notify = true, signal?: AbortSignal): Promise<void> {
  const c0 = ctx.cache;
  if (!c0 || c0.fingerprint !== null || !c0.applied) return;
  const token = ctx.verifyToken?.();
  const applies = ctx.applies ?? 0;
  let snap;
  try {
    // an apply that comes meanwhile aborts the read (it would not prove anything about that
    // apply, and it would compete with it for the CPU); its own read-back follows
    snap = await readTableSnapshot(ctx.runner, c0.applied.dynamicSets, signal, () => (ctx.applies ?? 0) !== applies || Boolean(signal?.aborted));
  } catch {
    return; // cannot read now (or aborted): the next read-back or the periodic resync checks it
  }
  const c = ctx.cache;
  if (!snap || !c || c.fingerprint !== null || !c.applied || snap.marker !== c.marker) return;
  const ok = c.parts && sameSets(snap.sets, c.applied.staticSets) && untouchedAsLeft(c.parts, snap.parts, c.refilled ?? [], c.applied);
  if (ok) {
    ctx.cache = { ...c, fingerprint: snap.fingerprint, parts: snap.parts, refilled: [] };
    ctx.onVerified?.(token);
    return;
  }
  ctx.cache = { ...c, fingerprint: DRIFT };
  if (notify) ctx.onDrift?.('the table differs from what our last apply left (read back after a partial apply)');
}

/** Cancel a pending read-back (the agent stops; tests). */
export function stopVerify(ctx: ApplyCtx): Promise<void> {
  const v = ctx.verify;
  if (!v) return Promise.resolve();
  if (v.timer) clearTimeout(v.timer);
  v.timer = null;
  return v.running ?? Promise.resolve();
}

/** After a partial apply: every chain it did not refill holds the rules it held after our last
 *  apply, the other objects are unchanged, and chains and counters are exactly the plan's. */
function untouchedAsLeft(before: TableParts, after: TableParts | null, refilled: string[], plan: Pick<Plan, 'inventory'>): boolean {
  if (!after || after.objects !== before.objects) return false;
  const want = (xs: string[]) => [...xs].sort().join('\n');
  if (want(after.counters) !== want(plan.inventory.counters)) return false;
  if (want(after.chains) !== want([...plan.inventory.chains, META_CHAIN])) return false;
  const skip = new Set([...refilled, META_CHAIN]);
  for (const c of plan.inventory.chains) if (!skip.has(c) && after.rules[c] !== before.rules[c]) return false;
  return true;
}

/** What the nft step did; `partial`: only changed chains were refilled (applyPartial). */
interface NftOutcome {
  changed: boolean;
  reason: string;
  partial?: true;
}

async function applyNft(ctx: ApplyCtx, plan: Plan): Promise<NftOutcome> {
  const marker = planMarker(plan);
  const pre = ctx.markerRead; // prefetched for this apply, or unused
  ctx.markerRead = undefined;
  const fast = await applyPartial(ctx, plan, marker, pre);
  if (fast) return fast;
  // one read for marker and inventory (was two nft runs before every apply)
  const state = await readTableState(ctx.runner);
  const current = state?.marker ?? null;
  let reason = current === null ? 'no-table' : 'marker-differs';
  if (current === marker) {
    if (ctx.cache?.marker === marker && ctx.cache.fingerprint === null) {
      // partial applies not read back yet: check them now (the same check as verifyApplied)
      await verifyApplied(ctx, false);
      if (ctx.cache?.marker === marker && ctx.cache.fingerprint !== null && ctx.cache.fingerprint !== DRIFT) return { changed: false, reason: 'unchanged' };
      reason = 'drift';
    } else {
      const fp = await tableFingerprint(ctx.runner, plan.dynamicSets);
      if (!ctx.cache || ctx.cache.marker !== marker) {
        ctx.cache = { marker, fingerprint: fp }; // first look after start: trust the marker
        return { changed: false, reason: 'first-trust' };
      }
      if (fp === ctx.cache.fingerprint) return { changed: false, reason: 'unchanged' };
      reason = 'drift';
    }
  }
  ctx.applies = (ctx.applies ?? 0) + 1;
  const existing = state?.inventory ?? null;
  // Element deltas for static sets only when the kernel still carries exactly our last apply
  // (its marker) and we know what that apply left in those sets; never to repair drift.
  const keepSets = reason === 'marker-differs' && ctx.cache?.sets && ctx.cache.fingerprint !== DRIFT && current === ctx.cache.marker ? ctx.cache.sets : undefined;
  const useDelta = keepSets !== undefined && setDeltas(plan, existing, keepSets).size > 0;
  if (useDelta) {
    // A delta transaction goes straight to `nft -f`: it is one kernel transaction, so a refusal
    // changes nothing, exactly like a failed `nft -c` — and each nft run re-reads the big sets
    // (≈60 ms for 10 000 elements). Refused (e.g. interval overlaps nft will not take as a
    // delta): the full transaction, checked first as always.
    const delta = buildTransaction(plan, existing, { keepSets });
    try {
      await commit(ctx, delta);
    } catch {
      const full = buildTransaction(plan, existing);
      await checkScript(ctx.runner, full); // throws NftError: nothing applied
      await commit(ctx, full);
    }
  } else {
    const text = buildTransaction(plan, existing);
    await checkScript(ctx.runner, text); // throws NftError: nothing applied
    await commit(ctx, text);
  }
  const snap = (await readTableSnapshot(ctx.runner, plan.dynamicSets))!;
  if (useDelta && !sameSets(snap.sets, plan.staticSets)) {
    // the kernel's sets were not what we believed (changed behind our back): full refill now
    const full = buildTransaction(plan, await readInventory(ctx.runner));
    await checkScript(ctx.runner, full);
    await commit(ctx, full);
    const again = (await readTableSnapshot(ctx.runner, plan.dynamicSets))!;
    const ok = sameSets(again.sets, plan.staticSets);
    ctx.cache = { marker, fingerprint: again.fingerprint, parts: again.parts, sets: ok ? plan.staticSets : undefined, applied: ok ? appliedOf(plan) : undefined };
    return { changed: true, reason: `${reason} (set delta mismatch: refilled)` };
  }
  const ok = sameSets(snap.sets, plan.staticSets);
  ctx.cache = { marker, fingerprint: snap.fingerprint, parts: snap.parts, sets: ok ? plan.staticSets : undefined, applied: ok ? appliedOf(plan) : undefined };
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

/** The part of a plan outside nft, as one comparable key. */
const restKey = (p: Plan): string => JSON.stringify([p.sysctls, p.addresses, p.addressScopes, p.routes, p.rules]);

async function applyPlanUnlocked(ctx: ApplyCtx, plan: Plan): Promise<ApplyResult> {
  const t0 = performance.now();
  ctx.verify?.abort?.abort(); // a read-back in progress: this apply goes first (it is read back after)
  // Skipped only after a partial apply (a new plan: another marker) whose sysctls, addresses,
  // routes and rules equal what our last complete apply left, while the drift watch saw nothing
  // since its verification (asked before nft runs). A resync of the same plan always reads and
  // repairs them.
  const key = restKey(plan);
  const restAsLeft = ctx.rest === key && Boolean(ctx.kernelAsLeft?.());
  const nft = await applyNft(ctx, plan); // throws before any route/rule change
  const res: ApplyResult = { nftChanged: nft.changed, nftReason: nft.reason, routeOps: [], ruleOps: [], addrOps: [], sysctlsChanged: [], durationMs: 0 };
  if (restAsLeft && nft.partial) {
    res.durationMs = Math.round((performance.now() - t0) * 10) / 10;
    return res;
  }
  ctx.rest = undefined;
  const errors: Error[] = [];
  // sysctls first: IPv6 forwarding and accept_ra must be in place before routes via RA gateways
  try {
    res.sysctlsChanged = await applySysctls(ctx.runner, plan.sysctls);
  } catch (e) {
    errors.push(e as Error);
  }
  try {
    res.addrOps = await syncAddresses(ctx.runner, plan.addresses, plan.addressScopes);
  } catch (e) {
    errors.push(e as Error);
  }
  try {
    res.routeOps = await syncRoutes(ctx.runner, plan.routes);
  } catch (e) {
    errors.push(e as Error);
  }
  try {
    res.ruleOps = await syncRules(ctx.runner, plan.rules);
  } catch (e) {
    errors.push(e as Error);
  }
  res.durationMs = Math.round((performance.now() - t0) * 10) / 10;
  if (errors.length > 0) throw new ApplyError(errors, res);
  ctx.rest = key;
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
  delete ctx.rest;
}
