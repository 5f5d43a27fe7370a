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
import { SizeScope, presetForSize, exposeGc } from '../../agent/heapsize';

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

test('SizeScope.collect: one full collection per call through the gc it finds once; none, and no error, without one', () => {
  let found = 0;
  let ran = 0;
  const s = new SizeScope(() => undefined, false, () => (found++, () => void ran++));
  s.collect();
  s.collect();
  assert.equal(found, 1, 'looked up once');
  assert.equal(ran, 2);
  assert.equal(s.collected.count, 2);
  const none = new SizeScope(() => undefined, false, () => null);
  none.collect();
  assert.equal(none.collected.count, 0);
});

test('exposeGc: a process started without --expose-gc gets a working full collection at run time', () => {
  assert.equal(typeof exposeGc(() => undefined), typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'function' : 'object', 'no flag set: only a gc the process already has');
  // in a child without --expose-gc: the collection frees a dropped object (a WeakRef to it clears)
  const src = `import('${new URL('../../agent/heapsize.ts', import.meta.url).href}').then(async ({ exposeGc }) => {
    const gc = exposeGc();
    if (typeof gc !== 'function' || typeof globalThis.gc === 'function') { console.log('no gc'); return; }
    let o = { big: new Array(1e5).fill(1) };
    const w = new WeakRef(o);
    o = null;
    await new Promise((r) => setTimeout(r, 0));
    gc();
    console.log(w.deref() === undefined ? 'collected' : 'kept');
  })`;
  assert.equal(execFileSync(process.execPath, ['--import', 'tsx', '-e', src], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') }).trim(), 'collected');
});
