// The one write path for desired state (lib/store/revisions.ts) on a real migrated temp database:
// lost updates. A dashboard save and `linkward uplink drain` that race must never silently revert
// one another: a write based on a revision that is no longer the latest is refused (nothing
// stored), and a write without a base (the CLI) reads and writes in one write transaction.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-revisions-'));
let n = 0;
/** A fresh database for each test (the store's clients follow $LINKWARD_DB). */
const freshDb = () => (process.env.LINKWARD_DB = path.join(dir, `t${++n}.db`));
freshDb();

const { saveConfig, updateConfig, latestRevision, listRevisions } = await import('../../lib/store/revisions');
const { restoreRevision } = await import('../../lib/store/safety');
const { disconnect } = await import('../../lib/db/prisma');

after(async () => {
  await disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

const doc = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [
    { name: 'dsl', interface: 'wan1' },
    { name: 'cable', interface: 'wan2' },
  ],
};
const author = { author: 'test', source: 'ui' } as const;

async function seed(): Promise<number> {
  const r = await saveConfig(doc, { author: 'test', source: 'cli' });
  assert.ok(r.ok && r.changed);
  return r.revision;
}

const disable = (name: string) => (c: { uplinks: { name: string; enabled: boolean }[] }) => {
  for (const u of c.uplinks) if (u.name === name) u.enabled = false;
  return c;
};
const drain = (name: string) => (c: { uplinks: { name: string; drain: boolean }[] }) => {
  for (const u of c.uplinks) if (u.name === name) u.drain = true;
  return c;
};

async function uplink(name: string) {
  const u = (await latestRevision())!.config.uplinks.find((x) => x.name === name);
  assert.ok(u, name);
  return u;
}

test('two writes based on the same revision: the second is refused, nothing is silently lost', async () => {
  freshDb();
  const base = await seed();
  // The dashboard rendered revision `base` and disables dsl; meanwhile `uplink drain cable` ran.
  const cli = await updateConfig(drain('cable'), { author: 'cli:root', source: 'toggle', baseRevision: base });
  assert.ok(cli.ok, JSON.stringify(cli));
  assert.equal(cli.revision, base + 1);
  const ui = await updateConfig(disable('dsl'), { ...author, baseRevision: base });
  assert.equal(ui.ok, false, 'a save based on a stale revision must be refused');
  if (ui.ok) return;
  assert.match(ui.errors.join('; '), /changed meanwhile/);
  assert.match(ui.errors.join('; '), /review again/);
  assert.deepEqual(ui.conflict, { base, latest: base + 1 });
  assert.equal((await latestRevision())!.id, base + 1, 'nothing stored');
  assert.equal((await uplink('cable')).drain, true, "the CLI's drain is not reverted");
  assert.equal((await uplink('dsl')).enabled, true);
  // Reviewed again on top of the new revision, the dashboard change goes through: both survive.
  const again = await updateConfig(disable('dsl'), { ...author, baseRevision: base + 1 });
  assert.ok(again.ok && again.changed);
  assert.equal((await uplink('dsl')).enabled, false);
  assert.equal((await uplink('cable')).drain, true);
});

test('concurrent updates without a base (the CLI: uplink drain vs disable): every change lands', async () => {
  // Reads and writes in one write transaction: the lost update of `linkward uplink drain`
  // racing another writer. Before the fix, two of these three changes were silently reverted.
  freshDb();
  await seed();
  const all = await Promise.all([
    updateConfig(disable('dsl'), { author: 'cli:a', source: 'toggle' }),
    updateConfig(drain('cable'), { author: 'cli:b', source: 'toggle' }),
    updateConfig(drain('dsl'), { author: 'cli:c', source: 'toggle' }),
  ]);
  assert.ok(all.every((r) => r.ok && r.changed), JSON.stringify(all));
  assert.equal((await uplink('dsl')).enabled, false);
  assert.equal((await uplink('dsl')).drain, true);
  assert.equal((await uplink('cable')).drain, true);
  assert.deepEqual((await listRevisions()).map((r) => r.id), [4, 3, 2, 1]);
});

test('concurrent writers based on one revision: exactly one passes the check', async () => {
  freshDb();
  const base = await seed();
  const [a, b] = await Promise.all([
    updateConfig(disable('dsl'), { ...author, baseRevision: base }),
    updateConfig(drain('cable'), { author: 'cli:root', source: 'toggle', baseRevision: base }),
  ]);
  assert.equal([a, b].filter((r) => r.ok).length, 1, `exactly one may pass the check: ${JSON.stringify([a, b])}`);
  assert.equal((await listRevisions()).length, 2);
  if (a.ok) assert.equal((await uplink('dsl')).enabled, false);
  else assert.equal((await uplink('cable')).drain, true);
});

test('another process holding the write lock: the check happens after it commits, inside our transaction', async () => {
  freshDb();
  const base = await seed();
  const file = process.env.LINKWARD_DB!;
  // A second connection (think: `linkward uplink drain` in another process) takes the write lock,
  // stores revision base+1 and holds the lock a while before committing.
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.sqlite);
     const db = new Database(workerData.file);
     db.pragma('busy_timeout = 5000');
     db.exec('BEGIN IMMEDIATE');
     const cfg = JSON.parse(db.prepare('SELECT config FROM Revision ORDER BY id DESC LIMIT 1').get().config);
     cfg.uplinks[1].drain = true;
     db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 'cli:other', 'toggle', 'drains uplink cable', ?)").run(Date.now(), JSON.stringify(cfg));
     parentPort.postMessage('locked');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
     db.exec('COMMIT');
     db.close();`,
    { eval: true, workerData: { sqlite, file } },
  );
  const done = new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
  await new Promise((resolve) => worker.once('message', resolve));
  const t0 = Date.now();
  const ui = await updateConfig(disable('dsl'), { ...author, baseRevision: base });
  assert.ok(Date.now() - t0 >= 200, 'waited for the other writer instead of reading around it');
  await done;
  assert.equal(ui.ok, false, `stale after the other writer committed: ${JSON.stringify(ui)}`);
  assert.equal((await latestRevision())!.id, base + 1);
  assert.equal((await uplink('cable')).drain, true);
  assert.equal((await uplink('dsl')).enabled, true);
});

test('base null = "nothing stored yet"; saveConfig and restore refuse stale bases too', async () => {
  freshDb();
  const first = await saveConfig(doc, { ...author, baseRevision: null });
  assert.ok(first.ok && first.revision === 1);
  const dup = await saveConfig({ ...doc, uplinks: [doc.uplinks[0]] }, { ...author, baseRevision: null });
  assert.equal(dup.ok, false);
  assert.match(!dup.ok ? dup.errors[0] : '', /changed meanwhile/);
  const two = await updateConfig(drain('dsl'), { ...author, baseRevision: 1 });
  assert.ok(two.ok && two.revision === 2);
  const staleRestore = await restoreRevision(1, 'test', { baseRevision: 1 });
  assert.equal(staleRestore.ok, false);
  const restore = await restoreRevision(1, 'test', { baseRevision: 2 });
  assert.ok(restore.ok && restore.revision === 3, JSON.stringify(restore));
  assert.equal((await uplink('dsl')).drain, false);
  // A mutation that refuses (e.g. the item it edits is gone) stores nothing and says why.
  const { ChangeRefused } = await import('../../lib/store/revisions');
  const refused = await updateConfig(() => {
    throw new ChangeRefused('no uplink named "nope"');
  }, { author: 'cli:root', source: 'toggle' });
  assert.deepEqual(refused.ok ? null : refused.errors, ['no uplink named "nope"']);
  assert.equal((await latestRevision())!.id, 3);
});

test('a stored revision that no longer validates (schema tightened by an upgrade) does not block later saves', async () => {
  freshDb();
  const { desiredState } = await import('../../lib/store/revisions');
  const { openDb } = await import('../../lib/db/sqlite');
  const r1 = await seed();
  // What an older version might have stored: a weight the current schema refuses.
  const raw = openDb(process.env.LINKWARD_DB!);
  const bad = JSON.stringify({ ...doc, uplinks: [{ name: 'dsl', interface: 'wan1', weight: 500 }, { name: 'cable', interface: 'wan2' }] });
  const r2 = Number(raw.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 'old', 'ui', 'old weight', ?)").run(Date.now(), bad).lastInsertRowid);
  const st = await desiredState();
  assert.equal(st.revision?.id, r1, 'the dashboard shows the newest valid revision');
  assert.deepEqual(st.invalid.map((x) => x.id), [r2]);
  assert.match(st.invalid[0].errors.join(), /uplinks\[0\]\.weight/);
  // A dashboard change based on what it showed (r1) is stored, based on r1.
  const s = await updateConfig(disable('cable'), { ...author, baseRevision: r1 });
  assert.ok(s.ok && s.changed, JSON.stringify(s));
  assert.equal(s.revision, r2 + 1);
  assert.equal((await uplink('cable')).enabled, false);
  assert.equal((await uplink('dsl')).weight, 1, 'based on r1, not on the invalid r2');
  // The CLI (no base) works too; a restore of the invalid revision is refused with the reason.
  assert.ok((await updateConfig(drain('dsl'), { author: 'cli:t', source: 'toggle' })).ok);
  const rr = await restoreRevision(r2, 'test');
  assert.ok(!rr.ok && /revision \d+ no longer validates with this version: uplinks\[0\]\.weight/.test(rr.errors[0]), JSON.stringify(rr));

  // Nothing valid left among the newest: edits are refused with a clear message (they would start
  // from an empty configuration), an import or a restore replaces the document.
  freshDb();
  const raw2 = openDb(process.env.LINKWARD_DB!);
  raw2.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 'old', 'ui', 'old', ?)").run(Date.now(), bad);
  const refused = await updateConfig(disable('cable'), author);
  assert.ok(!refused.ok && /revision 1 no longer validates with this version \(uplinks\[0\]\.weight[^)]*\): nothing stored; import a corrected configuration or restore a valid revision/.test(refused.errors[0]), JSON.stringify(refused));
  assert.equal((raw2.prepare('SELECT COUNT(*) FROM Revision').pluck().get() as number), 1, 'nothing stored');
  const imp = await saveConfig(doc, { author: 'test', source: 'import', baseRevision: null });
  assert.ok(imp.ok && imp.changed && imp.revision === 2, JSON.stringify(imp));
  raw.close();
  raw2.close();
});
