'use client';
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';

/** Re-renders the server components of the current page every `ms` (no full reload) while visible. */
export function AutoRefresh({ ms }: { ms: number }) {
  const router = useRouter();
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible' && !document.querySelector('form[data-dirty]')) router.refresh();
    }, ms);
    return () => clearInterval(t);
  }, [ms, router]);
  return null;
}
