'use client';
// Issue 8: inside a settings/import/item form. "Review change" shows what saving would do (summary,
// config diff, compiled nft/route diff) without storing anything; "Apply with confirmation" makes
// the save commit-confirmed: the agent rolls back unless it is confirmed in time. With "Confirm
// automatically" ticked (off by default), this browser confirms the revision it stored once the
// agent applied it *and* the dashboard is still reachable (ConfirmBanner, lib/web/autoconfirm.ts);
// if the change cut this browser off, nothing confirms and it rolls back.
import { useRef, useState } from 'react';
import { initialFormState, type FormState } from '@/lib/web/forms';
import type { ReviewState } from '@/lib/web/review';
import { DiffView } from './DiffView';

/** A review action from lib/web/actions (reviewItem, reviewSettings, reviewImport). */
type ReviewFn = (prev: FormState, fd: FormData) => Promise<ReviewState>;

export function ReviewChange({ review, idPrefix, defaultConfirm = false, defaultWithin = 120 }: { review: ReviewFn; idPrefix: string; defaultConfirm?: boolean; defaultWithin?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ReviewState | null>(null);
  const [confirm, setConfirm] = useState(defaultConfirm);

  const shown = result?.review;
  const form = () => ref.current?.closest('form') ?? null;

  async function onReview() {
    const f = form();
    if (!f) return;
    setBusy(true);
    try {
      setResult(await review({ ...initialFormState, seq: result?.seq ?? 0 }, new FormData(f))); // not the last diff: it would travel back
    } catch (e) {
      setResult({ ok: false, seq: (result?.seq ?? 0) + 1, formErrors: [e instanceof Error ? e.message : String(e)] });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div ref={ref} className="space-y-2 rounded-md border border-dashed border-zinc-300 p-3 dark:border-zinc-700" data-testid={`${idPrefix}-review`}>
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
        <button type="button" className="btn" onClick={onReview} disabled={busy} aria-busy={busy || undefined}>Review change</button>
        <label htmlFor={`${idPrefix}-confirm`} className="flex items-center gap-2 text-sm">
          <input id={`${idPrefix}-confirm`} type="checkbox" name="confirm" checked={confirm} onChange={(e) => setConfirm(e.target.checked)} className="size-4 accent-sky-700" />
          Apply with confirmation
        </label>
        {confirm && (
          <>
            <label htmlFor={`${idPrefix}-within`} className="flex items-center gap-2 text-sm">
              Roll back unless confirmed within
              <input id={`${idPrefix}-within`} name="confirmWithin" type="text" inputMode="numeric" defaultValue={String(defaultWithin)} className="input w-20" aria-describedby={`${idPrefix}-within-help`} />
              s
            </label>
            <label htmlFor={`${idPrefix}-auto`} className="flex items-center gap-2 text-sm">
              <input id={`${idPrefix}-auto`} type="checkbox" name="autoConfirm" className="size-4 accent-sky-700" />
              Confirm automatically if this browser can still reach the dashboard
            </label>
            <p id={`${idPrefix}-within-help`} className="help w-full">30–3600 s. The agent restores the previous revision by itself if nobody confirms in time, even with the dashboard down.</p>
          </>
        )}
      </div>
      {result && !result.review && (
        <div role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          <p className="font-medium">{result.message ?? 'This change would be refused:'}</p>
          {result.formErrors && result.formErrors.length > 0 && (
            <ul className="mt-1 list-disc pl-5 font-mono text-xs">{result.formErrors.map((e, i) => <li key={i}>{e}</li>)}</ul>
          )}
        </div>
      )}
      {shown && (
        <div role="status" className="space-y-2" data-testid="review-result">
          <p className="text-sm"><span className="font-semibold">Summary:</span> <span data-testid="review-summary">{shown.summary}</span></p>
          <details open>
            <summary className="cursor-pointer text-sm font-medium">Kernel changes (nft, routes, rules, sysctls): +{shown.planAdded} −{shown.planRemoved}</summary>
            {shown.planError ? <p className="text-sm text-red-700">Could not compile: {shown.planError}</p> : <DiffView text={shown.plan} label="Compiled plan diff" testId="review-plan" />}
          </details>
          <details>
            <summary className="cursor-pointer text-sm font-medium">Configuration changes: +{shown.added} −{shown.removed}</summary>
            <DiffView text={shown.config} label="Configuration diff" testId="review-config" />
          </details>
        </div>
      )}
    </div>
  );
}
