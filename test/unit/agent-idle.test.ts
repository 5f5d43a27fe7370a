// Idle cost of the agent (issue 7): counters are written only when they changed (the connection
// mirror: connections.test.ts), and the drop/ban sets are read only when their gate
// counters moved (or the revision changed, a ban expires, or the periodic full read is due).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../lib/db/sqlite';
import { AgentStore } from '../../agent/store';
import { Visibility, FULL_READ_MS } from '../../agent/droplog';
import { FakeSystem } from '../../agent/system/fake';
import type { Runner } from '../../agent/system/runner';
import type { CounterSpec } from '../../lib/compile/types';

function tmpDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-idle-'));
  const db = openDb(path.join(dir, 'a.db'));
  return { db, cleanup: () => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const spec = (name: string): CounterSpec => ({ name, kind: 'rule', ref: name });

test('writeCounters: only changed rows are written; removed counters are deleted; samples cover all', () => {
  const t = tmpDb();
  try {
    const st = new AgentStore(t.db);
    const specs = ['a', 'b', 'c'].map(spec);
    const vals = (a: number, b: number, c: number) => [{ name: 'a', packets: a, bytes: a * 10 }, { name: 'b', packets: b, bytes: b * 10 }, { name: 'c', packets: c, bytes: c * 10 }];
    assert.equal(st.writeCounters(vals(1, 2, 3), specs, false), 3);
    assert.equal(st.writeCounters(vals(1, 2, 3), specs, false), 0, 'nothing changed: no row written');
    assert.equal(st.writeCounters(vals(1, 5, 3), specs, false), 1);
    const rows = t.db.prepare('SELECT name, packets, bytes FROM Counter ORDER BY name').all();
    assert.deepEqual(rows, [{ name: 'a', packets: 1, bytes: 10 }, { name: 'b', packets: 5, bytes: 50 }, { name: 'c', packets: 3, bytes: 30 }]);
    // A counter leaves the plan: its row goes, even though no value changed.
    const two = specs.slice(0, 2);
    assert.equal(st.writeCounters(vals(1, 5, 3).slice(0, 2), two, false), 0);
    assert.deepEqual(t.db.prepare('SELECT name FROM Counter ORDER BY name').pluck().all(), ['a', 'b']);
    // Samples are taken for every counter, changed or not.
    st.writeCounters(vals(1, 5, 3).slice(0, 2), two, true);
    assert.equal(t.db.prepare('SELECT COUNT(*) FROM CounterSample').pluck().get(), 2);
    // A new process (empty cache) writes everything again and removes strangers.
    t.db.prepare("INSERT INTO Counter (name, kind, ref, packets, bytes, updatedAt) VALUES ('zz', 'rule', 'zz', 0, 0, 0)").run();
    assert.equal(new AgentStore(t.db).writeCounters(vals(1, 5, 3).slice(0, 2), two, false), 2);
    assert.deepEqual(t.db.prepare('SELECT name FROM Counter ORDER BY name').pluck().all(), ['a', 'b']);
  } finally {
    t.cleanup();
  }
});

const setJson = (name: string, elem: unknown[]) => JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name, table: 'linkward', timeout: 3600, elem } }] });

test('Visibility.collect with a gate: sets are read only when their counters moved', async () => {
  const t = tmpDb();
  try {
    const calls: string[] = [];
    let dropPackets = 1;
    let bans: unknown[] = [];
    const runner: Runner = {
      ...new FakeSystem().runner,
      run: async (argv) => {
        const set = argv[argv.length - 1];
        calls.push(set);
        if (set === 'lw_drop_input') return { stdout: setJson(set, [{ elem: { val: { concat: ['wan1', '203.0.113.10', '100.64.1.2', 'tcp', 23] }, expires: 3600, counter: { packets: dropPackets, bytes: 60 } } }]), stderr: '', exitCode: 0 };
        if (set === 'lw_drop_forward') return { stdout: setJson(set, []), stderr: '', exitCode: 0 };
        if (set === 'lw_scan_ports') return { stdout: setJson(set, [23, 22, 25, 23].map((p, i) => ({ elem: { val: { concat: ['203.0.113.11', i === 3 ? 'wan2' : 'wan1', p] }, expires: 9 } }))), stderr: '', exitCode: 0 };
        return { stdout: setJson(set, bans), stderr: '', exitCode: 0 };
      },
    };
    const v = new Visibility(t.db, runner);
    const counters = new Map([['lw_b_drop_input', 60], ['lw_b_drop_forward', 0], ['lw_b_portscan', 0]]);
    const gate = { counters, plan: 1 };
    let now = Date.now();
    assert.equal((await v.collect(null, now, gate)).read, 6, 'first call reads every set (IPv4 and IPv6 drops and bans)');
    calls.length = 0;
    now += 2000;
    assert.equal((await v.collect(null, now, gate)).read, 0, 'nothing moved: nothing read');
    assert.deepEqual(calls, []);
    // A drop in the input chain: only that set is read, and the new packets are recorded.
    dropPackets = 4;
    counters.set('lw_b_drop_input', 240);
    now += 2000;
    const r = await v.collect(null, now, gate);
    assert.deepEqual([r.read, r.drops], [2, 1]);
    assert.deepEqual(calls, ['lw_drop_input', 'lw_drop_input6']);
    // 1 packet from the first read (hit just now, after start) + 3 new ones.
    assert.deepEqual(t.db.prepare("SELECT count FROM DropLog WHERE proto = 'tcp' ORDER BY id").pluck().all(), [1, 3]);
    // A port-scan ban: only the ban set; it is mirrored; re-read when it expires.
    calls.length = 0;
    bans = [{ elem: { val: '203.0.113.11', timeout: 5, expires: 5 } }];
    counters.set('lw_b_portscan', 60);
    now += 2000;
    const cfg = { uplinks: [{ name: 'isp1', interface: 'wan1' }, { name: 'isp2', interface: 'wan2' }] } as unknown as Parameters<typeof v.collect>[0];
    assert.equal((await v.collect(cfg, now, gate)).bans, 1);
    assert.deepEqual(calls, ['lw_banned', 'lw_banned6', 'lw_scan_ports', 'lw_scan_ports6'], 'a NEW ban also reads which ports the source probed');
    assert.deepEqual(t.db.prepare('SELECT address, ports, uplink FROM Ban').all(), [{ address: '203.0.113.11', ports: '[22,23,25]', uplink: 'isp1,isp2' }]);
    const ev = t.db.prepare("SELECT uplink, message FROM Event WHERE type = 'ban'").all() as { uplink: string; message: string }[];
    assert.equal(ev.length, 1);
    assert.equal(ev[0].uplink, 'isp1');
    assert.match(ev[0].message, /^port-scan ban: 203\.0\.113\.11 probed 3 closed ports \(22, 23, 25\) on isp1, isp2; banned for 5 s/);
    // the same ban read again is no new event and reads no ports
    calls.length = 0;
    counters.set('lw_b_portscan', 120);
    assert.equal((await v.collect(cfg, now + 100, gate)).bans, 1);
    assert.deepEqual(calls, ['lw_banned', 'lw_banned6']);
    assert.equal(t.db.prepare("SELECT COUNT(*) FROM Event WHERE type = 'ban'").pluck().get(), 1);
    bans = [];
    calls.length = 0;
    now += 2000;
    assert.equal((await v.collect(null, now, gate)).read, 0, 'ban not expired yet');
    now += 4000;
    assert.equal((await v.collect(null, now, gate)).read, 2, 'ban expired: ban sets re-read');
    assert.deepEqual(t.db.prepare('SELECT address FROM Ban').pluck().all(), []);
    // A new revision, or the periodic full read, reads everything.
    assert.equal((await v.collect(null, now + 1, { counters, plan: 2 })).read, 6);
    assert.equal((await v.collect(null, now + 2, { counters, plan: 2 })).read, 0);
    assert.equal((await v.collect(null, now + 2 + FULL_READ_MS, { counters, plan: 2 })).read, 6);
    // Without a gate (callers that do not know the counters): every set, every time.
    assert.equal((await v.collect(null, now + 3 + FULL_READ_MS)).read, 6);
    // ulogd2 reads NFLOG (agent/ulogd.ts): drops arrive from there, the drop sets are not read
    // (they would record the same drops twice); the ban sets still are.
    v.nflog = true;
    calls.length = 0;
    dropPackets = 9;
    counters.set('lw_b_drop_input', 999);
    const n = t.db.prepare('SELECT COUNT(*) FROM DropLog').pluck().get();
    const r2 = await v.collect(null, now + 4 + FULL_READ_MS);
    assert.deepEqual([r2.read, r2.drops], [2, 0]);
    assert.deepEqual(calls, ['lw_banned', 'lw_banned6']);
    assert.equal(t.db.prepare('SELECT COUNT(*) FROM DropLog').pluck().get(), n);
  } finally {
    t.cleanup();
  }
});

test('desired(): the same stored revision is validated once; a new or edited one again', () => {
  const t = tmpDb();
  try {
    const st = new AgentStore(t.db);
    const doc = { version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }] };
    const ins = t.db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)');
    ins.run(Date.now(), 't', 'cli', 's', JSON.stringify(doc));
    const a = st.desired();
    const b = st.desired();
    assert.ok(a.kind === 'ok' && b.kind === 'ok');
    assert.equal(a.config, b.config, 'cached: the same validated object');
    t.db.prepare('UPDATE Revision SET config = ? WHERE id = 1').run(JSON.stringify({ ...doc, uplinks: [{ name: 'isp1', interface: 'wan1;', gateway: 'auto' }] }));
    assert.equal(st.desired().kind, 'invalid', 'an edited row is validated again');
    ins.run(Date.now(), 't', 'cli', 's', JSON.stringify(doc));
    const c = st.desired();
    assert.ok(c.kind === 'ok' && c.revision === 2 && c.config !== a.config);
  } finally {
    t.cleanup();
  }
});

test('counters: read every counterMs only while watched (dashboard, /metrics), else every sampleMs', async () => {
  const t = tmpDb();
  const { Agent } = await import('../../agent/agent');
  try {
    const fake = new FakeSystem();
    const agent = new Agent({ db: t.db, runner: fake.runner, health: false, watchLinks: false, log: () => undefined, counterMs: 2000, sampleMs: 10000 });
    const now = Date.now();
    assert.equal(agent.countersDue(now), true, 'never read: due');
    (agent as unknown as { lastCounterRead: number }).lastCounterRead = now;
    assert.equal(agent.countersDue(now + 2000), false, 'nobody watches: not at the next 2 s tick');
    assert.equal(agent.countersDue(now + 8000), false);
    assert.equal(agent.countersDue(now + 10000), true, 'the history sample is due');
    // The dashboard (lib/web/watch markWatched) marks "counters" for 10 s.
    const { markWatched } = await import('../../lib/web/watch');
    markWatched(t.db, 'counters', now + 1000);
    assert.equal(agent.countersDue(now + 2000), true, 'watched: every tick');
    assert.equal(agent.countersDue(now + 9000), true);
    assert.equal(t.db.prepare("SELECT until FROM Watch WHERE name = 'counters'").pluck().get(), now + 11000);
  } finally {
    t.cleanup();
  }
});
