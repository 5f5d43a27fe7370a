// The agent's memory settings for the large-table case (issue 16): its SQLite page cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../lib/db/sqlite';
import { AgentStore, AGENT_CACHE_KIB } from '../../agent/store';

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
