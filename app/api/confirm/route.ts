// Commit-confirmed status for the dashboard banner (polled). Confirming is a server action
// (confirmAction), so it gets Next's origin check; this handler only reads. `autoConfirm`: the
// pending revision is the one THIS browser submitted with automatic confirmation, and the agent
// has applied it (lib/web/autoconfirm.ts).
import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { pendingConfirmation, appliedRevision } from '@/lib/web/data';
import { autoConfirmRevision } from '@/lib/web/autoconfirm';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const [pending, applied, mine] = await Promise.all([pendingConfirmation(), appliedRevision(), autoConfirmRevision()]);
  const autoConfirm = !!pending && pending.applied && pending.deadline !== null && pending.revision === mine;
  return NextResponse.json({ now: Date.now(), pending, appliedRevision: applied, autoConfirm }, { headers: { 'cache-control': 'no-store' } });
});
