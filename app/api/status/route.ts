import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { getStatus } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => NextResponse.json(await getStatus(), { headers: { 'cache-control': 'no-store' } }));
