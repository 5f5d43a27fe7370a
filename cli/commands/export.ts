import { command, parseArgs, intFlag, UsageError } from '../args';
import { latestRevision, getRevision, exportJson } from '../../lib/store/revisions';
import { redactSecrets } from '../../lib/store/secrets';
import { disconnect } from '../../lib/db/prisma';
import { requireExistingDb } from '../../lib/db/path';

const USAGE = 'usage: linkward export [--revision N]';

export const run = command('export', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { revision: 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const revision = intFlag(flags.revision, 'revision', 1, 2 ** 31 - 1);
  requireExistingDb();
  try {
    const rev = revision !== undefined ? await getRevision(revision) : await latestRevision();
    if (!rev) {
      process.stderr.write(revision !== undefined ? `linkward export: no revision ${revision}\n` : 'linkward export: no configuration stored yet (linkward import FILE)\n');
      return 1;
    }
    process.stdout.write(exportJson(redactSecrets(rev.config)));
    return 0;
  } finally {
    await disconnect();
  }
});
