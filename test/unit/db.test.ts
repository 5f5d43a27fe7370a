import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import Database from 'better-sqlite3';
import { migrate, loadMigrations } from '../../lib/db/migrate';
import { openDb } from '../../lib/db/sqlite';
import { prisma, disconnect } from '../../lib/db/prisma';

test('migrations apply once, record checksums, and refuse edited history', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwmig-'));
  try {
    const file = path.join(dir, 'a.db');
    const db = new Database(file);
    const first = migrate(db);
    assert.deepEqual(first, loadMigrations().map((m) => m.name));
    assert.deepEqual(migrate(db), []);
    db.prepare("UPDATE _linkward_migrations SET checksum = 'x' WHERE name = ?").run(first[0]);
    assert.throws(() => migrate(db), /modified after it was applied/);
    db.close();
    const wal = openDb(path.join(dir, 'b.db'));
    assert.equal(wal.pragma('journal_mode', { simple: true }), 'wal');
    wal.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every Prisma model works on a database created by our SQL migrations', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lwdb-'));
  try {
    const db = prisma(path.join(dir, 'p.db'));
    const now = Date.now();
    await db.revision.create({ data: { createdAt: now, author: 't', source: 'cli', summary: 's', config: '{}' } });
    await db.agentState.create({ data: { id: 1, appliedRevision: 1, appliedAt: now, facts: '{}' } });
    await db.uplinkStatus.create({ data: { name: 'dsl', state: 'up', since: now, updatedAt: now, rxBytes: 5n } });
    await db.counter.create({ data: { name: 'lw_r_x', kind: 'rule', ref: 'x', packets: 2n ** 40n, bytes: 1n, updatedAt: now } });
    await db.counterSample.create({ data: { name: 'lw_r_x', ts: now, packets: 1n, bytes: 1n } });
    await db.event.create({ data: { ts: now, type: 'apply', message: 'm' } });
    await db.connection.create({ data: { id: -5, family: 6, proto: 'tcp', src: 'a', dst: 'b', host: 'a', rate: 1.5, firstSeen: now, ts: now } });
    await db.watch.create({ data: { name: 'connections', until: now } });
    const u = await db.user.create({ data: { username: 'admin', passwordHash: 'h', createdAt: now } });
    await db.session.create({ data: { id: 'sid', userId: u.id, createdAt: now, expiresAt: now + 1 } });
    await db.auditLog.create({ data: { ts: now, actor: 'a', action: 'b' } });
    await db.agentRequest.create({ data: { createdAt: now, type: 'x' } });
    await db.dropLog.create({ data: { ts: now, chain: 'input', src: 'a', dst: 'b', proto: 'tcp' } });
    await db.setting.create({ data: { key: 'k', value: 'v' } });
    await db.secret.create({ data: { id: '0'.repeat(32), value: 's', createdAt: now } });
    await db.notification.create({ data: { createdAt: now, channel: 'hook', event: 'test', payload: '{}', nextAt: now } });
    await db.meterUsage.create({ data: { uplink: 'lte', periodStart: now, bytes: 2n ** 40n, updatedAt: now } });
    await db.agentMetric.create({ data: { name: 'failovers_total', labels: 'uplink="lte"', value: 1 } });
    const c = await db.counter.findUniqueOrThrow({ where: { name: 'lw_r_x' } });
    assert.equal(c.packets, 2n ** 40n);
    await db.user.delete({ where: { id: u.id } });
    assert.equal(await db.session.count(), 0, 'session cascade-deleted with its user');
  } finally {
    await disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('root refuses a database whose WAL is a link (planted by another user in a shared directory)', { skip: process.getuid?.() !== 0 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-link-'));
  try {
    const file = path.join(dir, 'a.db');
    openDb(file).close();
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, `${file}-wal`);
    assert.throws(() => openDb(file), /a\.db-wal is not a plain file/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    fs.rmSync(`${file}-wal`);
    fs.linkSync(victim, `${file}-wal`);
    assert.throws(() => openDb(file), /not a plain file/, 'a hard link too');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
