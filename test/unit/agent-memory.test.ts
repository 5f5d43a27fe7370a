// The agent's memory settings for the large-table case (issue 16): its SQLite page cache and
// V8's optimize-for-size mode around the conntrack listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
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

test('SizeScope: on for the first of overlapping scopes, restored after the last, also when it throws', async () => {
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
  assert.equal(presetForSize(['--optimize-for-size']), true);
  assert.equal(presetForSize(['--max-old-space-size=200', '--optimize_for_size']), true);
  assert.equal(presetForSize(['--no-optimize-for-size']), true);
  assert.equal(presetForSize(['--nooptimize-for-size']), true);
  assert.equal(presetForSize(['--import', 'tsx', '--max-old-space-size=200']), false);
  const calls: string[] = [];
  await new SizeScope((f) => calls.push(f), true).run(async () => 0);
  assert.deepEqual(calls, []);
});

test('SizeScope: the flag is V8’s (in --v8-options), and a process can set and unset it at run time', () => {
  // Node 20 accepts unknown flags silently, so check the names against V8's own list
  const opts = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.match(opts, /^\s*--optimize-for-size \(/m);
  const src = "import('node:v8').then(({default: v8}) => { v8.setFlagsFromString('--optimize-for-size'); const a = []; for (let i = 0; i < 1e5; i++) a.push({ i }); v8.setFlagsFromString('--no-optimize-for-size'); console.log(a.length); })";
  assert.equal(execFileSync(process.execPath, ['-e', src], { encoding: 'utf8' }).trim(), '100000');
});
