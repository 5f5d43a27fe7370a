// Download the desired configuration as versioned JSON (same document `linkward export` prints).
import { withAuth } from '@/lib/web/auth-action';
import { latestRevision } from '@/lib/store/revisions';
import { parseConfig, type Config } from '@/lib/validations/config';
import { redactSecrets } from '@/lib/store/secrets';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async () => {
  const rev = await latestRevision();
  const config = rev?.config ?? (parseConfig({ version: 1 }) as { ok: true; value: unknown }).value;
  const name = `linkward-config-r${rev?.id ?? 0}.json`;
  return new Response(JSON.stringify(redactSecrets(config as Config), null, 2) + '\n', {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
});
