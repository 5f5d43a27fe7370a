'use client';
import type { StatusInfo } from '@/lib/web/data';
import { Suspense, useEffect, useRef, useState } from 'react';
import { useRouter, useSearchParams } from 'next/navigation';
import { useLive, useLiveMode } from './Live';

function ago(ts: number | null, now: number) {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

type Step = 'applying' | 'applied' | 'error' | 'stalled';

/** Where one stored revision is: applying (the agent has not reported it), applied (that revision
 *  or a later one), error (the agent refused or failed it), stalled (no agent to apply it). */
export function writeStep(s: StatusInfo, revision: number): Step {
  if (s.applied !== null && s.applied >= revision) return 'applied';
  if (s.errorRevision !== null && s.errorRevision >= revision && s.applyError) return 'error';
  return s.agentRunning ? 'applying' : 'stalled';
}

/** Saved → applying → applied (or the error) for the newest revision stored while this tab is
 *  open (any form, row button, reorder, the CLI), or the one a redirect names (?saved=N). */
function WriteTrail({ s }: { s: StatusInfo }) {
  const params = useSearchParams();
  const fromUrl = Number(params.get('saved')) || null;
  const first = useRef<number | null | undefined>(undefined);
  const [rev, setRev] = useState<number | null>(fromUrl);
  const [shownAt, setShownAt] = useState(0);
  const desired = s.desired?.id ?? null;
  useEffect(() => {
    if (first.current === undefined) {
      first.current = desired; // what was stored before this tab looked: not a write of ours
      return;
    }
    if (desired !== null && desired !== first.current && (rev === null || desired > rev)) {
      setRev(desired);
      setShownAt(Date.now());
    }
  }, [desired, rev]);
  useEffect(() => {
    if (fromUrl && (rev === null || fromUrl > rev)) setRev(fromUrl);
  }, [fromUrl, rev]);
  const step = rev === null ? null : writeStep(s, rev);
  const [hidden, setHidden] = useState(false);
  useEffect(() => {
    setHidden(false);
    if (step !== 'applied') return;
    const t = setTimeout(() => setHidden(true), 20_000);
    return () => clearTimeout(t);
  }, [step, rev, shownAt]);
  if (rev === null || step === null || hidden) return null;
  const mark = (on: boolean) => <span aria-hidden className={on ? '' : 'opacity-40'}>{on ? '✓' : '…'}</span>;
  const applyMs = step === 'applied' && s.applied === rev && s.applyMs != null ? ` in ${Math.round(s.applyMs)} ms` : step === 'applied' && s.applied !== rev ? ` (with revision ${s.applied})` : '';
  return (
    <span className="flex flex-wrap items-center gap-x-2 text-xs" data-testid="write-trail" data-revision={rev} data-step={step}>
      <span>Revision {rev}:</span>
      <span>saved {mark(true)}</span>
      <span aria-hidden>→</span>
      <span className={step === 'applying' ? 'font-semibold' : ''}>{step === 'stalled' ? 'waiting for the agent' : 'applying'} {mark(step === 'applied' || step === 'error')}</span>
      <span aria-hidden>→</span>
      {step === 'error' ? (
        <span className="font-semibold text-red-700 dark:text-red-300">not applied</span>
      ) : (
        <span className={step === 'applied' ? 'font-semibold' : 'opacity-60'}>applied{applyMs} {step === 'applied' ? mark(true) : ''}</span>
      )}
    </span>
  );
}

export function StatusBar({ initial }: { initial: StatusInfo }) {
  const s = useLive('status') ?? initial;
  const mode = useLiveMode();
  const router = useRouter();
  // When the applied revision changes, refresh server components (cards, lists) once.
  const lastApplied = useRef(s.applied);
  useEffect(() => {
    if (s.applied !== lastApplied.current) {
      lastApplied.current = s.applied;
      router.refresh();
    }
  }, [s.applied, router]);
  const failed = !!s.applyError && s.errorRevision !== null && s.desired !== null && s.errorRevision >= s.desired.id;
  let tone = 'bg-emerald-50 text-emerald-900 border-emerald-200 dark:bg-emerald-950/60 dark:text-emerald-100 dark:border-emerald-900';
  let text: string;
  if (!s.desired) {
    tone = 'bg-zinc-100 text-zinc-800 border-zinc-200 dark:bg-zinc-900 dark:text-zinc-200 dark:border-zinc-800';
    text = 'No configuration yet: add an uplink and a LAN network to begin.';
  } else if (failed) {
    tone = 'bg-red-50 text-red-900 border-red-200 dark:bg-red-950/60 dark:text-red-100 dark:border-red-900';
    text = `Revision ${s.errorRevision} failed to apply: ${s.applyError}`;
  } else if (s.applying) {
    tone = 'bg-amber-50 text-amber-900 border-amber-200 dark:bg-amber-950/60 dark:text-amber-100 dark:border-amber-900';
    text = s.agentRunning ? `Applying revision ${s.desired.id}…` : `Revision ${s.desired.id} not applied: agent not running (start it with \`sudo npx linkward agent\`)`;
  } else {
    text = `Revision ${s.applied} applied${s.applyMs != null ? ` in ${Math.round(s.applyMs)} ms` : ''}`;
  }
  const modeText = mode === 'live' ? 'live' : mode === 'polling' ? 'polling every 2 s (live updates unavailable)' : mode === 'signed-out' ? 'signed out: reload to sign in again' : 'connecting…';
  return (
    <div role="status" aria-live="polite" data-testid="status-bar" className={`sticky top-0 z-10 border-b px-4 py-2 text-sm md:px-6 ${tone}`}>
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-1">
        <span className="font-medium" data-testid="status-text">{text}</span>
        <Suspense fallback={null}><WriteTrail s={s} /></Suspense>
        <span className="text-xs opacity-80">
          desired <strong data-testid="desired-rev">{s.desired?.id ?? '–'}</strong> · applied{' '}
          <strong data-testid="applied-rev">{s.applied ?? '–'}</strong> · agent{' '}
          {s.agentRunning ? `heartbeat ${ago(s.heartbeatAt, s.now)}` : s.heartbeatAt ? `silent since ${ago(s.heartbeatAt, s.now)}` : 'never seen'}
          {' · '}
          <span data-testid="live-mode" data-mode={mode} title="How this page learns of changes: a live event stream, or polling when the stream is unavailable">
            <span aria-hidden className={`mr-1 inline-block size-2 rounded-full ${mode === 'live' ? 'bg-emerald-500' : mode === 'polling' ? 'bg-amber-500' : 'bg-zinc-400'}`} />
            {modeText}
          </span>
        </span>
      </div>
    </div>
  );
}
