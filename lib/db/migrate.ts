import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import { projectRoot } from './path';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function migrationsDir(): string {
  return path.join(projectRoot(), 'prisma', 'migrations');
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return fs
    .readdirSync(/*turbopackIgnore: true*/ dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{4}_[a-z0-9_]+$/.test(d.name))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(/*turbopackIgnore: true*/ path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

/** Apply pending SQL migrations, each in its own transaction, recording what ran.
 *  Refuses to run if an applied migration's file changed (checksum mismatch). Returns names applied. */
export function migrate(db: Database.Database, dir = migrationsDir()): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS "_linkward_migrations" (
    "name" TEXT NOT NULL PRIMARY KEY, "checksum" TEXT NOT NULL, "appliedAt" REAL NOT NULL)`);
  const applied = new Map<string, string>(
    (db.prepare('SELECT name, checksum FROM _linkward_migrations').all() as { name: string; checksum: string }[]).map((r) => [r.name, r.checksum]),
  );
  const done: string[] = [];
  for (const m of loadMigrations(dir)) {
    const prev = applied.get(m.name);
    if (prev !== undefined) {
      if (prev !== m.checksum) throw new Error(`migration ${m.name} was modified after it was applied (checksum mismatch)`);
      continue;
    }
    // BEGIN IMMEDIATE: two processes starting at once serialize here; the loser re-checks.
    const run = db.transaction(() => {
      const again = db.prepare('SELECT 1 FROM _linkward_migrations WHERE name = ?').get(m.name);
      if (again) return false;
      db.exec(m.sql);
      db.prepare('INSERT INTO _linkward_migrations (name, checksum, appliedAt) VALUES (?, ?, ?)').run(m.name, m.checksum, Date.now());
      return true;
    });
    if (run.immediate()) done.push(m.name);
  }
  return done;
}
