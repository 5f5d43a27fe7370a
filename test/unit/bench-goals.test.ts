// bench/goals.ts: the issue-16 goals table of `npm run bench` (pure: the result record in, rows out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goalRows } from '../../bench/goals';
import { parseBenchArgs } from '../../bench/run';

const by = (rows: ReturnType<typeof goalRows>, start: string) => {
  const r = rows.find((x) => x.goal.startsWith(start));
  assert.ok(r, `no row ${start}`);
  return r;
};

test('an empty run measures nothing: every goal is "not measured", none met', () => {
  const rows = goalRows({});
  assert.ok(rows.length >= 11);
  assert.deepEqual([...new Set(rows.map((r) => r.status))], ['not measured']);
});

test('figures at, under and over their goal', () => {
  const rows = goalRows({
    apply_p50_ms_10000_rules: 300, // at the goal: met
    apply_p50_ms_10000_rules_load: 1000.1, // over: missed
    apply_p50_ms_100: 17.9,
    agent_total_cpu_pct: 1.61,
    agent_cpu_pct_50k_flows: 0.89,
    agent_cpu_pct_50k_flows_poll: 12.18,
    agent_rss_mb_50k_flows: 91.5,
    agent_rss_mb_50k_flows_start: 117.2, // the start-up peak counts
    conntrack_failover: { detectToKernelClearMs: 300 },
  });
  assert.equal(by(rows, 'one-rule change with 10 000').status, 'met');
  assert.equal(by(rows, 'full apply').status, 'missed');
  assert.equal(by(rows, 'one-rule change with 100').status, 'met');
  assert.equal(by(rows, 'idle agent').status, 'missed');
  assert.equal(by(rows, 'idle agent').measured, '1.61 % CPU');
  assert.equal(by(rows, '50 000 tracked flows: agent CPU').status, 'met');
  const rss = by(rows, '50 000 tracked flows: agent RSS');
  assert.equal(rss.status, 'missed');
  assert.equal(rss.measured, '117.2 MB');
  assert.equal(by(rows, 'conntrack: event stream').status, 'met');
  assert.equal(by(rows, 'failover deletes').status, 'met');
  assert.equal(by(rows, 'failover, default').status, 'not measured');
});

test('failover: met only when measured in this run, under the goal and with no false transition', () => {
  const prof = (profile: string, failoverMedianMs: number, falseTransitions = 0, filteredTargetTransitions = 0) => ({ profile, failoverMedianMs, falseTransitions, filteredTargetTransitions });
  let rows = goalRows({ failover: { measured: true, profiles: [prof('default', 1130), prof('fast', 390)] } });
  assert.equal(by(rows, 'failover, default').status, 'met');
  assert.equal(by(rows, 'failover, fast').status, 'met');
  rows = goalRows({ failover: { measured: true, profiles: [prof('default', 1130, 1), prof('fast', 510)] } });
  assert.equal(by(rows, 'failover, default').status, 'missed');
  assert.equal(by(rows, 'failover, fast').status, 'missed');
  // a saved file of an earlier run is shown but not counted for this run
  rows = goalRows({ failover: { measured: false, file: 'failover-2026-12-03.json', profiles: [prof('default', 1130)] } });
  const d = by(rows, 'failover, default');
  assert.equal(d.status, 'not measured');
  assert.match(d.from, /failover-2026-12-03\.json, not this run/);
});

test('the peer row needs both columns of every figure', () => {
  const row = (linkward: number | null, shorewall: number | null) => ({ figure: 'x', linkward, shorewall });
  assert.equal(by(goalRows({ peer: { rows: [row(1, 2), row(3, 4)] } }), 'side by side').status, 'met');
  assert.equal(by(goalRows({ peer: { rows: [row(1, 2), row(3, null)] } }), 'side by side').status, 'missed');
});

test('bench sections include failover, which --only can pick', () => {
  assert.ok(parseBenchArgs([]).only.includes('failover'));
  assert.deepEqual(parseBenchArgs(['--only', 'failover']).only, ['failover']);
});
