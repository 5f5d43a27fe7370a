import { NextResponse } from 'next/server';
import { withAuth } from '@/lib/web/auth-action';
import { connectionsPage } from '@/lib/web/data';
import { parseConnQuery } from '@/lib/web/connections-query';

export const dynamic = 'force-dynamic';

/** One page of tracked flows plus per-uplink / per-host aggregates, paged and filtered in SQL:
 *  ?page=&pageSize=(≤500)&sort=bytes|rate|newest|oldest|src|dst&uplink=&host=&family=4|6&q= */
export const GET = withAuth(async (_user, req) => {
  const { query, error } = parseConnQuery(new URL(req.url).searchParams);
  if (error) return NextResponse.json({ error }, { status: 400, headers: { 'cache-control': 'no-store' } });
  const data = await connectionsPage(query);
  return NextResponse.json(data, { headers: { 'cache-control': 'no-store' } });
});
