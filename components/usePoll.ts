'use client';
import { useEffect, useRef, useState } from 'react';

/** Polls a JSON endpoint every `intervalMs` while the page is visible. Stops on 401 (signed out). */
export function usePoll<T>(url: string, intervalMs: number, initial: T): { data: T; error: string | null; at: number } {
  const [data, setData] = useState<T>(initial);
  const [error, setError] = useState<string | null>(null);
  const [at, setAt] = useState(0);
  const urlRef = useRef(url);
  urlRef.current = url;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (stopped) return;
      if (document.visibilityState === 'visible') {
        try {
          const r = await fetch(urlRef.current, { cache: 'no-store', credentials: 'same-origin' });
          if (r.status === 401) {
            setError('signed out: reload to sign in again');
            stopped = true;
            return;
          }
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          const j = (await r.json()) as T;
          if (!stopped) {
            setData(j);
            setError(null);
            setAt(Date.now());
          }
        } catch (e) {
          if (!stopped) setError(e instanceof Error ? e.message : String(e));
        }
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, intervalMs);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [intervalMs, url]);
  return { data, error, at };
}
