'use client';
// Live rule counters: one poller of /api/counters (every 2 s) shared by all cells via context.
import { createContext, useContext, useMemo } from 'react';
import { usePoll } from './usePoll';
import { fmtBytes, fmtCount } from '@/lib/web/format';

type Payload = { t: number; c: Record<string, [number, number, string, string]> };
type Index = { byRef: Map<string, { p: number; b: number; name: string }>; error: string | null; t: number };

const Ctx = createContext<Index | null>(null);

export function CountersProvider({ initial, children }: { initial: Payload; children: React.ReactNode }) {
  const { data, error } = usePoll<Payload>('/api/counters', 2000, initial);
  const value = useMemo<Index>(() => {
    const byRef = new Map<string, { p: number; b: number; name: string }>();
    for (const [name, [p, b, kind, ref]] of Object.entries(data.c)) byRef.set(`${kind}:${ref}`, { p, b, name });
    return { byRef, error, t: data.t };
  }, [data, error]);
  return (
    <Ctx.Provider value={value}>
      {children}
      <p className="text-xs muted" aria-live="off" data-testid="counters-updated">
        Counters {error ? `not updating (${error})` : `live, updated every 2 s`}
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
