import { command, parseArgs, intFlag, intArg, UsageError } from '../args';
import { restoreRevision } from '../../lib/store/safety';
import { disconnect } from '../../lib/db/prisma';
import { cliAuthor, shareWithDbGroup } from '../util';
import fs from 'node:fs';
import { restoreBackup } from '../../lib/backup/backup';
import { configDir, dbPath } from '../../lib/db/path';
import { openDb } from '../../lib/db/sqlite';

/** linkward restore N [--confirm-within S]: store revision N's config as a new revision (source restore).
 *  linkward restore FILE: put a backup (linkward backup) back: database and configuration files. */
const USAGE = 'usage: linkward restore REVISION [--confirm-within SECONDS] [--json]\n       linkward restore BACKUP_FILE   (a file made by linkward backup)';

async function restoreFile(file: string, json: boolean): Promise<number> {
  const data = fs.readFileSync(file);
  const r = await restoreBackup(data, { dbFile: dbPath(), configDir: configDir() });
  shareWithDbGroup(dbPath());
  const db = openDb();
  try {
    db.prepare('INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, ?, ?)').run(Date.now(), cliAuthor(), 'backup.restore', `restored ${file} (revision ${r.latestRevision ?? 'none'})`);
  } finally {
    db.close();
  }
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`restored ${file}: revision ${r.latestRevision ?? 'none'} is the desired configuration${r.migrationsApplied.length ? `; migrated ${r.migrationsApplied.join(', ')}` : ''}${r.filesRestored.length ? `; files ${r.filesRestored.join(', ')}` : ''}\n`);
  return 0;
}

export const run = command('restore', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { 'confirm-within': 'string', json: 'bool' });
  if (positional.length !== 1) throw new UsageError('expects one REVISION or one backup FILE');
  if (!/^\d+$/.test(positional[0])) {
    if (flags['confirm-within'] !== undefined) throw new UsageError('--confirm-within applies to a revision, not a backup file');
    if (!fs.existsSync(positional[0])) throw new UsageError(`no such backup file: ${positional[0]}`);
    return restoreFile(positional[0], Boolean(flags.json));
  }
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
