import { command, parseArgs, UsageError } from '../args';
import { updateConfig, ChangeRefused } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import type { Config } from '../../lib/validations/config';
import { cliAuthor } from '../util';

const ACTIONS = {
  enable: (u: Config['uplinks'][number]) => ({ ...u, enabled: true, drain: false }),
  disable: (u: Config['uplinks'][number]) => ({ ...u, enabled: false, drain: false }),
  drain: (u: Config['uplinks'][number]) => ({ ...u, enabled: true, drain: true }),
} as const;

const USAGE = 'usage: linkward uplink enable|disable|drain NAME';

export const run = command('uplink', USAGE, async (args) => {
  const { positional } = parseArgs(args, {});
  const [action, name] = positional;
  if (!Object.hasOwn(ACTIONS, action ?? '')) throw new UsageError(action === undefined ? 'enable, disable or drain?' : `unknown action ${JSON.stringify(action)}`);
  if (!name || positional.length !== 2) throw new UsageError('expects one uplink NAME');
  try {
    // Check, change and store in one write transaction: nothing written in between is reverted.
    const fn = ACTIONS[action as keyof typeof ACTIONS];
    const r = await updateConfig(
      (c) => {
        if (!c.uplinks.some((u) => u.name === name)) {
          throw new ChangeRefused(`no uplink named "${name}" (have: ${c.uplinks.map((u) => u.name).join(', ') || 'none'})`);
        }
        return { ...c, uplinks: c.uplinks.map((u) => (u.name === name ? fn(u) : u)) };
      },
      { author: cliAuthor(), source: 'toggle' },
    );
    if (!r.ok) {
      process.stderr.write(`linkward uplink: ${r.errors.join('; ')}\n`);
      return 1;
    }
    process.stdout.write(r.changed ? `stored revision ${r.revision}: ${r.summary}\n` : `uplink ${name} is already ${action}d; revision ${r.revision} unchanged\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
