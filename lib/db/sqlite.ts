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
  refuseLinkedSidecars(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  if (opts.migrate !== false) migrate(db);
  return db;
}

/** In the package the database directory is writable by the dashboard's user; root (agent, CLI)
 *  must not follow a link planted there as the WAL, shared-memory or journal file (SQLite opens
 *  them without O_NOFOLLOW). Checked before opening; a link is refused. */
export function refuseLinkedSidecars(file: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(/*turbopackIgnore: true*/ f);
    } catch {
      continue;
    }
    if (!st.isFile() || st.nlink > 1) throw new Error(`refusing to open the database: ${f} is not a plain file (a link?)`);
  }
}

const shared = globalThis as unknown as { __lwWriteDb?: { file: string; db: DB } };

/** This process's connection for write transactions next to the Prisma client (one per file). */
function writeDb(file: string): DB {
  const cur = shared.__lwWriteDb;
  if (cur && cur.file === file && cur.db.open) return cur.db;
  if (cur?.db.open) cur.db.close();
  const db = openDb(file);
  // Waiting for another writer happens in writeTransaction (asynchronously), not in a
  // synchronous busy loop that would freeze the event loop of the dashboard.
  db.pragma('busy_timeout = 0');
  shared.__lwWriteDb = { file, db };
  return db;
}

export function closeWriteDb(): void {
  if (shared.__lwWriteDb?.db.open) shared.__lwWriteDb.db.close();
  shared.__lwWriteDb = undefined;
}

const isBusy = (e: unknown) => {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
};

/**
 * Run `fn` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before `fn` reads
 * anything, so a read-compare-write inside `fn` cannot interleave with another writer — neither
 * in this process (`fn` is synchronous) nor in another one (the agent, the CLI, the dashboard).
 * When another connection holds the lock, the attempt is retried until `timeoutMs`, yielding to
 * the event loop in between (so a Prisma transaction of this very process can finish). Nothing of
 * a failed attempt is kept: BEGIN IMMEDIATE fails before `fn` runs, and a throw rolls back.
 */
export async function writeTransaction<T>(fn: (db: DB) => T, opts: { file?: string; timeoutMs?: number } = {}): Promise<T> {
  const db = writeDb(opts.file ?? dbPath());
  const tx = db.transaction(fn);
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (let wait = 2; ; wait = Math.min(50, wait * 2)) {
    try {
      return tx.immediate(db);
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
