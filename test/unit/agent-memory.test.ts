// The agent's memory settings for the large-table case (issue 16): its SQLite page cache and
// V8's optimize-for-size mode around the conntrack listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../lib/db/sqlite';
import { AgentStore, AGENT_CACHE_KIB } from '../../agent/store';
import { SizeScope, presetForSize } from '../../agent/heapsize';

test('AgentStore: the agent connection uses a 2 MB page cache, not better-sqlite3’s 16 MB', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-mem-'));
  const db = openDb(path.join(dir, 'a.db'));
  try {
    assert.equal(AGENT_CACHE_KIB, -2000);
    const other = openDb(path.join(dir, 'a.db'));
    // the library's default, which the agent overrides for its own connection only
    assert.equal(other.pragma('cache_size', { simple: true }), -16000);
    other.close();
    new AgentStore(db);
    assert.equal(db.pragma('cache_size', { simple: true }), AGENT_CACHE_KIB);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SizeScope: on for the outermost scope, restored after it, also when it throws', async () => {
  const calls: string[] = [];
  const s = new SizeScope((f) => calls.push(f), false);
  assert.equal(await s.run(async () => 1), 1);
  assert.deepEqual(calls, ['--optimize-for-size', '--no-optimize-for-size']);
  calls.length = 0;
  let release!: () => void;
  const inner = new Promise<void>((r) => (release = r));
  const a = s.run(() => inner);
  const b = s.run(async () => {
    assert.deepEqual(calls, ['--optimize-for-size']); // one setting for both
  });
  await b;
  assert.deepEqual(calls, ['--optimize-for-size'], 'still on while the first scope runs');
  release();
  await a;
  assert.deepEqual(calls, ['--optimize-for-size', '--no-optimize-for-size']);
  calls.length = 0;
  await assert.rejects(s.run(async () => { throw new Error('listing failed'); }), /listing failed/);
  assert.deepEqual(calls, ['--optimize-for-size', '--no-optimize-for-size']);
});

test('SizeScope: a process started with the flag (either way) is left as it is', async () => {
  assert.equal(presetForSize(['--optimize-for-size'], ''), true);
  assert.equal(presetForSize([], '--max-old-space-size=200 --optimize_for_size'), true);
  assert.equal(presetForSize(['--no-optimize-for-size'], ''), true);
  assert.equal(presetForSize(['--import', 'tsx'], '--max-old-space-size=200'), false);
  const calls: string[] = [];
  await new SizeScope((f) => calls.push(f), true).run(async () => 0);
  assert.deepEqual(calls, []);
});
