// Backup and restore (lib/backup/backup.ts, `linkward backup` / `linkward restore FILE`): the
// database and the configuration directory as one file; restore is online (a connection that stays
// open — the agent's — sees the restored data), checks the file and refuses a newer schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { openDb } from '../../lib/db/sqlite';
import { createBackup, readBackup, restoreBackup, pruneBackups } from '../../lib/backup/backup';
import { cli, tmpDb } from '../helpers/cli';

const rev = (db: ReturnType<typeof openDb>, summary: string) =>
  db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)').run(Date.now(), 't', 'cli', summary, JSON.stringify({ version: 1, summary }));
const count = (db: ReturnType<typeof openDb>, t: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;

test('backup → change → restore gives the backed-up database back, online, with the config files', async () => {
  const t = tmpDb('lwbak');
  try {
    const db = openDb(t.db);
    rev(db, 'one');
    rev(db, 'two');
    db.prepare("INSERT INTO User (username, passwordHash, createdAt) VALUES ('admin', 'x', ?)").run(Date.now());
    const conf = path.join(t.dir, 'etc');
    fs.mkdirSync(path.join(conf, 'tls'), { recursive: true });
    fs.writeFileSync(path.join(conf, 'web.env'), 'A=1\n');
    fs.writeFileSync(path.join(conf, 'tls', 'key.pem'), 'KEY\n');
    const { data, envelope } = createBackup({ dbFile: t.db, configDir: conf, linkwardVersion: '9.9' });
    assert.equal(envelope.latestRevision, 2);
    assert.deepEqual(envelope.files.sort(), ['tls/key.pem', 'web.env']);
    assert.equal((readBackup(data).config as { summary: string }).summary, 'two');
    // afterwards: one more revision, the admin gone, config files changed
    rev(db, 'three');
    db.prepare('DELETE FROM User').run();
    fs.writeFileSync(path.join(conf, 'web.env'), 'A=2\n');
    const r = await restoreBackup(data, { dbFile: t.db, configDir: conf });
    assert.deepEqual(r.filesRestored.sort(), ['tls/key.pem', 'web.env']);
    // the connection that stayed open (like the agent's) reads the restored content
    assert.equal(count(db, 'Revision'), 2);
    assert.equal(count(db, 'User'), 1);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(fs.readFileSync(path.join(conf, 'web.env'), 'utf8'), 'A=1\n');
    assert.equal(fs.statSync(path.join(conf, 'tls', 'key.pem')).mode & 0o777, 0o640);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('a damaged, foreign or newer backup is refused and nothing is changed', async () => {
  const t = tmpDb('lwbak');
  try {
    const db = openDb(t.db);
    rev(db, 'one');
    const { data } = createBackup({ dbFile: t.db });
    const env = JSON.parse(zlib.gunzipSync(data).toString());
    const pack = (o: unknown) => zlib.gzipSync(Buffer.from(JSON.stringify(o)));
    rev(db, 'two');
    await assert.rejects(restoreBackup(Buffer.from('hello'), { dbFile: t.db }), /not a linkward backup \(not gzip data\)/);
    await assert.rejects(restoreBackup(pack({ ...env, format: 'other' }), { dbFile: t.db }), /not a linkward backup: format/);
    await assert.rejects(restoreBackup(pack({ ...env, databaseSha256: '0'.repeat(64) }), { dbFile: t.db }), /checksum does not match/);
    await assert.rejects(restoreBackup(pack({ ...env, migrations: [...env.migrations, '9999_future'] }), { dbFile: t.db }), /newer linkward \(database migrations 9999_future unknown here\)/);
    await assert.rejects(restoreBackup(pack({ ...env, files: { '../../etc/passwd': 'eA==' } }), { dbFile: t.db, configDir: t.dir }), /unexpected file/);
    assert.equal(count(db, 'Revision'), 2, 'nothing restored');
    db.close();
  } finally {
    t.cleanup();
  }
});

test('linkward backup FILE / restore FILE; --pre-upgrade keeps this and the previous one', () => {
  const t = tmpDb('lwbak');
  try {
    const env = { LINKWARD_DB: t.db };
    assert.equal(cli(['import', '-'], env, JSON.stringify({ version: 1 })).code, 0);
    const file = path.join(t.dir, 'b.lwbackup');
    const b = cli(['backup', file], env);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'a backup holds secrets: 0600');
    assert.equal(cli(['import', '-'], env, JSON.stringify({ version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }] })).code, 0);
    const r = cli(['restore', file], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revision 1 is the desired configuration/);
    assert.deepEqual(JSON.parse(cli(['export'], env).stdout).lan, []);
    assert.equal(cli(['restore', path.join(t.dir, 'nope.lwbackup')], env).code, 2);
    for (let i = 0; i < 3; i++) assert.equal(cli(['backup', '--pre-upgrade', `0.1.${i}`], env).code, 0);
    const dir = path.join(t.dir, 'backups');
    const left = fs.readdirSync(dir).sort();
    assert.equal(left.length, 2, left.join());
    assert.match(left.join(), /pre-upgrade-0\.1\.1-.*pre-upgrade-0\.1\.2-/);
    assert.equal(cli(['backup', '--pre-upgrade', 'x;rm'], env).code, 2);
    assert.deepEqual(pruneBackups(dir, 'pre-upgrade-', 5), []);
  } finally {
    t.cleanup();
  }
});

test('the dashboard restore puts the database back but never the configuration files, and audits it', async () => {
  const t = tmpDb('lwbakweb');
  const saved = { db: process.env.LINKWARD_DB, conf: process.env.LINKWARD_CONFIG_DIR };
  try {
    const db = openDb(t.db);
    rev(db, 'one');
    const conf = path.join(t.dir, 'etc');
    fs.mkdirSync(path.join(conf, 'tls'), { recursive: true });
    fs.writeFileSync(path.join(conf, 'web.env'), 'A=1\n');
    fs.writeFileSync(path.join(conf, 'tls', 'key.pem'), 'KEY\n');
    const { data } = createBackup({ dbFile: t.db, configDir: conf, linkwardVersion: '9.9' });
    rev(db, 'two');
    fs.writeFileSync(path.join(conf, 'web.env'), 'A=2\n');
    process.env.LINKWARD_DB = t.db;
    process.env.LINKWARD_CONFIG_DIR = conf;
    const { restoreBackupUpload } = await import('../../lib/web/queries');
    const r = await restoreBackupUpload('admin', data);
    assert.equal(r.latestRevision, 1);
    assert.deepEqual(r.skippedFiles.sort(), ['tls/key.pem', 'web.env']);
    assert.equal(count(db, 'Revision'), 1, 'the database is the backup\'s');
    assert.equal(fs.readFileSync(path.join(conf, 'web.env'), 'utf8'), 'A=2\n', 'the configuration files are left alone');
    const a = db.prepare("SELECT actor, detail FROM AuditLog WHERE action = 'backup.restore'").all() as { actor: string; detail: string }[];
    assert.equal(a.length, 1);
    assert.equal(a[0].actor, 'admin');
    assert.match(a[0].detail, /files not restored: .*web\.env/);
    await assert.rejects(restoreBackupUpload('admin', Buffer.from('not a backup')), /./, 'a damaged file is refused');
    assert.equal(count(db, 'Revision'), 1);
    db.close();
    const { restoreBackupFormSchema } = await import('../../lib/web/actions/schemas');
    const form = (file: Blob, confirm: string) => restoreBackupFormSchema.safeParse({ file, confirm });
    assert.equal(form(new Blob([new Uint8Array(data)]), 'RESTORE').success, true);
    assert.equal(form(new Blob([new Uint8Array(data)]), 'restore').success, false, 'the typed confirmation is exact');
    assert.equal(form(new Blob([]), 'RESTORE').success, false, 'no file chosen');
  } finally {
    if (saved.db === undefined) delete process.env.LINKWARD_DB; else process.env.LINKWARD_DB = saved.db;
    if (saved.conf === undefined) delete process.env.LINKWARD_CONFIG_DIR; else process.env.LINKWARD_CONFIG_DIR = saved.conf;
    const { disconnect } = await import('../../lib/db/prisma');
    await disconnect();
    t.cleanup();
  }
});
