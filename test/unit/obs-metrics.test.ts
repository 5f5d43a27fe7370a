// GET /metrics text (lib/metrics) from a real migrated database filled the way the agent fills it
// (AgentStore, AgentMetrics), checked by the real `promtool check metrics` (Debian prometheus).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDb } from '../../lib/db/sqlite';
import { AgentStore } from '../../agent/store';
import { AgentMetrics } from '../../agent/metrics';
import { metricsText } from '../../lib/metrics/read';
import { escapeLabel } from '../../lib/metrics/render';
import type { CounterSpec } from '../../lib/compile/types';
import { cli } from '../helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-metrics-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) return { status: null, out: `promtool could not run (${r.error.message}): install it with scripts/setup.sh (Debian package prometheus)` };
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('1 000 rules, uplinks, histogram, metered usage: promtool accepts it and the values are the stored ones', () => {
  const db = openDb(path.join(dir, 'm.db'));
  const store = new AgentStore(db);
  const m = new AgentMetrics(db);
  const now = Date.now();
  store.markStarted(4242);
  store.recordApplied(7, 120, {});
  db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 't', 'cli', 's', '{}')").run(now);
  const specs: CounterSpec[] = [];
  const values: { name: string; packets: number; bytes: number }[] = [];
  for (let i = 0; i < 1000; i++) {
    specs.push({ name: `lw_r_r${i}`, kind: 'rule', ref: `r${i}` });
    values.push({ name: `lw_r_r${i}`, packets: i, bytes: i * 100 });
  }
  specs.push({ name: 'lw_b_lan_out', kind: 'builtin', ref: 'lan-out' }, { name: 'lw_u_1_in', kind: 'uplink', ref: 'isp1' });
  values.push({ name: 'lw_b_lan_out', packets: 5, bytes: 5000 }, { name: 'lw_u_1_in', packets: 1, bytes: 2 ** 40 });
  store.writeCounters(values, specs, false);
  store.writeUplinks([
    { name: 'isp1', state: 'degraded', since: now, reason: 'latency', address: '100.64.1.2', gateway: '100.64.1.1', latencyMs: 312.5, lossPct: 2.5, connections: 12, rxBytes: 2n ** 40n, txBytes: 1000n },
    { name: 'lte"x', state: 'down', since: now, reason: '', address: null, gateway: null, latencyMs: null, lossPct: null, connections: 0, rxBytes: 0n, txBytes: 0n },
  ]);
  m.observeApply(0.03);
  m.observeApply(0.7);
  m.inc('failovers_total', { uplink: 'isp1' });
  m.inc('uplink_transitions_total', { uplink: 'isp1', to: 'degraded' }, 2);
  m.set('metered_cap_bytes', { uplink: 'lte"x' }, 5e9);
  db.prepare('INSERT INTO MeterUsage (uplink, periodStart, bytes, updatedAt) VALUES (?, ?, ?, ?)').run('lte"x', now - 1000, 123456, now);
  const text = metricsText(db, now);
  const r = promtool(text);
  assert.equal(r.status, 0, r.out);
  const line = (re: RegExp) => text.split('\n').find((l) => re.test(l));
  assert.equal(line(/^linkward_agent_up /), 'linkward_agent_up 1');
  assert.equal(line(/^linkward_applied_revision /), 'linkward_applied_revision 7');
  assert.equal(line(/^linkward_uplink_up\{uplink="isp1"\}/), 'linkward_uplink_up{uplink="isp1"} 1');
  assert.equal(line(/^linkward_uplink_state\{uplink="isp1",state="degraded"\}/), 'linkward_uplink_state{uplink="isp1",state="degraded"} 1');
  assert.equal(line(/^linkward_uplink_rtt_seconds\{uplink="isp1"\}/), 'linkward_uplink_rtt_seconds{uplink="isp1"} 0.3125');
  assert.equal(line(/^linkward_uplink_receive_bytes_total\{uplink="isp1"\}/), `linkward_uplink_receive_bytes_total{uplink="isp1"} ${2 ** 40}`);
  assert.ok(text.includes(`linkward_uplink_up{uplink="${escapeLabel('lte"x')}"} 0`), 'label values are escaped');
  assert.equal(line(/^linkward_rule_packets_total\{rule="r999",/), 'linkward_rule_packets_total{rule="r999",kind="rule",counter="lw_r_r999"} 999');
  assert.equal(text.split('\n').filter((l) => l.startsWith('linkward_rule_bytes_total{')).length, 1001, 'every rule and built-in, no uplink counters');
  assert.equal(line(/^linkward_apply_duration_seconds_bucket\{le="0.05"\}/), 'linkward_apply_duration_seconds_bucket{le="0.05"} 1');
  assert.equal(line(/^linkward_apply_duration_seconds_bucket\{le="\+Inf"\}/), 'linkward_apply_duration_seconds_bucket{le="+Inf"} 2');
  assert.equal(line(/^linkward_failovers_total/), 'linkward_failovers_total{uplink="isp1"} 1');
  assert.equal(line(/^linkward_metered_usage_bytes/), `linkward_metered_usage_bytes{uplink="${escapeLabel('lte"x')}"} 123456`);
  assert.equal(line(/^linkward_metered_cap_bytes/), `linkward_metered_cap_bytes{uplink="${escapeLabel('lte"x')}"} 5000000000`);
  // A stale heartbeat: the agent is reported down.
  assert.match(metricsText(db, now + 60_000), /^linkward_agent_up 0$/m);
  db.close();
});

test('promtool would catch a broken exposition (the check is not vacuous)', () => {
  assert.notEqual(promtool('# TYPE x counter\nx{a="b} 1\n').status, 0);
});

test('linkward metrics prints the same exposition; linkward explain answers and names a bad flag', () => {
  const file = path.join(dir, 'cli.db');
  const db = openDb(file);
  const cfg = { version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }], rules: [{ name: 'no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23 }] };
  const imp = cli(['import', '-'], { LINKWARD_DB: file }, JSON.stringify(cfg));
  assert.equal(imp.code, 0, imp.stderr);
  const store = new AgentStore(db);
  store.recordApplied(1, 50, { interfaces: { lan0: { name: 'lan0', exists: true, up: true, carrier: true, addresses: [{ address: '192.168.1.1', prefix: 24 }] }, wan1: { name: 'wan1', exists: true, up: true, carrier: true, addresses: [{ address: '100.64.1.2', prefix: 24 }] } }, health: {} });
  db.close();
  const m = cli(['metrics'], { LINKWARD_DB: file });
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^linkward_applied_revision 1$/m);
  assert.equal(promtool(m.stdout).status, 0);
  const x = cli(['explain', '--src', '192.168.1.10', '--dst', '203.0.113.80', '--dport', '23'], { LINKWARD_DB: file });
  assert.equal(x.code, 0, x.stderr);
  assert.match(x.stdout, /decision: drop by lw:rule:no-telnet in chain forward \(counter lw_r_no_telnet\)/);
  const j = cli(['explain', '--src', '192.168.1.10', '--dst', '203.0.113.80', '--json'], { LINKWARD_DB: file });
  assert.equal((JSON.parse(j.stdout) as { uplink: { name: string; why: string } }).uplink.name, 'isp1');
  const bad = cli(['explain', '--src', '192.168.1', '--dst', '203.0.113.80'], { LINKWARD_DB: file });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--src: not an IPv4 address/);
});
