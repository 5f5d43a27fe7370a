// Server-sent events: the dashboard's live feed (lib/web/live.ts). Signed-in only, like every
// route (proxy.ts answers 401 without a cookie, withAuth checks the session, the data layer checks
// it again and the stream re-checks it while open).
import { cookies } from 'next/headers';
import { withAuth } from '@/lib/web/auth-action';
import { liveStream } from '@/lib/web/data';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export const GET = withAuth(async (_user, req) => {
  const token = (await cookies()).get('lw_session')?.value;
  const body = await liveStream(token, req.signal);
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      'x-accel-buffering': 'no',
    },
  });
});
