import Link from 'next/link';
import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Not found' };

// Our own 404 page: Next's default one carries inline styles, which the Content-Security-Policy
// (proxy.ts) does not allow.
export default function NotFound() {
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="card w-full max-w-sm space-y-2">
        <h1 className="h1">Not found</h1>
        <p className="text-sm muted">There is no such page.</p>
        <Link href="/" className="btn">Overview</Link>
      </div>
    </main>
  );
}
