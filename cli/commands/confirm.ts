import { command, parseArgs, intFlag, UsageError } from '../args';
import { confirmPending, pendingConfirmation } from '../../lib/store/safety';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor } from '../util';

const USAGE = 'usage: linkward confirm [--revision N] [--status] [--json]';

/** linkward confirm [--revision N] [--status]: confirm a commit-confirmed revision (issue 8). */
export const run = command('confirm', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { revision: 'string', status: 'bool', json: 'bool' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const revision = intFlag(flags.revision, 'revision', 1, 2 ** 31 - 1);
  try {
    if (flags.status) {
      const p = await pendingConfirmation();
      if (flags.json) process.stdout.write(JSON.stringify(p) + '\n');
      else if (!p) process.stdout.write('nothing awaits confirmation\n');
      else process.stdout.write(`revision ${p.revision} awaits confirmation: ${p.deadline === null ? `not applied yet (window ${p.confirmWithin}s starts at apply)` : `${Math.max(0, Math.round((p.deadline - Date.now()) / 1000))}s left`}\n`);
      return 0;
    }
    const r = await confirmPending(cliAuthor(), revision);
    if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
    if (!r.ok) {
      process.stderr.write(`linkward confirm: ${r.reason}\n`);
      return 1;
    }
    if (!flags.json) process.stdout.write(`confirmed revision ${r.revision}${r.remainingMs !== null ? ` with ${Math.max(0, Math.round(r.remainingMs / 1000))}s to spare` : ' (before the agent applied it)'}\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
