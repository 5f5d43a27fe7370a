import { command, parseArgs, intFlag, intArg, UsageError } from '../args';
import { restoreRevision } from '../../lib/store/safety';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor } from '../util';

/** linkward restore N [--confirm-within S]: store revision N's config as a new revision (source restore). */
const USAGE = 'usage: linkward restore REVISION [--confirm-within SECONDS] [--json]';

export const run = command('restore', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { 'confirm-within': 'string', json: 'bool' });
  if (positional.length !== 1) throw new UsageError('expects one REVISION');
  const id = intArg(positional[0], 'REVISION', 1, 2 ** 31 - 1);
  const confirmWithin = intFlag(flags['confirm-within'], 'confirm-within', 30, 3600);
  try {
    // No base revision: summarized against (and stored after) the latest revision, read inside
    // the write transaction.
    const r = await restoreRevision(id, cliAuthor(), { confirmWithin });
    if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
    if (!r.ok) {
      process.stderr.write(`linkward restore: ${r.errors.join('; ')}\n`);
      return 1;
    }
    if (!flags.json) process.stdout.write(r.changed ? `stored revision ${r.revision}: ${r.summary}\n` : `unchanged: revision ${positional[0]} is the desired configuration already (revision ${r.revision})\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
