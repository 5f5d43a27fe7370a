// The uplink status row the agent writes (UplinkStatus.state/reason), from the plan's typed
// reasons: an uplink whose interface is missing, down, or lacks an address or gateway is `down`
// (it used to be `unknown`: the agent matched the plan's prose against a regex that did not
// know "interface X does not exist" / "is down").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { FakeSystem } from '../../agent/system/fake';
import { openDb } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';
import type { UplinkReasonCode } from '../../lib/compile/types';
import { uplinkStatus } from '../../agent/uplink-status';

const CONFIG = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [
    { name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' },
    { name: 'gone', interface: 'wan9', gateway: '100.64.9.1' },
    { name: 'off', interface: 'wan2', gateway: '100.64.2.1' },
  ],
};

test('agent --once: an uplink whose interface does not exist is down, with the plan reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-upstatus-'));
  const db = openDb(path.join(dir, 'a.db'));
  try {
    const fake = new FakeSystem();
    fake.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
    fake.addLink('wan1', { addresses: [{ address: '100.64.1.2', prefix: 24 }] });
    fake.addLink('wan2', { up: false, addresses: [{ address: '100.64.2.2', prefix: 24 }] });
    const parsed = parseConfig(CONFIG);
    assert.ok(parsed.ok);
    for (const k of Object.keys(compile(parsed.value, { interfaces: {}, health: {} }).sysctls)) fake.sysctls[k] = '0';
    db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)').run(Date.now(), 't', 'cli', 's', JSON.stringify(parsed.value));
    const agent = new Agent({ db, runner: fake.runner, health: false, watchLinks: false, log: () => {} });
    const r = await agent.runOnce();
    assert.equal(r.ok, true, r.error);
    const rows = db.prepare('SELECT name, state, reason FROM UplinkStatus ORDER BY name').all() as { name: string; state: string; reason: string }[];
    assert.deepEqual(rows, [
      { name: 'gone', state: 'down', reason: 'interface wan9 does not exist' },
      { name: 'isp1', state: 'unknown', reason: 'not probed (agent --once)' },
      { name: 'off', state: 'down', reason: 'interface wan2 is down' },
    ]);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('uplinkStatus: precedence and every plan reason code', () => {
  const on = { enabled: true, drain: false };
  const inactive = (code: UplinkReasonCode, detail: string) => ({ active: false, reason: { code, detail } });
  assert.deepEqual(uplinkStatus({ enabled: false, drain: true }, inactive('disabled', 'disabled'), { state: 'up' }, true), { state: 'disabled', reason: 'disabled by admin' });
  assert.deepEqual(uplinkStatus({ enabled: true, drain: true }, inactive('draining', 'draining'), undefined, true), { state: 'draining', reason: 'draining: no new connections' });
  for (const [code, detail] of [['no-interface', 'interface wan9 does not exist'], ['interface-down', 'interface wan2 is down'], ['no-address', 'no address on wan1'], ['no-gateway', 'no gateway'], ['health-down', 'down']] as const) {
    assert.deepEqual(uplinkStatus(on, inactive(code, detail), undefined, true), { state: 'down', reason: detail }, code);
  }
  // the prober's verdict wins over the plan; an up uplink in a backup tier says so
  assert.deepEqual(uplinkStatus(on, inactive('backup', 'backup (priority 2)'), { state: 'up', reason: 'first good round' }, true), { state: 'up', reason: 'backup (priority 2)' });
  assert.deepEqual(uplinkStatus(on, { active: true, reason: null }, { state: 'down', reason: 'carrier lost' }, true), { state: 'down', reason: 'carrier lost' });
  // Recovered, the plan still from while it was down (the reconcile follows): not "up — down".
  assert.deepEqual(uplinkStatus(on, inactive('health-down', 'down'), { state: 'up', reason: '2 consecutive good rounds' }, true), { state: 'up', reason: '2 consecutive good rounds' });
  assert.deepEqual(uplinkStatus(on, inactive('health-down', 'down'), { state: 'down', reason: '3 consecutive bad rounds' }, true), { state: 'down', reason: '3 consecutive bad rounds' });
  assert.deepEqual(uplinkStatus(on, inactive('backup', 'backup (priority 2)'), undefined, true), { state: 'unknown', reason: 'waiting for probes' });
  assert.deepEqual(uplinkStatus(on, { active: true, reason: null }, { state: 'unknown' }, false), { state: 'unknown', reason: 'not probed (agent --once)' });
});
