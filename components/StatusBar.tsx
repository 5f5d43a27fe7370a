'use client';
import { usePoll } from './usePoll';
import type { StatusInfo } from '@/lib/web/data';
import { useEffect, useRef } from 'react';
import { useRouter } from 'next/navigation';

function ago(ts: number | null, now: number) {
  if (!ts) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

export function StatusBar({ initial }: { initial: StatusInfo }) {
  const { data: s, error } = usePoll<StatusInfo>('/api/status', 2000, initial);
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
  return (
    <div role="status" aria-live="polite" data-testid="status-bar" className={`sticky top-0 z-10 border-b px-4 py-2 text-sm md:px-6 ${tone}`}>
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-1">
        <span className="font-medium">{text}</span>
        <span className="text-xs opacity-80">
          desired <strong data-testid="desired-rev">{s.desired?.id ?? '–'}</strong> · applied{' '}
          <strong data-testid="applied-rev">{s.applied ?? '–'}</strong> · agent{' '}
          {s.agentRunning ? `heartbeat ${ago(s.heartbeatAt, s.now)}` : s.heartbeatAt ? `silent since ${ago(s.heartbeatAt, s.now)}` : 'never seen'}
        </span>
        {error && <span className="text-xs text-red-700 dark:text-red-300">({error})</span>}
      </div>
    </div>
  );
}
