import fs from 'node:fs';
import { command, parseArgs, intFlag, UsageError } from '../args';
import { saveConfig } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor } from '../util';

function readInput(file: string): string {
  if (file === '-') return fs.readFileSync(0, 'utf8');
  return fs.readFileSync(file, 'utf8');
}

const USAGE = 'usage: linkward import FILE|- [--confirm-within SECONDS] [--json]';

export const run = command('import', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { 'confirm-within': 'string', json: 'bool' });
  if (positional.length !== 1) throw new UsageError(positional.length ? 'expects one FILE (or - for standard input)' : 'which file? (- reads standard input)');
  const confirmWithin = intFlag(flags['confirm-within'], 'confirm-within', 30, 3600);
  let doc: unknown;
  try {
    doc = JSON.parse(readInput(positional[0]));
  } catch (e) {
    process.stderr.write(`linkward import: ${positional[0]}: ${e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message}\n`);
    return 1;
  }
  try {
    // No base revision: the lockout check and the summary are made against the latest revision,
    // read inside the write transaction.
    const r = await saveConfig(doc, { author: cliAuthor(), source: 'cli', confirmWithin });
    if (!r.ok) {
      process.stderr.write(`linkward import: invalid configuration, nothing stored:\n${r.errors.map((e) => `  ${e}`).join('\n')}\n`);
      if (flags.json) process.stdout.write(JSON.stringify({ ok: false, errors: r.errors }) + '\n');
      return 1;
    }
    if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
    else if (!r.changed) process.stdout.write(`unchanged: desired revision is still ${r.revision}\n`);
    else process.stdout.write(`stored revision ${r.revision}: ${r.summary}${confirmWithin ? ` (must be confirmed within ${confirmWithin}s: linkward confirm)` : ''}\n`);
    return 0;
  } finally {
    await disconnect();
  }
});
