// Download the desired configuration as versioned JSON (same document `linkward export` prints).
import { withAuth } from '@/lib/web/auth-action';
import { latestRevision, emptyConfig, redactSecrets } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const rev = await latestRevision();
  const config = rev?.config ?? emptyConfig();
  const name = `linkward-config-r${rev?.id ?? 0}.json`;
  return new Response(JSON.stringify(redactSecrets(config), null, 2) + '\n', {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
});
