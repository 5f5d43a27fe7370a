// The degraded state of the health state machine (issue 17): latency/loss thresholds with
// hysteresis over a time window, fed with simulated probes on a simulated clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UplinkHealth, probeIntervalMs, qualityLevel, type HealthSettings, type Transition } from '../../agent/health/state';

const Q = { latencyWarnMs: 200, latencyDownMs: 500, lossWarnPct: 10, lossDownPct: 20, windowMs: 30000, hysteresisPct: 20, holdRounds: 3 };
const S: HealthSettings = { targets: ['203.0.113.10', '203.0.113.11', '203.0.113.12'], method: 'icmp', port: 80, intervalMs: 500, timeoutMs: 1000, downAfter: 3, upAfter: 5, quorum: 2, quality: Q };

/** Drive `h` for `ms` of simulated time from `t0`: every target probed each probe period with
 *  `rtt(t)` (null = lost: known after timeoutMs), a round every intervalMs; outcomes reach the
 *  state machine when they happen, in time order. Returns the transitions and the end time. */
function drive(h: UplinkHealth, t0: number, ms: number, rtt: (t: number) => number | null, s = S): { ts: Transition[]; t: number } {
  const p = probeIntervalMs(s);
  const events: { at: number; f: () => Transition[] }[] = [];
  for (let t = t0; t < t0 + ms; t += p) {
    for (const target of s.targets) {
      const r = rtt(t);
      const at = t + (r ?? s.timeoutMs);
      if (at < t0 + ms) events.push({ at, f: () => (h.probe(r === null ? { target, ok: false, at } : { target, ok: true, rttMs: r, at }), []) });
    }
  }
  for (let t = t0 + s.intervalMs; t < t0 + ms; t += s.intervalMs) events.push({ at: t, f: () => h.round(t) });
  events.sort((a, b) => a.at - b.at);
  const ts: Transition[] = [];
  for (const e of events) ts.push(...e.f());
  return { ts, t: t0 + ms };
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('300 ms added delay: up → degraded within the window; delay removed: degraded → up', () => {
  const h = new UplinkHealth('isp1', S, 0);
  let r = drive(h, 0, 40000, () => 2);
  assert.deepEqual(r.ts.map((t) => t.to), ['up'], 'healthy: up once, nothing else');
  const tDelay = r.t;
  r = drive(h, r.t, 40000, () => 302);
  assert.deepEqual(r.ts.map((t) => `${t.from}>${t.to}`), ['up>degraded']);
  const took = r.ts[0].at - tDelay;
  assert.ok(took <= Q.windowMs, `degraded ${took} ms after the delay began (window ${Q.windowMs} ms)`);
  assert.match(r.ts[0].reason, /latency \d+ ms > 200 ms/);
  assert.equal(h.view().quality?.level, 'warn');
  const tClear = r.t;
  r = drive(h, r.t, 40000, () => 2);
  assert.deepEqual(r.ts.map((t) => `${t.from}>${t.to}`), ['degraded>up']);
  assert.ok(r.ts[0].at - tClear <= Q.windowMs, 'back up within the window');
  assert.match(r.ts[0].reason, /quality back to normal/);
});

test('5 % random loss with a 10 % threshold: 0 transitions over 60 s (20 seeds)', () => {
  let transitions = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const rand = rng(seed);
    const h = new UplinkHealth('isp1', S, 0);
    drive(h, 0, 20000, () => 2); // up, quality window filled
    const r = drive(h, 20000, 60000, () => (rand() < 0.05 ? null : 2));
    transitions += r.ts.length;
    assert.equal(h.state, 'up');
  }
  assert.equal(transitions, 0);
});

test('30 % loss → down by quality (reachability stays up); recovery needs the hysteresis margin', () => {
  const rand = rng(7);
  const h = new UplinkHealth('isp1', S, 0);
  drive(h, 0, 20000, () => 2);
  let r = drive(h, 20000, 40000, () => (rand() < 0.3 ? null : 2));
  assert.ok(r.ts.some((t) => t.to === 'down' && /loss/.test(t.reason)), r.ts.map((t) => `${t.to} ${t.reason}`).join(' | '));
  assert.equal(h.reachability, 'up');
  // Loss 17 % is below lossDownPct (20) but not below its exit line (16): stays down.
  r = drive(h, r.t, 40000, () => (rand() < 0.185 ? null : 2));
  const last = h.state;
  assert.ok(last === 'down' || last === 'degraded');
  r = drive(h, r.t, 40000, () => 2);
  assert.equal(h.state, 'up');
});

test('qualityLevel: hysteresis on the way out only', () => {
  assert.equal(qualityLevel(Q, 'ok', { latencyMs: 190, lossPct: 0 }).level, 'ok');
  assert.equal(qualityLevel(Q, 'ok', { latencyMs: 201, lossPct: 0 }).level, 'warn');
  assert.equal(qualityLevel(Q, 'warn', { latencyMs: 170, lossPct: 0 }).level, 'warn', '170 ≥ 200·0.8: still warn');
  assert.equal(qualityLevel(Q, 'warn', { latencyMs: 150, lossPct: 0 }).level, 'ok');
  assert.equal(qualityLevel(Q, 'warn', { latencyMs: 10, lossPct: 25 }).level, 'bad');
  assert.equal(qualityLevel(Q, 'bad', { latencyMs: 10, lossPct: 17 }).level, 'bad', '17 ≥ 20·0.8');
  assert.equal(qualityLevel(Q, 'bad', { latencyMs: 10, lossPct: 12 }).level, 'warn');
  assert.equal(qualityLevel({ ...Q, lossWarnPct: undefined, lossDownPct: undefined }, 'ok', { latencyMs: 10, lossPct: 90 }).level, 'ok', 'no loss thresholds: loss never degrades');
});

test('an outage clears the quality evidence: after recovery the uplink is judged on fresh probes', () => {
  const h = new UplinkHealth('isp1', S, 0);
  let r = drive(h, 0, 20000, () => 2);
  r = drive(h, r.t, 10000, () => null);
  assert.equal(h.state, 'down');
  r = drive(h, r.t, 5000, () => 2);
  assert.equal(h.state, 'up', 'up after upAfter good rounds, not held down by the outage in the loss window');
  assert.ok((h.view().quality?.samples ?? 0) < 100);
});

test('without quality thresholds nothing changes (no quality view, no degraded)', () => {
  const h = new UplinkHealth('isp1', { ...S, quality: undefined }, 0);
  const r = drive(h, 0, 40000, () => 900);
  assert.deepEqual(r.ts.map((t) => t.to), ['up']);
  assert.equal(h.view().quality, null);
});

test('probeEveryMs sets the probe period (metered uplinks)', () => {
  assert.equal(probeIntervalMs({ intervalMs: 20000, timeoutMs: 2000, probeEveryMs: 10000 }), 10000);
  assert.equal(probeIntervalMs({ intervalMs: 500, timeoutMs: 1000 }), 250);
});
