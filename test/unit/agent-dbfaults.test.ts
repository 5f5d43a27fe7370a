// The agent's database is bookkeeping: read-only, locked, deleted or unreadable, nothing in the
// store throws; records are kept and written (with one report) when it is back, and a reconcile
// with an unreadable database converges on the last validated config. Real SQLite files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { openDb } from '../../lib/db/sqlite';
import { AgentStore, DEFER_MAX, isDbFault } from '../../agent/store';
import { Agent } from '../../agent/agent';
import { FakeSystem } from '../../agent/system/fake';
import { fixtureConfig } from './system-fixtures';

function tmp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-dbf-'));
  const file = path.join(dir, 'a.db');
  const db = openDb(file);
  return { dir, file, db, cleanup: () => { try { db.close(); } catch { /* closed */ } fs.rmSync(dir, { recursive: true, force: true }); } };
}
const events = (db: ReturnType<typeof openDb>) => db.prepare('SELECT type, message FROM Event ORDER BY id').all() as { type: string; message: string }[];

test('read-only database: writes never throw, are kept, and are written with one report when it is back', () => {
  const t = tmp();
  try {
    const st = new AgentStore(t.db);
    const seen: boolean[] = [];
    st.onOutage = (_o, ended) => seen.push(ended);
    t.db.pragma('query_only = 1'); // the engine now refuses every write with SQLITE_READONLY
    st.event('uplink', 'uplink a: up → down (probes lost)', 'a');
    st.audit('uplink.failover', 'uplink a down');
    st.recordApplied(7, 12, {});
    st.recordApplied(8, 13, {}); // only the latest apply record is kept
    st.heartbeat(1);
    assert.equal(st.writeCounters([{ name: 'x', packets: 1, bytes: 2 }], [{ name: 'x', kind: 'rule', ref: 'x' }], true), 0);
    assert.ok(st.dbOutage, 'outage recorded');
    assert.match(st.dbOutage.error, /SQLITE_READONLY/);
    assert.deepEqual(seen, [false], 'reported once at the start');
    t.db.pragma('query_only = 0');
    st.heartbeat(1); // the first write that succeeds ends the outage
    assert.equal(st.dbOutage, null);
    assert.deepEqual(seen, [false, true]);
    const ev = events(t.db);
    assert.deepEqual(ev.map((e) => e.type), ['uplink', 'agent']);
    assert.match(ev[1].message, /^database unavailable for [0-9.]+ s \(SQLITE_READONLY: .*\); the kernel kept its state and failover went on; \d+ database operation\(s\) failed, 3 record\(s\) written late, 0 dropped$/);
    assert.equal(t.db.prepare('SELECT appliedRevision FROM AgentState WHERE id = 1').pluck().get(), 8);
    assert.equal(t.db.prepare("SELECT COUNT(*) FROM AuditLog WHERE action = 'uplink.failover'").pluck().get(), 1);
  } finally {
    t.cleanup();
  }
});

test('a lock held by another process: writes give up within the short busy timeout, then catch up', async () => {
  const t = tmp();
  // another process-like holder of the write lock (a worker thread with its own connection)
  const holder = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const D = require(workerData.mod);
    const db = new D(workerData.file);
    db.exec('BEGIN EXCLUSIVE');
    parentPort.postMessage('locked');
    parentPort.on('message', () => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released'); });
  `, { eval: true, workerData: { file: t.file, mod: createRequire(import.meta.url).resolve('better-sqlite3') } });
  try {
    await new Promise((r) => holder.once('message', r));
    const st = new AgentStore(t.db);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) st.event('uplink', `event ${i}`);
    const ms = performance.now() - t0;
    assert.ok(st.dbOutage, 'outage while locked');
    assert.match(st.dbOutage.error, /SQLITE_BUSY/);
    process.stdout.write(`# 5 writes refused under another process's lock (after the first try) took ${ms.toFixed(0)} ms of the agent's event loop\n`);
    holder.postMessage('release');
    await new Promise((r) => holder.once('message', r));
    st.heartbeat(1);
    assert.equal(st.dbOutage, null);
    assert.deepEqual(events(t.db).map((e) => e.message).slice(0, 5), ['event 0', 'event 1', 'event 2', 'event 3', 'event 4']);
  } finally {
    await holder.terminate();
    t.cleanup();
  }
});

test('a long outage keeps at most DEFER_MAX records (the oldest dropped, and counted)', () => {
  const t = tmp();
  try {
    const st = new AgentStore(t.db);
    t.db.pragma('query_only = 1');
    for (let i = 0; i < DEFER_MAX + 25; i++) st.event('agent', `e${i}`);
    t.db.pragma('query_only = 0');
    st.heartbeat(1);
    const ev = events(t.db);
    assert.equal(ev.length, DEFER_MAX + 1);
    assert.equal(ev[0].message, 'e25');
    assert.match(ev[ev.length - 1].message, /25 dropped$/);
  } finally {
    t.cleanup();
  }
});

test('a deleted database file is noticed (fileState), and a file put back is seen as replaced', () => {
  const t = tmp();
  try {
    const st = new AgentStore(t.db);
    assert.equal(st.fileState(), 'ok');
    const backup = path.join(t.dir, 'backup.db');
    t.db.exec(`VACUUM INTO '${backup}'`);
    for (const f of ['', '-wal', '-shm']) fs.rmSync(t.file + f, { force: true });
    assert.equal(st.fileState(), 'missing');
    assert.match(st.dbOutage?.error ?? '', /was deleted/);
    st.event('uplink', 'while the file was gone'); // kept, not lost in the orphaned inode
    fs.copyFileSync(backup, t.file);
    assert.equal(st.fileState(), 'replaced');
    const carry = st.takeDeferred();
    assert.equal(carry.queue.length, 1);
    const db2 = openDb(t.file);
    try {
      const st2 = new AgentStore(db2);
      st2.adoptDeferred(carry);
      st2.heartbeat(1);
      const ev = events(db2);
      assert.deepEqual(ev.map((e) => e.message.slice(0, 24)), ['while the file was gone', 'database unavailable for']);
    } finally {
      db2.close();
    }
  } finally {
    t.cleanup();
  }
});

test('isDbFault tells database faults from our own bugs (which still throw)', () => {
  assert.equal(isDbFault(Object.assign(new Error('x'), { code: 'SQLITE_FULL' })), true);
  assert.equal(isDbFault(new TypeError('undefined is not a function')), false);
  const t = tmp();
  try {
    const st = new AgentStore(t.db);
    assert.throws(() => st.writeCounters([{ name: 'x', packets: 1, bytes: 1 }], {} as never, false), TypeError);
  } finally {
    t.cleanup();
  }
});

test('the agent keeps converging on the last valid config while the database cannot be read', async () => {
  const t = tmp();
  try {
    const f = new FakeSystem();
    f.addLink('u1', { addresses: [{ address: '10.1.0.2', prefix: 24 }] });
    f.addLink('u2', { addresses: [{ address: '10.2.0.2', prefix: 24 }] });
    f.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
    t.db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 't', 'cli', 's', ?)").run(Date.now(), JSON.stringify(fixtureConfig(['a'])));
    const agent = new Agent({ db: t.db, runner: f.runner, health: false, watchLinks: false, log: () => undefined });
    const r1 = await agent.reconcile('start');
    assert.equal(r1.ok, true, r1.error);
    const before = f.dump();
    // the Revision table becomes unreadable (as with a corrupted page): desired() cannot read it
    t.db.exec('ALTER TABLE Revision RENAME TO Revision_gone');
    f.links.u2.up = false; // a fact changes meanwhile (u2 goes down): the agent must still act on it
    const r2 = await agent.reconcile('link change');
    assert.equal(r2.ok, true, r2.error);
    assert.equal(r2.revision, r1.revision, 'the last validated revision');
    agent.store.heartbeat(1); // the agent's periodic write: it succeeds, the outage ends and is reported
    assert.ok(events(t.db).some((e) => /^database unavailable for .*no such table: Revision/.test(e.message)), 'the outage is reported');
    assert.notEqual(f.dump(), before, 'the kernel followed the link change');
    t.db.exec('ALTER TABLE Revision_gone RENAME TO Revision');
    const r3 = await agent.reconcile('back');
    assert.equal(r3.ok, true);
    await agent.stop();
  } finally {
    t.cleanup();
  }
});
