// Compact JSON of every counter: { t: now, c: { name: [packets, bytes, kind, ref] } }.
import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { getCounters, markCountersWatched } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export type CountersPayload = { t: number; c: Record<string, [number, number, string, string]> };

export const GET = withAuth(async () => {
  await markCountersWatched();
  const rows = await getCounters();
  const c: CountersPayload['c'] = {};
  for (const r of rows) c[r.name] = [r.packets, r.bytes, r.kind, r.ref];
  const body: CountersPayload = { t: Date.now(), c };
  return NextResponse.json(body, { headers: { 'cache-control': 'no-store' } });
});
