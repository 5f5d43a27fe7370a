'use client';
// Live rule counters: the live feed's counters (changed ones pushed as the agent stores them;
// /api/counters every 2 s while the feed is unavailable), shared by all cells via context.
import { createContext, useContext, useMemo } from 'react';
import { useLiveCounters, useLiveMode } from './Live';
import { fmtBytes, fmtCount } from '@/lib/web/format';

type Payload = { t: number; c: Record<string, [number, number, string, string]> };
type Index = { byRef: Map<string, { p: number; b: number; name: string }>; error: string | null; t: number };

const Ctx = createContext<Index | null>(null);

export function CountersProvider({ initial, children }: { initial: Payload; children: React.ReactNode }) {
  const live = useLiveCounters();
  const mode = useLiveMode();
  const error = mode === 'signed-out' ? 'signed out: reload to sign in again' : null;
  const value = useMemo<Index>(() => {
    const byRef = new Map<string, { p: number; b: number; name: string }>();
    const entries = live.size > 0 ? [...live.entries()] : Object.entries(initial.c);
    for (const [name, [p, b, kind, ref]] of entries) byRef.set(`${kind}:${ref}`, { p, b, name });
    return { byRef, error, t: Date.now() };
  }, [live, initial, error]);
  return (
    <Ctx.Provider value={value}>
      {children}
      <p className="text-xs muted" aria-live="off" data-testid="counters-updated">
        Counters {error ? `not updating (${error})` : mode === 'live' ? 'live: pushed as the agent reads them (every 2 s)' : 'updated every 2 s (polling)'}
      </p>
    </Ctx.Provider>
  );
}

/** Packets and bytes of the counter with this kind+ref; marks counters that never matched. */
export function LiveCounter({ kind, refName, applied }: { kind: string; refName: string; applied: boolean }) {
  const ctx = useContext(Ctx);
  const c = ctx?.byRef.get(`${kind}:${refName}`);
  if (!c) {
    return <span className="text-xs muted" data-testid="counter" data-packets="">{applied ? 'no counter yet' : 'not applied yet'}</span>;
  }
  if (c.p === 0) {
    return (
      <span className="badge bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" data-testid="counter" data-packets="0" title="This rule has not matched any packet since it was applied">
        never matched
      </span>
    );
  }
  return (
    <span className="whitespace-nowrap font-mono text-xs tabular-nums" data-testid="counter" data-packets={c.p} title={`${c.p} packets, ${c.b} bytes`}>
      {fmtCount(c.p)} pkts · {fmtBytes(c.b)}
    </span>
  );
}
