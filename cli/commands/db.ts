// `linkward db migrate | path`: apply pending database migrations (the package's postinst runs it,
// after a backup when upgrading); print the database file.
import { command, parseArgs, UsageError } from '../args';
import { openDb } from '../../lib/db/sqlite';
import { migrate } from '../../lib/db/migrate';
import { dbPath } from '../../lib/db/path';
import { shareWithDbGroup } from '../util';

const USAGE = 'usage: linkward db migrate | linkward db path';

export const run = command('db', USAGE, async (args) => {
  const { positional } = parseArgs(args, {});
  const [sub, ...extra] = positional;
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (sub === 'path') {
    process.stdout.write(dbPath() + '\n');
    return 0;
  }
  if (sub !== 'migrate') throw new UsageError(sub ? `unknown subcommand ${JSON.stringify(sub)}` : 'which subcommand? (migrate, path)');
  const db = openDb(dbPath(), { migrate: false });
  try {
    const done = migrate(db);
    process.stdout.write(done.length ? `applied ${done.length} migration(s): ${done.join(', ')}\n` : 'database is up to date\n');
  } finally {
    db.close();
  }
  shareWithDbGroup(dbPath());
  return 0;
});
