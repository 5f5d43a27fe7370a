// Issue 8 helpers for the dashboard: the "apply with confirmation" form fields, and the review
// (preview) of a pending change: plain-language summary + config diff + compiled-plan diff.
import type { FormLike } from './forms';
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

export type Review =
  | { ok: true; summary: string; config: string; plan: string; added: number; removed: number; planAdded: number; planRemoved: number; planError: string | null }
  | { ok: false; errors: string[] };

/** Validate `next` with the shared schema and describe what it changes against the desired config. */
export async function reviewChange(next: unknown): Promise<Review> {
  const parsed = parseConfig(next);
  if (!parsed.ok) return { ok: false, errors: parsed.errors.slice(0, 50) };
  const cur = await latestRevision();
  return reviewPair(cur?.config ?? null, parsed.value, normalizeFacts(await lastFacts()));
}

export function reviewPair(a: Config | null, b: Config, facts: ReturnType<typeof normalizeFacts>): Review {
  const d = diffRevisions(a, b, facts);
  const c = countChanges(d.config);
  const p = countChanges(d.plan);
  return { ok: true, summary: summarizeChange(a, b), config: unified(d.config), plan: unified(d.plan), added: c.added, removed: c.removed, planAdded: p.added, planRemoved: p.removed, planError: d.planError };
}
