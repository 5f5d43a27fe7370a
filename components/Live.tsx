'use client';
// The browser side of the live feed: one EventSource('/api/events') per tab, shared by every
// component through this provider. Components read a topic with useLive(topic); server-rendered
// parts re-render on a topic change with <LiveRefresh topics=[…]/>.
//
// Fallback: when the stream does not open within OPEN_TIMEOUT_MS or drops, the provider polls
// /api/status and /api/counters every POLL_MS (and LiveRefresh refreshes on a timer), and tries
// the stream again every RETRY_MS. The status bar says which one is in use.
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useRouter } from 'next/navigation';
import type { LiveTopics, StatusInfo } from '@/lib/web/data';

export const POLL_MS = 2000;
const OPEN_TIMEOUT_MS = 5000;
const RETRY_MS = 20_000;
type Topic = keyof LiveTopics;
export type LiveMode = 'connecting' | 'live' | 'polling' | 'signed-out';
const TOPICS: Topic[] = ['status', 'apply', 'uplinks', 'counters', 'connections', 'bans', 'drops', 'events', 'requests'];

class LiveStore {
  values = new Map<string, unknown>();
  versions = new Map<string, number>();
  counters = new Map<string, [number, number, string, string]>();
  mode: LiveMode = 'connecting';
  private subs = new Set<() => void>();

  constructor(initialStatus: StatusInfo) {
    this.values.set('status', initialStatus);
  }
  subscribe = (fn: () => void) => {
    this.subs.add(fn);
    return () => void this.subs.delete(fn);
  };
  private emit() {
    for (const f of this.subs) f();
  }
  put(topic: Topic, data: unknown) {
    if (topic === 'counters') {
      const d = data as LiveTopics['counters'];
      const next = d.full ? new Map<string, [number, number, string, string]>() : new Map(this.counters);
      for (const [k, v] of Object.entries(d.c)) next.set(k, v);
      for (const k of d.gone) next.delete(k);
      this.counters = next;
    }
    this.values.set(topic, data);
    this.versions.set(topic, (this.versions.get(topic) ?? 0) + 1);
    this.emit();
  }
  setMode(m: LiveMode) {
    if (this.mode === m) return;
    this.mode = m;
    this.emit();
  }
}

const Ctx = createContext<LiveStore | null>(null);

export function LiveProvider({ initialStatus, children }: { initialStatus: StatusInfo; children: React.ReactNode }) {
  const [store] = useState(() => new LiveStore(initialStatus));
  useEffect(() => {
    let es: EventSource | null = null;
    let stopped = false;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let openTimer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      if (stopped || store.mode !== 'polling') return;
      if (document.visibilityState === 'visible') {
        try {
          const [s, c] = await Promise.all([fetch('/api/status', { cache: 'no-store' }), fetch('/api/counters', { cache: 'no-store' })]);
          if (s.status === 401) {
            store.setMode('signed-out');
            return;
          }
          if (s.ok) store.put('status', await s.json());
          if (c.ok) {
            const j = (await c.json()) as { t: number; c: LiveTopics['counters']['c'] };
            store.put('counters', { t: j.t, full: true, c: j.c, gone: [] });
          }
        } catch {
          /* next round */
        }
      }
      pollTimer = setTimeout(poll, POLL_MS);
    };
    const fallBack = () => {
      es?.close();
      es = null;
      if (stopped || store.mode === 'signed-out') return;
      if (store.mode !== 'polling') {
        store.setMode('polling');
        pollTimer = setTimeout(poll, 0);
      }
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, RETRY_MS);
    };
    const connect = () => {
      if (stopped) return;
      es = new EventSource('/api/events');
      openTimer = setTimeout(() => {
        if (es && es.readyState !== EventSource.OPEN) fallBack();
      }, OPEN_TIMEOUT_MS);
      es.onopen = () => {
        clearTimeout(openTimer);
        clearTimeout(pollTimer);
        store.setMode('live');
      };
      // EventSource reconnects by itself after a network error (readyState CONNECTING); an HTTP
      // error (401, 5xx) or a wrong content type closes it for good: then poll.
      es.onerror = () => {
        if (!es || es.readyState === EventSource.CLOSED) fallBack();
        else if (store.mode === 'live') store.setMode('connecting');
      };
      for (const t of TOPICS) {
        es.addEventListener(t, (ev) => {
          try {
            store.put(t, JSON.parse((ev as MessageEvent<string>).data));
            if (store.mode !== 'live') {
              clearTimeout(pollTimer);
              store.setMode('live');
            }
          } catch {
            /* a malformed frame is ignored */
          }
        });
      }
      es.addEventListener('signed-out', () => {
        es?.close();
        store.setMode('signed-out');
      });
    };
    connect();
    return () => {
      stopped = true;
      es?.close();
      clearTimeout(pollTimer);
      clearTimeout(retryTimer);
      clearTimeout(openTimer);
    };
  }, [store]);
  return <Ctx.Provider value={store}>{children}</Ctx.Provider>;
}

function useStore(): LiveStore {
  const s = useContext(Ctx);
  if (!s) throw new Error('useLive outside <LiveProvider>');
  return s;
}

/** The latest value of a topic (undefined before the first one arrived). */
export function useLive<K extends Topic>(topic: K): LiveTopics[K] | undefined {
  const s = useStore();
  return useSyncExternalStore(s.subscribe, () => s.values.get(topic) as LiveTopics[K] | undefined, () => s.values.get(topic) as LiveTopics[K] | undefined);
}

/** All counters as last pushed: name → [packets, bytes, kind, ref]. */
export function useLiveCounters(): Map<string, [number, number, string, string]> {
  const s = useStore();
  return useSyncExternalStore(s.subscribe, () => s.counters, () => s.counters);
}

export function useLiveMode(): LiveMode {
  const s = useStore();
  return useSyncExternalStore(s.subscribe, () => s.mode, () => s.mode);
}

/** Re-render the page's server components when one of `topics` changes (live), or every
 *  `fallbackMs` while polling. Not while a form on the page has unsaved input. */
export function LiveRefresh({ topics, fallbackMs = 3000 }: { topics: Topic[]; fallbackMs?: number }) {
  const s = useStore();
  const router = useRouter();
  const key = topics.join(',');
  const seen = useRef<string | null>(null);
  const versions = useSyncExternalStore(s.subscribe, () => topics.map((t) => s.versions.get(t) ?? 0).join(','), () => '');
  const mode = useLiveMode();
  useEffect(() => {
    if (seen.current === null) {
      seen.current = versions; // the values this render was made from (or the stream's first snapshot)
      return;
    }
    if (versions === seen.current) return;
    seen.current = versions;
    const t = setTimeout(() => {
      if (!document.querySelector('form[data-dirty]')) router.refresh();
    }, 50);
    return () => clearTimeout(t);
  }, [versions, key, router]);
  useEffect(() => {
    if (mode !== 'polling') return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible' && !document.querySelector('form[data-dirty]')) router.refresh();
    }, fallbackMs);
    return () => clearInterval(t);
  }, [mode, fallbackMs, router]);
  return null;
}
