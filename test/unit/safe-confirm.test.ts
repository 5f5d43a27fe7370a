// Issue 8: commit-confirmed bookkeeping in the agent (agent/confirm.ts) on a real migrated
// database, with explicit clocks: window starts at apply, survives a restart (state in the DB),
// confirmation ends it, the deadline rolls back to the previous good revision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb, type DB } from '../../lib/db/sqlite';
import { ConfirmWatcher } from '../../agent/confirm';
import { parseConfig } from '../../lib/validations/config';
import { tmpDb } from '../helpers/cli';

const good = { version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'isp1', interface: 'wan1' }] };
const bad = { ...good, rules: [{ name: 'oops', chain: 'forward', action: 'drop' }] };
const norm = (d: unknown) => {
  const p = parseConfig(d);
  assert.ok(p.ok);
  return JSON.stringify(p.value);
};

function setup() {
  const t = tmpDb('lw-confirm');
  const db = openDb(t.db);
  db.prepare("INSERT OR IGNORE INTO AgentState (id, facts) VALUES (1, '{}')").run();
  const add = (doc: unknown, confirmWithin: number | null) =>
    Number(db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config, confirmWithin) VALUES (?, 'test', 'cli', 's', ?, ?)").run(Date.now(), norm(doc), confirmWithin).lastInsertRowid);
  const notes: string[] = [];
  const w = (d: DB) => new ConfirmWatcher(d, (type, action, msg) => notes.push(`${type}|${action}|${msg}`));
  return { db, add, notes, w, cleanup: () => { db.close(); t.cleanup(); } };
}

test('unconfirmed revision is rolled back at the deadline to the previous good one, with audit', () => {
  const s = setup();
  try {
    const r1 = s.add(good, null);
    const r2 = s.add(bad, 30);
    const w = s.w(s.db);
    w.onApplied(r1, 1000);
    assert.equal(w.pending(), null);
    w.onApplied(r2, 10_000);
    assert.deepEqual(w.pending(), { revision: r2, deadline: 40_000 });
    // An agent restart: a new watcher reads the same deadline; re-applying does not extend it.
    const w2 = s.w(s.db);
    w2.onApplied(r2, 20_000);
    assert.deepEqual(w2.pending(), { revision: r2, deadline: 40_000 });
    assert.equal(w2.tick(39_999).kind, 'waiting');
    const t = w2.tick(40_000);
    assert.equal(t.kind, 'rolledBack');
    if (t.kind !== 'rolledBack') return;
    assert.equal(t.restored, r1);
    const row = s.db.prepare('SELECT * FROM Revision WHERE id = ?').get(t.newRevision) as { source: string; author: string; config: string; summary: string };
    assert.equal(row.source, 'rollback');
    assert.equal(row.author, 'agent');
    assert.equal(row.config, norm(good));
    assert.match(row.summary, new RegExp(`revision ${r2} was not confirmed within 30s; restores revision ${r1} \\(removes rule oops\\)`));
    assert.ok((s.db.prepare('SELECT rolledBackAt FROM Revision WHERE id = ?').pluck().get(r2) as number) > 0);
    assert.equal(w2.pending(), null);
    assert.equal((s.db.prepare("SELECT COUNT(*) FROM AuditLog WHERE action = 'config.rollback'").pluck().get() as number), 1);
    // The restored revision itself starts no window.
    w2.onApplied(t.newRevision, 41_000);
    assert.equal(w2.pending(), null);
  } finally {
    s.cleanup();
  }
});

test('confirmation before the deadline ends the window; no rollback', () => {
  const s = setup();
  try {
    s.add(good, null);
    const r2 = s.add(bad, 60);
    const w = s.w(s.db);
    w.onApplied(r2, 0);
    s.db.prepare('UPDATE Revision SET confirmedAt = ? WHERE id = ?').run(5000, r2);
    assert.equal(w.tick(5001).kind, 'confirmed');
    assert.equal(w.tick(999_999).kind, 'idle');
    assert.equal(s.db.prepare('SELECT COUNT(*) FROM Revision').pluck().get(), 2);
  } finally {
    s.cleanup();
  }
});

test('rollback skips earlier unconfirmed/rolled-back revisions; no good target keeps the revision', () => {
  const s = setup();
  try {
    const r1 = s.add(good, 30);
    const w = s.w(s.db);
    w.onApplied(r1, 0);
    assert.equal(w.tick(30_000).kind, 'noTarget');
    const r0 = s.add(good, null);
    const r2 = s.add(bad, 30);
    w.onApplied(r2, 100_000);
    const t = w.tick(200_000);
    assert.equal(t.kind, 'rolledBack');
    if (t.kind === 'rolledBack') assert.equal(t.restored, r0);
  } finally {
    s.cleanup();
  }
});
