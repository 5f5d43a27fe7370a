import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthMonitor, type MonitorUplink, type ProberSpec } from '../../agent/health/monitor';
import type { ProbeOutcome, Transition } from '../../agent/health/state';

/** Fake probers: answer every intervalMs unless the target is in `dead`. */
function fakeFactory(dead: Set<string>) {
  const live = new Set<{ spec: ProberSpec }>();
  const factory = (spec: ProberSpec, cb: (o: ProbeOutcome) => void) => {
    let timer: NodeJS.Timeout | null = null;
    const rec = { spec };
    return {
      start() {
        live.add(rec);
        timer = setInterval(() => {
          const ok = !dead.has(`${spec.uplink}/${spec.target}`);
          cb({ target: spec.target, ok, rttMs: ok ? 1 : undefined, at: Date.now() });
        }, spec.intervalMs / 2);
      },
      stop() {
        live.delete(rec);
        if (timer) clearInterval(timer);
      },
    };
  };
  return { factory, live };
}

const health = { targets: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], method: 'icmp' as const, port: 80, intervalMs: 40, timeoutMs: 60, downAfter: 2, upAfter: 3, quorum: 2 };
const uplinks = (): MonitorUplink[] => [
  { name: 'wan1', id: 1, interface: 'eth1', address: '192.0.2.10', carrier: true, enabled: true, health: { ...health } },
  { name: 'wan2', id: 2, interface: 'eth2', address: '198.51.100.10', carrier: true, enabled: true, health: { ...health } },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
  assert.ok(cond(), 'condition not reached in time');
}

test('HealthMonitor: up, down on dead targets, immediate down on carrier loss, idempotent configure', async () => {
  const dead = new Set<string>();
  const { factory, live } = fakeFactory(dead);
  const m = new HealthMonitor({ proberFactory: factory });
  const ts: Transition[] = [];
  m.on('transition', (t: Transition) => ts.push(t));
  try {
    m.configure(uplinks());
    assert.equal(m.probersCreated, 6);
    assert.equal(live.size, 6);
    await until(() => m.snapshot().wan1.state === 'up' && m.snapshot().wan2.state === 'up');

    // Same config again: nothing restarts.
    m.configure(uplinks());
    assert.equal(m.probersCreated, 6);
    // Only thresholds changed: no restart either.
    const u = uplinks();
    u[0].health.downAfter = 3;
    m.configure(u);
    assert.equal(m.probersCreated, 6);
    // A target changed on wan2: only wan2's probers restart.
    const u2 = uplinks();
    u2[0].health.downAfter = 3;
    u2[1].health.targets = ['10.0.0.1', '10.0.0.2', '10.0.0.4'];
    m.configure(u2);
    assert.equal(m.probersCreated, 9);
    assert.equal(live.size, 6);
    assert.equal(m.snapshot().wan2.state, 'up', 'state kept across a probe restart');

    // One dead target on wan1: no transition. Two: down.
    const before = ts.length;
    dead.add('wan1/10.0.0.1');
    await sleep(400);
    assert.equal(ts.length, before);
    dead.add('wan1/10.0.0.2');
    await until(() => m.snapshot().wan1.state === 'down');
    assert.equal(m.snapshot().wan2.state, 'up');
    dead.clear();
    await until(() => m.snapshot().wan1.state === 'up');

    // Carrier loss: synchronous transition, probers stopped.
    const n = ts.length;
    m.setLinkState('wan2', { carrier: false, hasAddress: true });
    assert.deepEqual(ts.slice(n).map((t) => `${t.uplink}:${t.from}>${t.to}:${t.reason}`), ['wan2:up>down:carrier lost']);
    assert.equal([...live].filter((p) => p.spec.uplink === 'wan2').length, 0);
    m.setLinkState('wan2', { carrier: true, hasAddress: true });
    assert.equal(m.snapshot().wan2.state, 'down');
    await until(() => m.snapshot().wan2.state === 'up');

    // Disabled by admin.
    const u3 = uplinks();
    u3[1].enabled = false;
    u3[1].health.targets = u2[1].health.targets;
    u3[0].health.downAfter = 3;
    m.configure(u3);
    assert.equal(m.snapshot().wan2.state, 'disabled');
    assert.equal([...live].filter((p) => p.spec.uplink === 'wan2').length, 0);
    // Removed uplink disappears from the snapshot.
    m.configure([u3[0]]);
    assert.deepEqual(Object.keys(m.snapshot()), ['wan1']);
    const s = m.snapshot().wan1;
    assert.ok(s.latencyMs === 1 && typeof s.lossPct === 'number');
  } finally {
    m.stop();
  }
  assert.equal(live.size, 0, 'stop() stops every prober');
});

test('HealthMonitor: one round timer per round interval, however many uplinks use it', async () => {
  const { factory, live } = fakeFactory(new Set());
  const m = new HealthMonitor({ proberFactory: factory });
  const four = (): MonitorUplink[] => [1, 2, 3, 4].map((id) => ({ name: `wan${id}`, id, interface: `eth${id}`, address: `192.0.2.${id}`, carrier: true, enabled: true, health: { ...health } }));
  try {
    m.configure(four());
    assert.equal(m.roundTimers, 1);
    await until(() => Object.values(m.snapshot()).every((s) => s.state === 'up'));
    // wan4 at its own interval: a second timer; wan1-3 go on with the first
    const u = four();
    u[3].health = { ...health, intervalMs: 60 };
    m.configure(u);
    assert.equal(m.roundTimers, 2);
    const rounds = () => Object.values(m.snapshot()).map((s) => s.lastRound?.at ?? 0);
    const before = rounds();
    await until(() => rounds().every((at, i) => at > before[i]));
    assert.ok(Object.values(m.snapshot()).every((s) => s.state === 'up'), 'every uplink keeps its rounds');
    // a carrier loss stops one uplink's probing; the last member of an interval takes its timer along
    m.setLinkState('wan4', { carrier: false, hasAddress: true });
    assert.equal(m.roundTimers, 1);
    u[0].enabled = u[1].enabled = u[2].enabled = false;
    u[3].carrier = false;
    m.configure(u);
    assert.equal(m.roundTimers, 0);
  } finally {
    m.stop();
  }
  assert.equal(m.roundTimers, 0);
  assert.equal(live.size, 0);
});

test('HealthMonitor: batched probers are drained before each round (their replies exist only then)', async () => {
  let drains = 0;
  const factory = (spec: ProberSpec, cb: (o: ProbeOutcome) => void) => ({
    start() {},
    stop() {},
    // what a FIFO-backed ping prober does: outcomes only when drained, dated before the round
    drain(now: number) {
      drains++;
      cb({ target: spec.target, ok: true, rttMs: 1, at: now - 5 });
    },
  });
  const m = new HealthMonitor({ proberFactory: factory });
  try {
    m.configure(uplinks());
    await until(() => m.snapshot().wan1.state === 'up' && m.snapshot().wan2.state === 'up');
    assert.ok(drains >= 6, `${drains} drains`);
  } finally {
    m.stop();
  }
});
