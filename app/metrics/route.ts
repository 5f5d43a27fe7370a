// GET /metrics: Prometheus text exposition of what the agent reported (lib/metrics). Access:
// the bearer token or the allowed networks set in Settings, or a signed-in session.
import { metricsDb, metricsText } from '@/lib/metrics/read';
import { markWatched } from '@/lib/web/watch';
import { metricsAccessSettings, checkMetricsAccess } from '@/lib/metrics/access';
import { clientAddress } from '@/lib/auth/request';
import { currentUser } from '@/lib/auth/request';

export const dynamic = 'force-dynamic';

export async function GET(req: Request): Promise<Response> {
  const db = metricsDb();
  const verdict = checkMetricsAccess(db, metricsAccessSettings(db), { authorization: req.headers.get('authorization'), peer: await clientAddress() });
  if (verdict !== 'ok' && !(await currentUser())) {
    return new Response(`${verdict}\n`, { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="linkward metrics"' } });
  }
  markWatched(db, 'counters'); // a scraper wants fresh counters: 2 s reads while it scrapes
  return new Response(metricsText(db), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' } });
}
