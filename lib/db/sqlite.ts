import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { dbPath } from './path';
import { migrate } from './migrate';

export type DB = Database.Database;

/** Open the database with the pragmas every process uses: WAL, busy timeout, foreign keys.
 *  Runs pending migrations (idempotent, transactional). */
export function openDb(file = dbPath(), opts: { migrate?: boolean } = {}): DB {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  if (opts.migrate !== false) migrate(db);
  return db;
}
