// Commit-confirmed status for the dashboard banner (polled). Confirming is a server action
// (confirmAction), so it gets Next's origin check; this handler only reads.
import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { pendingConfirmation } from '@/lib/store/safety';
import { prisma } from '@/lib/db/prisma';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const [pending, st] = await Promise.all([pendingConfirmation(), prisma().agentState.findUnique({ where: { id: 1 } })]);
  return NextResponse.json({ now: Date.now(), pending, appliedRevision: st?.appliedRevision ?? null }, { headers: { 'cache-control': 'no-store' } });
});
