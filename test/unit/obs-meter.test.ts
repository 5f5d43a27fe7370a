// Metered uplinks (lib/usage/meter.ts, agent/meter.ts on a real database): billing periods, usage
// across counter resets and agent restarts, thresholds once per period, the probe cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { periodStart, advance, crossed, probeBytesPerMonth } from '../../lib/usage/meter';
import { openDb } from '../../lib/db/sqlite';
import { Meter } from '../../agent/meter';
import { parseConfig, effectiveHealth } from '../../lib/validations/config';

test('periods start on periodDay at 00:00 local time', () => {
  assert.equal(periodStart(new Date(2026, 11, 10, 12).getTime(), 5), new Date(2026, 11, 5).getTime());
  assert.equal(periodStart(new Date(2026, 11, 3, 12).getTime(), 5), new Date(2026, 10, 5).getTime());
  assert.equal(periodStart(new Date(2026, 0, 3).getTime(), 28), new Date(2025, 11, 28).getTime());
});

test('usage: deltas of the counters, a reset counts from zero, a new period starts empty', () => {
  const t = new Date(2026, 11, 10).getTime();
  let u = advance(null, 1000, 500, t, 1);
  assert.equal(u.bytes, 0, 'the first reading counts nothing');
  u = advance(u, 1600, 900, t + 1000, 1);
  assert.equal(u.bytes, 1000);
  u = advance(u, 200, 100, t + 2000, 1); // counters reset (reboot): 300 new bytes
  assert.equal(u.bytes, 1300);
  u = { ...u, notified: 0.75 };
  const next = advance(u, 300, 100, new Date(2027, 0, 1, 1).getTime(), 1);
  assert.deepEqual([next.bytes, next.notified], [100, 0]);
  assert.equal(crossed({ bytes: 80, notified: 0 }, 100, [0.75, 0.95]), 0.75);
  assert.equal(crossed({ bytes: 96, notified: 0 }, 100, [0.75, 0.95]), 0.95);
  assert.equal(crossed({ bytes: 96, notified: 0.95 }, 100, [0.75, 0.95]), null);
  assert.equal(crossed({ bytes: 100, notified: 0.95 }, 100, [0.75, 0.95]), 1);
});

test('the agent meter: thresholds notified once, over-cap known after a restart', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-meter-'));
  try {
    const p = parseConfig({ version: 1, uplinks: [{ name: 'lte', interface: 'wwan0', metered: { capBytes: 1000, warnAt: [0.5], onCap: 'backup-only' } }] });
    assert.ok(p.ok);
    const file = path.join(dir, 'm.db');
    let db = openDb(file);
    let m = new Meter(db);
    const c = (rx: number, tx: number) => new Map([['lw_u_1_in', rx], ['lw_u_1_out', tx]]);
    assert.deepEqual(m.update(p.value, c(0, 0)), []);
    assert.deepEqual(m.update(p.value, c(300, 300)).map((e) => e.event), ['metered.threshold']);
    assert.deepEqual(m.update(p.value, c(350, 300)), [], 'not twice');
    assert.deepEqual(m.overCap(p.value), []);
    db.close();
    db = openDb(file); // agent restart
    m = new Meter(db);
    const ev = m.update(p.value, c(700, 400));
    assert.deepEqual(ev.map((e) => e.event), ['metered.cap']);
    assert.match(ev[0].message, /reached its data cap: 1\.1 kB of 1\.0 kB/);
    assert.deepEqual(m.overCap(p.value), ['lte']);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('probe cost: the metered default is one probe per target every 10 s', () => {
  const p = parseConfig({ version: 1, uplinks: [{ name: 'lte', interface: 'wwan0', health: { targets: ['1.1.1.1', '9.9.9.9', '8.8.8.8'] }, metered: { capBytes: 1e9 } }, { name: 'dsl', interface: 'eth1', health: { targets: ['1.1.1.1'] } }] });
  assert.ok(p.ok);
  const lte = effectiveHealth(p.value.uplinks[0]);
  assert.equal(lte.probeEveryMs, 10000);
  assert.equal(probeBytesPerMonth(lte), 3 * 259200 * 168);
  assert.equal(probeBytesPerMonth(effectiveHealth(p.value.uplinks[1])), 2 * 10368000 * 168, 'unmetered: 8 probes/s (every 125 ms)');
});
