'use client';
// Issue 8: shown on every dashboard page while a commit-confirmed revision awaits confirmation.
// Polls /api/confirm; a "Confirm" button confirms; if THIS browser submitted the pending revision
// with auto-confirm ticked (off by default; the server remembers it in an httpOnly cookie of this
// browser, lib/web/autoconfirm.ts), it confirms by itself as soon as the agent applied it —
// reaching the dashboard after the apply is the proof that the change did not cut the admin off.
import { useEffect, useRef, useState } from 'react';
import type { PendingView } from '@/lib/store/safety';
import { initialFormState, type FormState } from '@/lib/web/forms';

/** confirmAction from lib/web/actions/revisions. */
type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

function confirmRevision(confirm: Action, revision: number, auto = false): Promise<FormState> {
  const fd = new FormData();
  fd.set('revision', String(revision));
  if (auto) fd.set('auto', '1');
  return confirm(initialFormState, fd);
}

export function ConfirmBanner({ confirm, pollMs = 2000 }: { confirm: Action; pollMs?: number }) {
  const [pending, setPending] = useState<PendingView | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [msg, setMsg] = useState<string | null>(null);
  const busy = useRef(false);

  useEffect(() => {
    let stop = false;
    async function tick() {
      try {
        const r = await fetch('/api/confirm', { cache: 'no-store' });
        if (!r.ok) return;
        const j = (await r.json()) as { now: number; pending: PendingView | null; autoConfirm?: boolean };
        if (stop) return;
        setPending(j.pending);
        setNow(Date.now());
        if (j.pending && j.autoConfirm && !busy.current) {
          busy.current = true;
          const res = await confirmRevision(confirm, j.pending.revision, true).finally(() => (busy.current = false));
          setMsg(res.ok ? `${res.message} (automatically: this browser still reaches the dashboard after the apply)` : (res.message ?? 'not confirmed'));
          if (res.ok) setPending(null);
        }
      } catch {
        /* unreachable dashboard: exactly the case where we must not confirm */
      }
    }
    void tick();
    const t = setInterval(() => void tick(), pollMs);
    const c = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      stop = true;
      clearInterval(t);
      clearInterval(c);
    };
  }, [confirm, pollMs]);

  if (!pending) {
    return msg ? <div role="status" className="border-b border-emerald-300 bg-emerald-50 px-4 py-2 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100" data-testid="confirm-done">{msg}</div> : null;
  }
  const left = pending.deadline === null ? null : Math.max(0, Math.round((pending.deadline - now) / 1000));
  return (
    <div role="alert" className="flex flex-wrap items-center gap-3 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100" data-testid="confirm-banner">
      <span>
        Revision <strong>{pending.revision}</strong> awaits confirmation:{' '}
        {left === null ? `waiting for the agent to apply it (then ${pending.confirmWithin} s)` : <><strong data-testid="confirm-left">{left}</strong> s left, then the agent rolls back.</>}
      </span>
      <button type="button" className="btn btn-sm btn-primary" onClick={async () => {
        const res = await confirmRevision(confirm, pending.revision);
        setMsg(res.message ?? null);
        if (res.ok) setPending(null);
      }}>Confirm revision {pending.revision}</button>
      {msg && <span>{msg}</span>}
    </div>
  );
}
