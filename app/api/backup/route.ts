// Download a backup: the database (revisions, counter history, accounts, audit) and the
// configuration directory (/etc/linkward: web.env, the TLS certificate and key) as one file, the
// same as `linkward backup`. Put it back on the router with `linkward restore FILE`.
import { withAuth } from '@/lib/web/auth-action';
import { backupFile } from '@/lib/web/data';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async (user) => {
  const { name, data } = await backupFile(user.username);
  return new Response(new Uint8Array(data), {
    headers: {
      'content-type': 'application/gzip',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
});
