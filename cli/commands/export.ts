import { parseArgs } from '../args';
import { latestRevision, getRevision } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';

export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, { revision: 'string' });
  if (positional.length) {
    process.stderr.write('usage: linkward export [--revision N]\n');
    return 2;
  }
  try {
    const rev = flags.revision ? await getRevision(Number(flags.revision)) : await latestRevision();
    if (!rev) {
      process.stderr.write(flags.revision ? `linkward export: no revision ${flags.revision}\n` : 'linkward export: no configuration stored yet (linkward import FILE)\n');
      return 1;
    }
    process.stdout.write(JSON.stringify(rev.config, null, 2) + '\n');
    return 0;
  } finally {
    await disconnect();
  }
}
