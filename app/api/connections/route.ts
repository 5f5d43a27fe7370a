import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { getConnections } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const rows = await getConnections();
  return NextResponse.json({ t: Date.now(), rows }, { headers: { 'cache-control': 'no-store' } });
});
