// getSamples (dashboard sparklines/graphs) with 1 000+ counters: no bound-parameter overflow
// (it used to fail with Prisma P2029), downsampled per counter, last value per bucket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('getSamples handles 1 200 counters and downsamples to the last value per bucket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-samples-'));
  process.env.LINKWARD_DB = path.join(dir, 's.db');
  const { prisma, disconnect } = await import('../../lib/db/prisma');
  const { getSamples } = await import('../../lib/web/queries');
  try {
    const db = prisma();
    const now = Date.now();
    const names = Array.from({ length: 1200 }, (_, i) => `lw_r_r${i}`);
    const rows: (string | number)[][] = [];
    for (const n of names.slice(0, 1100)) for (let k = 0; k < 30; k++) rows.push([n, now - (30 - k) * 60_000, k, k * 100]);
    for (let i = 0; i < rows.length; i += 200) {
      const part = rows.slice(i, i + 200);
      await db.$executeRawUnsafe(`INSERT INTO CounterSample (name, ts, packets, bytes) VALUES ${part.map(() => '(?,?,?,?)').join(',')}`, ...part.flat());
    }
    const s = await getSamples(names, 3600_000, 20);
    assert.equal(Object.keys(s).length, 1100, 'every counter with samples is returned');
    const series = s.lw_r_r5;
    assert.ok(series.length >= 10 && series.length <= 21, `downsampled to ≤ 21 points (got ${series.length})`);
    assert.equal(series.at(-1)!.packets, 29, 'the newest value is kept');
    assert.ok(series.every((p, i) => i === 0 || p.ts > series[i - 1].ts), 'ordered by time');
    assert.deepEqual(await getSamples([], 3600_000), {});
  } finally {
    await disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
