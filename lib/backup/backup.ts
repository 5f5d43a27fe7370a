// Backup and restore: the database (every revision, counter history, accounts, audit) and the
// configuration directory (/etc/linkward in the package: web.env, the TLS certificate and key) as
// one file — gzip'd JSON, `.lwbackup`. Used by `linkward backup` / `linkward restore FILE`, the
// dashboard's "Download backup" and the package upgrade (a backup before the new migrations run).
// A backup holds password hashes and the TLS key: it is written 0600.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { loadMigrations, migrate } from '../db/migrate';
import { projectRoot } from '../db/path';
import { refuseLinkedSidecars } from '../db/sqlite';

/** Not path.join: Turbopack's file tracer takes a path.join over run-time directories for a file
 *  reference and traces the whole checkout into the standalone build. */
const joinPath = (...parts: string[]): string => parts.join('/').replace(/\/{2,}/g, '/');

export const BACKUP_FORMAT = 'linkward-backup';
export const BACKUP_VERSION = 1;
/** Files of the configuration directory a backup carries (relative paths). */
export const CONFIG_FILES = ['web.env', 'tls/cert.pem', 'tls/key.pem'];

const Envelope = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  createdAt: z.string(),
  hostname: z.string(),
  linkwardVersion: z.string(),
  migrations: z.array(z.string()),
  latestRevision: z.number().int().nullable(),
  /** The desired configuration at backup time (also inside the database), for people and `jq`. */
  config: z.unknown(),
  files: z.record(z.string(), z.string()),
  database: z.string(),
  databaseSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BackupEnvelope = z.infer<typeof Envelope>;

export interface BackupSources {
  dbFile: string;
  /** Configuration directory (null: none, e.g. a checkout). */
  configDir?: string | null;
  linkwardVersion?: string;
}

function tmpFile(dir: string, tag: string): string {
  return joinPath(dir, `.lw-${tag}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.db`);
}

/** A consistent snapshot of the database (VACUUM INTO: one read transaction, other writers go on). */
function snapshot(dbFile: string): { bytes: Buffer; migrations: string[]; latestRevision: number | null; config: unknown } {
  if (!fs.existsSync(/*turbopackIgnore: true*/ dbFile)) throw new Error(`no database at ${dbFile}`);
  const out = tmpFile(os.tmpdir(), 'backup');
  refuseLinkedSidecars(dbFile);
  const db = new Database(/*turbopackIgnore: true*/ dbFile, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(out);
    const migrations = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_linkward_migrations'").get()
      ? (db.prepare('SELECT name FROM _linkward_migrations ORDER BY name').all() as { name: string }[]).map((r) => r.name)
      : []);
    const hasRev = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'Revision'").get();
    const row = hasRev ? (db.prepare('SELECT id, config FROM Revision ORDER BY id DESC LIMIT 1').get() as { id: number; config: string } | undefined) : undefined;
    const bytes = fs.readFileSync(/*turbopackIgnore: true*/ out);
    return { bytes, migrations, latestRevision: row ? Number(row.id) : null, config: row ? JSON.parse(row.config) : null };
  } finally {
    db.close();
    fs.rmSync(/*turbopackIgnore: true*/ out, { force: true });
  }
}

export function createBackup(src: BackupSources): { data: Buffer; envelope: Omit<BackupEnvelope, 'database' | 'files'> & { files: string[] } } {
  const snap = snapshot(src.dbFile);
  const files: Record<string, string> = {};
  if (src.configDir) {
    for (const rel of CONFIG_FILES) {
      try {
        files[rel] = fs.readFileSync(/*turbopackIgnore: true*/ joinPath(src.configDir, rel)).toString('base64');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${joinPath(src.configDir, rel)}: ${(e as Error).message}`);
      }
    }
  }
  const env: BackupEnvelope = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: new Date().toISOString(),
    hostname: os.hostname(),
    linkwardVersion: src.linkwardVersion ?? 'unknown',
    migrations: snap.migrations,
    latestRevision: snap.latestRevision,
    config: snap.config,
    files,
    database: snap.bytes.toString('base64'),
    databaseSha256: crypto.createHash('sha256').update(snap.bytes).digest('hex'),
  };
  const data = zlib.gzipSync(Buffer.from(JSON.stringify(env)), { level: 6 });
  const { database: _d, files: f, ...meta } = env;
  void _d;
  return { data, envelope: { ...meta, files: Object.keys(f) } };
}

/** Parse and check a backup file (format, version, checksum). Throws a clear error. */
export function readBackup(data: Buffer): BackupEnvelope {
  let text: string;
  try {
    text = zlib.gunzipSync(data).toString('utf8');
  } catch {
    throw new Error('not a linkward backup (not gzip data)');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('not a linkward backup (not JSON inside)');
  }
  const r = Envelope.safeParse(raw);
  if (!r.success) throw new Error(`not a linkward backup: ${r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  const bytes = Buffer.from(r.data.database, 'base64');
  if (crypto.createHash('sha256').update(bytes).digest('hex') !== r.data.databaseSha256) throw new Error('backup is damaged: the database checksum does not match');
  for (const rel of Object.keys(r.data.files)) if (!CONFIG_FILES.includes(rel)) throw new Error(`backup names an unexpected file ${JSON.stringify(rel)}`);
  return r.data;
}

export interface RestoreResult {
  latestRevision: number | null;
  migrationsApplied: string[];
  filesRestored: string[];
}

/** Restore a backup into the live database (online: SQLite's backup API copies it page by page
 *  under the database's own locks, so a running agent and dashboard see a new database version,
 *  never a half-written file) and the configuration directory. A backup made by a newer linkward
 *  (migrations this one does not know) is refused; an older one is migrated first. */
export async function restoreBackup(data: Buffer, dst: { dbFile: string; configDir?: string | null; migrationsDir?: string }): Promise<RestoreResult> {
  const env = readBackup(data);
  const known = new Set(loadMigrations(dst.migrationsDir).map((m) => m.name));
  const unknown = env.migrations.filter((m) => !known.has(m));
  if (unknown.length) throw new Error(`backup comes from a newer linkward (database migrations ${unknown.join(', ')} unknown here); upgrade linkward first`);
  const tmp = tmpFile(path.dirname(dst.dbFile), 'restore');
  fs.writeFileSync(/*turbopackIgnore: true*/ tmp, Buffer.from(env.database, 'base64'), { mode: 0o600 });
  let applied: string[] = [];
  try {
    const src = new Database(/*turbopackIgnore: true*/ tmp, { fileMustExist: true });
    try {
      const ok = src.pragma('integrity_check', { simple: true });
      if (ok !== 'ok') throw new Error(`backup database fails the integrity check: ${String(ok)}`);
      applied = migrate(src, dst.migrationsDir);
      if (!fs.existsSync(/*turbopackIgnore: true*/ dst.dbFile)) {
        fs.mkdirSync(/*turbopackIgnore: true*/ path.dirname(dst.dbFile), { recursive: true });
      }
      refuseLinkedSidecars(dst.dbFile);
      await src.backup(dst.dbFile);
    } finally {
      src.close();
    }
  } finally {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`]) fs.rmSync(/*turbopackIgnore: true*/ f, { force: true });
  }
  const filesRestored: string[] = [];
  if (dst.configDir) {
    for (const [rel, b64] of Object.entries(env.files)) {
      const file = joinPath(dst.configDir, rel);
      fs.mkdirSync(/*turbopackIgnore: true*/ path.dirname(file), { recursive: true });
      const mode = rel.endsWith('key.pem') ? 0o640 : 0o644;
      const t = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(/*turbopackIgnore: true*/ t, Buffer.from(b64, 'base64'), { mode });
      // keep the owner/group of the file it replaces (root:linkward in the package)
      try {
        const st = fs.statSync(/*turbopackIgnore: true*/ file);
        fs.chownSync(/*turbopackIgnore: true*/ t, st.uid, st.gid);
      } catch {
        /* new file */
      }
      fs.renameSync(/*turbopackIgnore: true*/ t, file);
      filesRestored.push(rel);
    }
  }
  return { latestRevision: env.latestRevision, migrationsApplied: applied, filesRestored };
}

/** Keep the `keep` newest files of `dir` whose names start with `prefix`; returns the removed ones. */
export function pruneBackups(dir: string, prefix: string, keep: number): string[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.lwbackup'))
    .map((f) => ({ f, t: fs.statSync(/*turbopackIgnore: true*/ joinPath(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t || (a.f < b.f ? 1 : -1));
  const gone = files.slice(keep).map((x) => x.f);
  for (const f of gone) fs.rmSync(/*turbopackIgnore: true*/ joinPath(dir, f), { force: true });
  return gone;
}

/** This linkward's version: the package's VERSION file, else package.json of the checkout. */
export function linkwardVersion(): string {
  for (const f of [joinPath(projectRoot(), 'VERSION'), joinPath(projectRoot(), 'package.json')]) {
    try {
      const t = fs.readFileSync(/*turbopackIgnore: true*/ f, 'utf8');
      return f.endsWith('.json') ? String(JSON.parse(t).version) : t.trim();
    } catch {
      /* next */
    }
  }
  return 'unknown';
}
