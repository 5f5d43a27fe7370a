// Issue 8 helpers for the dashboard: the "apply with confirmation" form fields, and the review
// (preview) of a pending change: plain-language summary + config diff + compiled-plan diff.
import type { FormLike, FormState } from './forms';
import { parseConfig, type Config } from '../validations/config';
import { latestRevision } from '../store/revisions';
import { lastFacts } from '../store/safety';
import { summarizeChange } from '../config/summary';
import { diffRevisions, unified, countChanges, normalizeFacts } from '../config/diff';

export const CONFIRM_DEFAULT_S = 120;

/** `confirm=on` + `confirmWithin=N` (30..3600, default 120) → seconds; otherwise undefined. */
export function confirmWithinFrom(fd: FormLike): number | undefined {
  if (fd.get('confirm') !== 'on') return undefined;
  const raw = fd.get('confirmWithin');
  const n = typeof raw === 'string' && /^[0-9]{1,4}$/.test(raw.trim()) ? Number(raw.trim()) : CONFIRM_DEFAULT_S;
  return Math.min(3600, Math.max(30, n));
}

export interface ReviewData {
  summary: string;
  config: string;
  plan: string;
  added: number;
  removed: number;
  planAdded: number;
  planRemoved: number;
  planError: string | null;
}

export type Review = ({ ok: true } & ReviewData) | { ok: false; errors: string[] };

/** What a review action returns to the form: the review, or why the change would be refused. */
export type ReviewState = FormState & { review?: ReviewData };

export const REFUSED = 'This change would be refused:';

/** The form was rendered from revision `base`, but `latest` is the latest now. */
export function staleReview(latest: number | null, base: number | null, seq: number): ReviewState {
  const was = base === null ? 'the empty configuration' : `revision ${base}`;
  return { ok: false, seq, message: `changed meanwhile: the page showed ${was}, the latest is revision ${latest ?? '(none)'}; the page shows it now, review again.` };
}

export function reviewState(r: Review, seq: number): ReviewState {
  if (!r.ok) return { ok: false, seq, message: REFUSED, formErrors: r.errors };
  const { ok, ...review } = r;
  return { ok, seq, review };
}

/** Validate `next` with the shared schema and describe what it changes against `against` (default:
 *  the desired config). */
export async function reviewChange(next: unknown, against?: Config | null): Promise<Review> {
  const parsed = parseConfig(next);
  if (!parsed.ok) return { ok: false, errors: parsed.errors.slice(0, 50) };
  const base = against !== undefined ? against : ((await latestRevision())?.config ?? null);
  return reviewPair(base, parsed.value, normalizeFacts(await lastFacts()));
}

export function reviewPair(a: Config | null, b: Config, facts: ReturnType<typeof normalizeFacts>): Review {
  const d = diffRevisions(a, b, facts);
  const c = countChanges(d.config);
  const p = countChanges(d.plan);
  return { ok: true, summary: summarizeChange(a, b), config: unified(d.config), plan: unified(d.plan), added: c.added, removed: c.removed, planAdded: p.added, planRemoved: p.removed, planError: d.planError };
}
