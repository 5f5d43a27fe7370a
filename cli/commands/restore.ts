import { parseArgs, intFlag } from '../args';
import { restoreRevision } from '../../lib/store/safety';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor } from '../util';

/** linkward restore N [--confirm-within S]: store revision N's config as a new revision (source restore). */
export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, { 'confirm-within': 'string', json: 'bool' });
  if (positional.length !== 1 || !/^[0-9]+$/.test(positional[0])) {
    process.stderr.write('usage: linkward restore REVISION [--confirm-within SECONDS]\n');
    return 2;
  }
  const confirmWithin = intFlag(flags['confirm-within'], 'confirm-within', 30, 3600);
  try {
    const r = await restoreRevision(Number(positional[0]), cliAuthor(), { confirmWithin });
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
}
