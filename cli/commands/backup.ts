// `linkward backup [FILE]`: the database and the configuration directory as one file (restore it
// with `linkward restore FILE`). Default FILE: <database dir>/backups/linkward-<host>-<time>.lwbackup.
// --pre-upgrade FROM (the package's postinst): pre-upgrade-<FROM>-<time>.lwbackup in the backups
// directory, keeping this one and the previous one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { command, parseArgs, strFlag, UsageError } from '../args';
import { createBackup, pruneBackups, linkwardVersion } from '../../lib/backup/backup';
import { configDir, dbPath } from '../../lib/db/path';

const USAGE = 'usage: linkward backup [FILE|-] [--pre-upgrade FROM_VERSION] [--json]';

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export const run = command('backup', USAGE, async (args) => {
  const { flags, positional } = parseArgs(args, { 'pre-upgrade': 'string', json: 'bool' });
  if (positional.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positional[1])}`);
  const from = strFlag(flags['pre-upgrade']);
  if (from !== undefined && !/^[0-9][A-Za-z0-9.+~:-]{0,63}$/.test(from)) throw new UsageError(`--pre-upgrade: not a package version: ${JSON.stringify(from)}`);
  if (from !== undefined && positional.length) throw new UsageError('--pre-upgrade writes into the backups directory; give no FILE');
  const db = dbPath();
  const { data, envelope } = createBackup({ dbFile: db, configDir: configDir(), linkwardVersion: linkwardVersion() });
  const backups = path.join(path.dirname(db), 'backups');
  const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 40) || 'router';
  let file = positional[0] ?? path.join(backups, from !== undefined ? `pre-upgrade-${from.replace(/:/g, '_')}-${stamp()}.lwbackup` : `linkward-${host}-${stamp()}.lwbackup`);
  if (file === '-') {
    process.stdout.write(data);
    return 0;
  }
  file = path.resolve(file);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
  const removed = from !== undefined ? pruneBackups(backups, 'pre-upgrade-', 2) : [];
  const out = { file, bytes: data.length, latestRevision: envelope.latestRevision, migrations: envelope.migrations.length, files: envelope.files, removed };
  if (flags.json) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(`backup ${file} (${data.length} bytes; revision ${envelope.latestRevision ?? 'none'}; ${envelope.files.length ? envelope.files.join(', ') : 'no configuration files'})${removed.length ? `; removed older ${removed.join(', ')}` : ''}\n`);
  return 0;
});
