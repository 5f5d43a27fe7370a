import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UplinkHealth, answerWindowMs, downSpanMs, partialSpanMs, probeIntervalMs, type HealthSettings, type Transition } from '../../agent/health/state';
import { HEALTH_DEFAULTS, HEALTH_FAST } from '../../lib/validations/config';

const TARGETS = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
const DEFAULTS: HealthSettings = {
  targets: TARGETS, method: 'icmp', port: 80,
  intervalMs: HEALTH_DEFAULTS.intervalMs, timeoutMs: HEALTH_DEFAULTS.timeoutMs,
  downAfter: HEALTH_DEFAULTS.downAfter, upAfter: HEALTH_DEFAULTS.upAfter, quorum: 2,
};
const FAST: HealthSettings = { ...DEFAULTS, ...HEALTH_FAST };

/** mulberry32: small seeded PRNG so loss patterns are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sim {
  /** Does target i answer a probe sent at time t? */
  answers: (i: number, t: number) => boolean;
  rttMs?: number;
  /** Probes are sent at k*probeMs + phase (ping's schedule is not aligned with rounds). */
  phaseMs?: number;
  /** Probe period per target; default intervalMs (the old one-probe-per-round schedule). */
  probeMs?: number;
  durationMs: number;
}

/** Fake clock simulation: probes and rounds as timestamped events processed in order. */
function simulate(h: UplinkHealth, s: HealthSettings, sim: Sim, start = 0) {
  type Ev = { at: number; kind: 0; i: number; ok: boolean } | { at: number; kind: 1 };
  const evs: Ev[] = [];
  const rtt = sim.rttMs ?? 20;
  const phase = sim.phaseMs ?? 137;
  const every = sim.probeMs ?? s.intervalMs;
  for (let k = 0; start + k * every + phase < start + sim.durationMs; k++) {
    const sent = start + k * every + phase;
    s.targets.forEach((_, i) => {
      const ok = sim.answers(i, sent);
      evs.push({ at: ok ? sent + rtt : sent + s.timeoutMs, kind: 0, i, ok });
    });
  }
  for (let k = 1; k * s.intervalMs <= sim.durationMs; k++) evs.push({ at: start + k * s.intervalMs, kind: 1 });
  evs.sort((a, b) => a.at - b.at || a.kind - b.kind);
  const transitions: Transition[] = [];
  const rounds: { at: number; good: boolean }[] = [];
  for (const e of evs) {
    if (e.at > start + sim.durationMs) break;
    if (e.kind === 0) h.probe({ target: s.targets[e.i], ok: e.ok, rttMs: e.ok ? rtt : undefined, at: e.at });
    else {
      transitions.push(...h.round(e.at));
      rounds.push({ at: e.at, good: h.view().lastRound!.good });
    }
  }
  return { transitions, rounds };
}

test('unknown resolves to up after the first good round', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  assert.equal(h.state, 'unknown');
  const { transitions } = simulate(h, DEFAULTS, { answers: () => true, durationMs: 5000 });
  assert.equal(transitions.length, 1);
  assert.deepEqual({ ...transitions[0], reason: undefined }, { uplink: 'wan1', from: 'unknown', to: 'up', at: DEFAULTS.intervalMs, reason: undefined });
  assert.match(transitions[0].reason, /first good round \(3\/3/);
  const v = h.view();
  assert.equal(v.lossPct, 0);
  assert.equal(v.latencyMs, 20);
});

test('unknown resolves to down after downAfter bad rounds when nothing answers', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  const { transitions } = simulate(h, DEFAULTS, { answers: () => false, durationMs: 5000 });
  assert.equal(transitions.length, 1);
  assert.equal(transitions[0].to, 'down');
  assert.equal(transitions[0].at, DEFAULTS.downAfter * DEFAULTS.intervalMs);
  // while down, no latency/loss is published (the dashboard and `status` show "-")
  assert.equal(h.view().lossPct, null);
  assert.equal(h.view().latencyMs, null);
});

test('latency/loss cover only the probes since the uplink became reachable: "-" while down, 0 % right after recovery', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  simulate(h, DEFAULTS, { answers: () => true, durationMs: 5000 });
  assert.equal(h.state, 'up');
  assert.equal(h.view().lossPct, 0);
  assert.equal(h.view().latencyMs, 20);
  // outage of 6 s: down, measures gone
  const down = simulate(h, DEFAULTS, { answers: () => false, durationMs: 6000 }, 5000);
  assert.deepEqual(down.transitions.map((t) => t.to), ['down']);
  assert.equal(h.view().lossPct, null);
  assert.equal(h.view().latencyMs, null);
  assert.equal(h.view().measured, null);
  // back: up after upAfter good rounds; the lost probes of the outage are not in the window
  const up = simulate(h, DEFAULTS, { answers: () => true, durationMs: 4000 }, 11_000);
  assert.deepEqual(up.transitions.map((t) => t.to), ['up']);
  const v = h.view();
  assert.equal(v.lossPct, 0, 'no stale loss from the outage');
  assert.equal(v.latencyMs, 20);
  assert.ok(v.measured && v.measured.probes > 0 && v.measured.spanMs <= 4000 + answerWindowMs(DEFAULTS), JSON.stringify(v.measured));
});

test('one of three targets dead: zero transitions at quorum 2', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  const { transitions } = simulate(h, DEFAULTS, { answers: (i) => i !== 1, durationMs: 120_000 });
  assert.deepEqual(transitions.map((t) => t.to), ['up']);
  assert.ok(Math.abs(h.view().lossPct! - 33.3) < 0.1, String(h.view().lossPct));
});

test('one target dead at quorum 3 (all) does go down: the quorum matters', () => {
  const s = { ...DEFAULTS, quorum: 3 };
  const h = new UplinkHealth('wan1', s, 0);
  const { transitions } = simulate(h, s, { answers: (i) => i !== 1, durationMs: 10_000 });
  assert.deepEqual(transitions.map((t) => t.to), ['down']);
});

test('20 % random loss per probe over 60 s: zero transitions with the defaults (seeded)', () => {
  const rnd = prng(20261125);
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  const { transitions, rounds } = simulate(h, DEFAULTS, { answers: () => rnd() >= 0.2, durationMs: 60_000 });
  assert.deepEqual(transitions.map((t) => t.to), ['up']);
  assert.equal(rounds.length, 60_000 / DEFAULTS.intervalMs);
  const loss = h.view().lossPct!;
  assert.ok(loss > 5 && loss < 40, `loss ${loss}`);
});

test('20 % loss: flap rate over many seeds and 10 simulated minutes each is ~0 with the defaults', () => {
  let flaps = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const rnd = prng(seed);
    const h = new UplinkHealth('wan1', DEFAULTS, 0);
    const { transitions } = simulate(h, DEFAULTS, { answers: () => rnd() >= 0.2, durationMs: 600_000 });
    flaps += transitions.length - 1;
  }
  // 500 simulated minutes; the window + quorum + downAfter make a flap very rare.
  assert.ok(flaps <= 1, `flaps ${flaps}`);
});

test('total loss: up -> down after exactly downAfter bad rounds; recovery after exactly upAfter good rounds', () => {
  for (const s of [DEFAULTS, FAST]) {
    const breakAt = 10_000;
    const fixAt = 20_000;
    const h = new UplinkHealth('wan1', s, 0);
    const { transitions, rounds } = simulate(h, s, {
      answers: (_i, t) => t < breakAt || t >= fixAt,
      durationMs: 30_000,
    });
    assert.deepEqual(transitions.map((t) => `${t.from}>${t.to}`), ['unknown>up', 'up>down', 'down>up']);
    const down = transitions[1];
    const firstBad = rounds.find((r) => r.at > breakAt && !r.good)!;
    assert.equal(down.at, firstBad.at + (s.downAfter - 1) * s.intervalMs, 'down on the downAfter-th bad round');
    assert.ok(rounds.filter((r) => r.at > breakAt && r.at <= down.at).every((r, i, a) => i < a.length - s.downAfter || !r.good));
    // Detection time after the break is bounded by the answer window + downAfter rounds.
    const detect = down.at - breakAt;
    assert.ok(detect <= answerWindowMs(s) + s.downAfter * s.intervalMs + s.intervalMs, `detect ${detect}`);
    assert.match(down.reason, new RegExp(`${s.downAfter} consecutive bad rounds \\(0/3`));
    const up = transitions[2];
    const firstGood = rounds.find((r) => r.at > fixAt && r.good)!;
    assert.equal(up.at, firstGood.at + (s.upAfter - 1) * s.intervalMs, 'up on the upAfter-th good round');
  }
});

test('a single bad round in up state resets nothing; downAfter-1 bad rounds then good: no transition', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  simulate(h, DEFAULTS, { answers: () => true, durationMs: 2000 });
  assert.equal(h.state, 'up');
  // Feed rounds directly: nothing answers for downAfter-1 rounds beyond the window.
  let t = 2000 + answerWindowMs(DEFAULTS) + 1;
  for (let k = 0; k < DEFAULTS.downAfter - 1; k++, t += 500) assert.deepEqual(h.round(t), []);
  for (const target of TARGETS) h.probe({ target, ok: true, rttMs: 5, at: t });
  assert.deepEqual(h.round(t), []);
  assert.equal(h.state, 'up');
});

test('late replies (rtt > timeoutMs) do not count as answers', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  for (let k = 1; k <= 5; k++) {
    for (const target of TARGETS) h.probe({ target, ok: true, rttMs: 1500, at: k * 500 - 10 });
    h.round(k * 500);
  }
  assert.equal(h.state, 'down');
  assert.equal(h.view().lossPct, null);
});

test('carrier loss and lost address: immediate down; back: needs upAfter fresh good rounds', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  simulate(h, DEFAULTS, { answers: () => true, durationMs: 3000 });
  assert.equal(h.state, 'up');
  const tr = h.setLink(3100, { carrier: false, hasAddress: true });
  assert.deepEqual(tr, [{ uplink: 'wan1', from: 'up', to: 'down', reason: 'carrier lost', at: 3100 }]);
  assert.equal(h.probing, false);
  // Rounds and probes are ignored while the link is down.
  h.probe({ target: TARGETS[0], ok: true, rttMs: 1, at: 3200 });
  assert.deepEqual(h.round(3500), []);
  assert.deepEqual(h.setLink(4000, { carrier: true, hasAddress: true }), []);
  assert.equal(h.state, 'down');
  assert.match(h.view().reason, /carrier back, waiting for 5 good rounds/);
  const { transitions } = simulate(h, DEFAULTS, { answers: () => true, durationMs: 5000 }, 4000);
  assert.equal(transitions.length, 1);
  assert.equal(transitions[0].to, 'up');
  assert.equal(transitions[0].at, 4000 + DEFAULTS.upAfter * DEFAULTS.intervalMs);

  assert.deepEqual(h.setLink(10_000, { carrier: true, hasAddress: false }).map((t) => t.reason), ['no address']);
});

test('disabled: no probing, no rounds; enabling returns to unknown', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0, { enabled: false });
  assert.equal(h.state, 'disabled');
  assert.equal(h.probing, false);
  assert.deepEqual(h.setLink(10, { carrier: false, hasAddress: true }), []);
  assert.equal(h.state, 'disabled');
  assert.deepEqual(h.setEnabled(20, true).map((t) => `${t.to}:${t.reason}`), ['down:carrier lost']);
  h.setLink(30, { carrier: true, hasAddress: true });
  assert.deepEqual(h.setEnabled(40, false).map((t) => t.to), ['disabled']);
  assert.deepEqual(h.setEnabled(50, true).map((t) => t.to), ['unknown']);
});

test('updateSettings keeps the state and forgets removed targets', () => {
  const h = new UplinkHealth('wan1', DEFAULTS, 0);
  simulate(h, DEFAULTS, { answers: () => true, durationMs: 2000 });
  h.updateSettings({ ...DEFAULTS, targets: ['192.0.2.9'], quorum: 1 });
  assert.equal(h.state, 'up');
  assert.equal(h.view().lossPct, null);
  let tr: Transition[] = [];
  for (let k = 1; k <= DEFAULTS.downAfter; k++) tr = tr.concat(h.round(2000 + answerWindowMs(DEFAULTS) + k * DEFAULTS.intervalMs));
  assert.deepEqual(tr.map((t) => t.to), ['down']);
});

// ---- Probe rate decoupled from the round interval (probeIntervalMs) ----

/** Realistic schedule: each target's ping has its own phase and a 2-3 % slower period (ping's
 *  own drift), probes lost independently with probability `loss` (seeded). */
function simulateRealistic(s: HealthSettings, o: { seed: number; loss: number; durationMs: number; dead?: (i: number, t: number) => boolean; probeMs?: number; warmMs?: number }) {
  const rnd = prng(o.seed);
  const every = o.probeMs ?? probeIntervalMs(s);
  type Ev = { at: number; kind: 0; i: number; ok: boolean } | { at: number; kind: 1 };
  const evs: Ev[] = [];
  s.targets.forEach((_, i) => {
    const period = every * (1.02 + rnd() * 0.01);
    for (let sent = rnd() * every; sent < o.durationMs; sent += period) {
      const lossy = sent >= (o.warmMs ?? 0);
      const ok = !(lossy && (o.dead?.(i, sent) ?? false)) && !(lossy && rnd() < o.loss);
      evs.push({ at: ok ? sent + 1 : sent + s.timeoutMs, kind: 0, i, ok });
    }
  });
  const roundPhase = rnd() * s.intervalMs;
  for (let t = roundPhase + s.intervalMs; t < o.durationMs; t += s.intervalMs) evs.push({ at: t, kind: 1 });
  evs.sort((a, b) => a.at - b.at || a.kind - b.kind);
  const h = new UplinkHealth('wan1', s, 0);
  const transitions: Transition[] = [];
  for (const e of evs) {
    if (e.kind === 0) h.probe({ target: s.targets[e.i], ok: e.ok, rttMs: e.ok ? 1 : undefined, at: e.at });
    else transitions.push(...h.round(e.at));
  }
  return { transitions, h };
}

// 20 % loss in each direction, as the lab's loss:20: 1 - 0.8 * 0.8 = 36 % of probes lost.
const LOSS36 = 0.36;

test('probeIntervalMs: two probes per round and three per timeout (125 ms default, 40 ms fast)', () => {
  assert.equal(probeIntervalMs(DEFAULTS), 125);
  assert.equal(probeIntervalMs(FAST), 40);
  assert.equal(answerWindowMs(DEFAULTS), 312.5, 'the window covers arrivals, not the timeout');
  assert.equal(downSpanMs(DEFAULTS), 1062.5);
  assert.equal(downSpanMs(FAST), 260);
  assert.equal(probeIntervalMs({ intervalMs: 100, timeoutMs: 50 }), 40, 'floor 40 ms');
  assert.equal(probeIntervalMs({ intervalMs: 40, timeoutMs: 60 }), 40, 'never slower than the rounds');
  assert.equal(downSpanMs(FAST), answerWindowMs(FAST) + (FAST.downAfter - 1) * FAST.intervalMs);
  assert.equal(partialSpanMs(DEFAULTS), downSpanMs(DEFAULTS) + DEFAULTS.downAfter * DEFAULTS.intervalMs);
});

test('fast profile, 36 % probe loss, 60 s: zero transitions after up (20 seeds)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { transitions, h } = simulateRealistic(FAST, { seed, loss: LOSS36, durationMs: 60_000 });
    assert.deepEqual(transitions.map((t) => t.to), ['up'], `seed ${seed}`);
    const loss = h.view().lossPct!;
    assert.ok(loss > 20 && loss < 52, `seed ${seed}: loss ${loss}`);
  }
});

test('fast profile, 36 % probe loss: at most 1 flap in 200 simulated minutes', () => {
  let flaps = 0;
  for (let seed = 100; seed < 120; seed++) flaps += simulateRealistic(FAST, { seed, loss: LOSS36, durationMs: 600_000 }).transitions.length - 1;
  assert.ok(flaps <= 1, `flaps ${flaps}`);
});

test('the probe rate is what makes a short down span steady: one probe per round flaps at 36 % loss', () => {
  // the fast timing with downAfter 2 (a 180 ms down span): steady with a probe every 40 ms (the
  // simulation of docs/failover.md), flapping with one probe per round
  const s = { ...FAST, downAfter: 2 };
  let flaps = 0;
  for (let seed = 1; seed <= 5; seed++) flaps += simulateRealistic(s, { seed, loss: LOSS36, durationMs: 60_000, probeMs: s.intervalMs }).transitions.length - 1;
  assert.ok(flaps >= 2, `only ${flaps} flaps in 5 simulated minutes`);
});

test('defaults, one target filtered AND 36 % probe loss, 60 s: zero transitions after up (20 seeds)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    // Conditions start once the uplink is up (5 s), as in the bench.
    const { transitions } = simulateRealistic(DEFAULTS, { seed, loss: LOSS36, durationMs: 65_000, warmMs: 5000, dead: (i) => i === 1 });
    assert.deepEqual(transitions.map((t) => t.to), ['up'], `seed ${seed}`);
  }
});

test('total loss with the new probe rate: down within the bound, back within upAfter rounds + one probe', () => {
  for (const s of [DEFAULTS, FAST]) {
    for (let seed = 1; seed <= 10; seed++) {
      const breakAt = 10_000 + seed * 37;
      const fixAt = 20_000;
      const { transitions } = simulateRealistic(s, { seed, loss: 0, durationMs: 30_000, dead: (_i, t) => t >= breakAt && t < fixAt });
      assert.deepEqual(transitions.map((t) => `${t.from}>${t.to}`), ['unknown>up', 'up>down', 'down>up'], `seed ${seed}`);
      const detect = transitions[1].at - breakAt;
      // The last reply came at most one probe period before the break; then every target must be
      // silent for D, and the round clock adds up to one interval.
      assert.ok(detect <= downSpanMs(s) + s.intervalMs, `detect ${detect} ms (${s.intervalMs})`);
      assert.ok(detect >= downSpanMs(s) - probeIntervalMs(s) * 1.1 - 2, `detect ${detect} ms too early`);
      assert.match(transitions[1].reason, /consecutive bad rounds \(0\/3 .*no reply in/);
      const back = transitions[2].at - fixAt;
      assert.ok(back <= (s.upAfter + 1) * s.intervalMs + probeIntervalMs(s) * 1.1, `back ${back} ms`);
    }
  }
  // The bounds, with the bench's ~0.1 s reconcile on top.
  assert.ok(downSpanMs(FAST) + FAST.intervalMs + 100 <= 1000);
  assert.ok(downSpanMs(DEFAULTS) + DEFAULTS.intervalMs + 100 <= 3000);
});

test('partial outage (one target keeps answering, quorum 2): down after the longer span, not before', () => {
  for (const s of [DEFAULTS, FAST]) {
    const breakAt = 10_000;
    const { transitions } = simulateRealistic(s, { seed: 7, loss: 0, durationMs: 20_000, dead: (i, t) => i !== 0 && t >= breakAt });
    assert.deepEqual(transitions.map((t) => t.to), ['up', 'down']);
    const detect = transitions[1].at - breakAt;
    assert.ok(detect > downSpanMs(s), `detect ${detect} ms should exceed D ${downSpanMs(s)}`);
    assert.ok(detect <= partialSpanMs(s) + s.intervalMs, `detect ${detect} ms`);
    assert.match(transitions[1].reason, /1\/3 answered in/);
  }
});
