// Commit-confirmed status for the dashboard banner (polled). Confirming is a server action
// (confirmAction), so it gets Next's origin check; this handler only reads.
import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { pendingConfirmation, appliedRevision } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const [pending, applied] = await Promise.all([pendingConfirmation(), appliedRevision()]);
  return NextResponse.json({ now: Date.now(), pending, appliedRevision: applied }, { headers: { 'cache-control': 'no-store' } });
});
