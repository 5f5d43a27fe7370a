// Download a backup: the database (revisions, counter history, accounts, audit) and the
// configuration directory (/etc/linkward: web.env, the TLS certificate and key) as one file, the
// same as `linkward backup`. Put it back on the router with `linkward restore FILE`.
import os from 'node:os';
import { withAuth } from '@/lib/web/auth-action';
import { createBackup, linkwardVersion } from '@/lib/backup/backup';
import { configDir, dbPath } from '@/lib/db/path';
import { audit } from '@/lib/auth/users';

export const dynamic = 'force-dynamic';

export const GET = withAuth(async (user) => {
  const { data, envelope } = createBackup({ dbFile: dbPath(), configDir: configDir(), linkwardVersion: linkwardVersion() });
  const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 40) || 'router';
  const name = `linkward-${host}-r${envelope.latestRevision ?? 0}-${envelope.createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.lwbackup`;
  await audit(user.username, 'backup.download', `${name} (${data.length} bytes)`);
  return new Response(new Uint8Array(data), {
    headers: {
      'content-type': 'application/gzip',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
});
