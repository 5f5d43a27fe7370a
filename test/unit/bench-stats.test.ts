// Pure parts of the benchmark harness: statistics, generators, /proc parsing, argument parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, median, linearFit, blocklistEntries, fillerRules, benchConfig, cpuTicksFromStat, cpuTicksWithChildrenFromStat, ppidFromStat, rssKbFromStatus, table } from '../../bench/stats';
import { iptablesScript } from '../../bench/forward';
import { parseBenchArgs } from '../../bench/run';
import { footprintConfig, probeOf } from '../../bench/footprint';
import { parseConfig } from '../../lib/validations/config';
import { labConfig } from '../../lab/plan';

test('percentile (nearest rank) and median', () => {
  const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(v, 50), 5);
  assert.equal(percentile(v, 95), 10);
  assert.equal(percentile(v, 0), 1);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(median([1, 2, 3, 4]), 2.5);
  assert.equal(median([3, 1, 2]), 2);
});

test('linear fit recovers slope and intercept', () => {
  const f = linearFit([10, 100, 1000], [21, 30, 120]);
  assert.ok(Math.abs(f.slope - 0.1) < 1e-9);
  assert.ok(Math.abs(f.intercept - 20) < 1e-9);
});

test('generated configs validate; blocklist addresses are distinct, never adjacent, outside the lab', () => {
  const e = blocklistEntries(10000);
  assert.equal(new Set(e).size, 10000);
  assert.ok(e.every((x) => x.startsWith('10.') && x.endsWith('/32')));
  const doc = benchConfig(labConfig(2), { rules: 1000, blocklist: e, flip: 3 });
  const p = parseConfig(doc);
  assert.ok(p.ok, p.ok ? '' : p.errors.slice(0, 3).join('; '));
  assert.equal(fillerRules(5).length, 5);
  const f = parseConfig(footprintConfig(labConfig(4), 1000));
  assert.ok(f.ok);
  // "probed every 250 ms": rounds of 500 ms, timeout 1000 ms (the defaults probe every 125 ms)
  assert.ok(f.ok && f.value.uplinks.every((u) => u.health?.intervalMs === 500 && u.health?.timeoutMs === 1000));
  assert.equal(probeOf(footprintConfig(labConfig(4), 1000)), 250);
});

test('/proc parsing: utime+stime, children, ppid, VmRSS (process names with spaces and parens)', () => {
  const stat = '1234 (node (x) y) S 77 1234 1234 0 -1 4194304 100 0 0 0 250 50 7 3 20 0 11 0 100 1000 2000';
  assert.equal(cpuTicksFromStat(stat), 300);
  assert.equal(cpuTicksWithChildrenFromStat(stat), 310);
  assert.equal(ppidFromStat(stat), 77);
  assert.equal(rssKbFromStatus('Name:\tnode\nVmRSS:\t  123456 kB\n'), 123456);
  assert.equal(rssKbFromStatus('Name:\tx\n'), 0);
});

test('iptables script: one DROP per address, refuses anything else', () => {
  const s = iptablesScript(['10.0.0.2/32', '10.0.0.4/32']);
  assert.equal(s.split('\n').filter((l) => l.startsWith('-A FORWARD')).length, 2);
  assert.match(s, /^\*filter\n/);
  assert.match(s, /COMMIT\n$/);
  assert.throws(() => iptablesScript(['10.0.0.2/32 -j ACCEPT']));
});

test('bench arguments', () => {
  assert.deepEqual(parseBenchArgs(['--quick']).quick, true);
  assert.deepEqual(parseBenchArgs(['--only', 'apply,dashboard']).only, ['apply', 'dashboard']);
  assert.throws(() => parseBenchArgs(['--only', 'nope']));
  assert.throws(() => parseBenchArgs(['--fast']));
});

test('table renders aligned columns', () => {
  const t = table(['a', 'bb'], [['x', 1], ['yy', null]]).split('\n');
  assert.equal(t.length, 4);
  assert.equal(new Set(t.map((l) => l.length)).size, 1);
});
