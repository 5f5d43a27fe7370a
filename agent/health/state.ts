// Pure per-uplink health state machine: no timers, no I/O. The caller feeds resolved probe
// outcomes (probe()), link facts (setLink()), admin state (setEnabled()) and calls round(now)
// every intervalMs. Every state change is returned as a Transition.
//
// Model (see docs/failover.md):
// - Probes are sent every probeIntervalMs(s) = min(intervalMs/2, timeoutMs/3) per target (>= 50 ms),
//   decoupled from the decision interval: several probes fall in every answer window.
//   (Not below 50 ms unless intervalMs is shorter.)
// - A target "answered" in a round at time T when it gave a reply with rtt <= timeoutMs that
//   was received in the window (T - W, T], W = intervalMs + intervalMs/4. The window is about
//   when replies ARRIVE: with a probe every P <= intervalMs/2 a working target's replies arrive
//   every P whatever their rtt, so W need not cover the timeout (it did until 2026-12: W was
//   max(intervalMs, timeoutMs) + intervalMs/4, which made the default down span 2.1 s instead
//   of 0.8 s). A slow path delays detection by its rtt (the last replies are still on their way).
// - A round is good when >= quorum targets answered.
// - unknown -> up after 1 good round; unknown -> down after downAfter consecutive bad rounds.
// - up -> down after downAfter consecutive bad rounds AND
//     (a) no target at all answered in the down span D = W + (downAfter-1) * intervalMs
//         (outage: the same detection time as "downAfter bad rounds"), or
//     (b) fewer than quorum targets answered in the longer span D2 = D + downAfter * intervalMs
//         (partial outage: some target still answers, e.g. only the ISP's own router).
//   Bad rounds caused by random loss (different targets silent in different windows) therefore
//   never take an uplink down: that needs the same targets silent for the whole span.
// - down -> up after upAfter consecutive good rounds.
// - carrier lost / no address -> down immediately; rounds are not evaluated while the link is
//   unusable; when it is back the uplink stays down until upAfter good rounds (fresh evidence only).
// - disabled by the admin -> disabled; enabled again -> unknown.
//
// Quality (issue 17, optional `quality` thresholds, like dpinger's warn/down): while the uplink is
// reachable (the state above is up), the mean rtt and the lost share of every probe of the last
// quality.windowMs give a level: ok, warn (published as `degraded`) or bad (published as `down`).
// A level is entered when a measure is above its threshold, and left only when it is
// hysteresisPct below it; either way the new level must hold for holdRounds consecutive rounds.
// No judgement before half a window of probes exists. An outage (reachability down) clears the
// quality evidence, so a recovered uplink is judged on fresh probes only.

import { probeIntervalMs as sharedProbeInterval, MIN_PROBE_INTERVAL_MS } from '../../lib/usage/probe-interval';

export type HealthStatus = 'unknown' | 'up' | 'degraded' | 'down' | 'disabled';

export interface HealthSettings {
  targets: string[];
  method: 'icmp' | 'tcp' | 'dns';
  port: number;
  intervalMs: number;
  timeoutMs: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
  /** Probe period per target, overriding the derived one (metered uplinks: slow probes). */
  probeEveryMs?: number;
  /** Latency/loss thresholds of the degraded state. */
  quality?: QualitySettings;
}

export interface QualitySettings {
  latencyWarnMs?: number;
  latencyDownMs?: number;
  lossWarnPct?: number;
  lossDownPct?: number;
  windowMs: number;
  hysteresisPct: number;
  holdRounds: number;
}

export type QualityLevel = 'ok' | 'warn' | 'bad';

export interface Transition {
  uplink: string;
  from: HealthStatus;
  to: HealthStatus;
  reason: string;
  /** Clock time (ms) of the change. */
  at: number;
}

/** A probe whose fate is known: answered (ok, with rtt) or lost/late/unreachable. */
export interface ProbeOutcome {
  target: string;
  ok: boolean;
  rttMs?: number;
  /** Clock time (ms) at which the outcome became known. */
  at: number;
}

export interface LinkFacts {
  carrier: boolean;
  hasAddress: boolean;
}

export interface RoundResult {
  at: number;
  answered: number;
  of: number;
  good: boolean;
}

export interface UplinkView {
  state: HealthStatus;
  since: number;
  reason: string;
  /** Mean rtt of answered probes in the history (last historyLength() probes per target) sent
   *  since the uplink became reachable; null while it is not (down, unknown, disabled) or before
   *  its first probe in that state. A recovered uplink is measured on fresh probes only. */
  latencyMs: number | null;
  /** Lost share of the same probes, in %, null likewise. */
  lossPct: number | null;
  /** The span the two measures cover (first to last probe counted, ms) and how many probes. */
  measured: { spanMs: number; probes: number } | null;
  lastRound: RoundResult | null;
  /** Quality measures over quality.windowMs (only with quality thresholds). */
  quality: { level: QualityLevel; latencyMs: number | null; lossPct: number | null; samples: number } | null;
}

/** Minimum number of probes per target kept for loss/latency (the history covers >= HISTORY_MS). */
export const HISTORY = 20;
export const HISTORY_MS = 10_000;
/** Lower bound of the probe period. */
export { MIN_PROBE_INTERVAL_MS };

type Timing = Pick<HealthSettings, 'intervalMs' | 'timeoutMs'> & { probeEveryMs?: number };

/** Period of the probes of one target: at least two per round and three per timeout, but not
 *  below MIN_PROBE_INTERVAL_MS (CPU) unless the round interval itself is shorter; probeEveryMs
 *  (metered uplinks) sets it explicitly. (One rule, in lib/usage so the dashboard can state the
 *  probe cost of a metered uplink.) */
export function probeIntervalMs(s: Timing): number {
  return sharedProbeInterval(s);
}

/** W: a reply received within W before a round counts for that round. */
export function answerWindowMs(s: Timing): number {
  return s.intervalMs + s.intervalMs / 4;
}

/** D: up -> down on an outage needs every target silent for D (= the span of downAfter windows). */
export function downSpanMs(s: Timing & Pick<HealthSettings, 'downAfter'>): number {
  return answerWindowMs(s) + (s.downAfter - 1) * s.intervalMs;
}

/** D2: up -> down with some target still answering needs fewer than quorum answering for D2. */
export function partialSpanMs(s: Timing & Pick<HealthSettings, 'downAfter'>): number {
  return downSpanMs(s) + s.downAfter * s.intervalMs;
}

/** Probes per target kept for loss %/latency: HISTORY_MS worth, at least HISTORY. */
export function historyLength(s: Timing): number {
  return Math.max(HISTORY, Math.ceil(HISTORY_MS / probeIntervalMs(s)));
}

interface Sample {
  ok: boolean;
  rttMs?: number;
}

interface TimedSample extends Sample {
  at: number;
}

/** Mean rtt (ms) of answered samples and lost share (%); nulls without data. */
function measures(samples: readonly Sample[]): { latencyMs: number | null; lossPct: number | null } {
  let lost = 0;
  let rtt = 0;
  let n = 0;
  for (const x of samples) {
    if (!x.ok) lost++;
    else if (x.rttMs !== undefined) {
      rtt += x.rttMs;
      n++;
    }
  }
  return { latencyMs: n ? rtt / n : null, lossPct: samples.length ? (lost / samples.length) * 100 : null };
}

/** The quality level the measures ask for, given the current one (hysteresis on the way out). */
export function qualityLevel(q: QualitySettings, cur: QualityLevel, m: { latencyMs: number | null; lossPct: number | null }): { level: QualityLevel; why: string } {
  const k = 1 - q.hysteresisPct / 100;
  const fmt = (v: number, unit: string) => `${unit === '%' ? v.toFixed(1) : Math.round(v)}${unit === '%' ? ' %' : ' ms'}`;
  const over = (th: number | undefined, v: number | null, unit: string, what: string): string | null =>
    th !== undefined && v !== null && v > th ? `${what} ${fmt(v, unit)} > ${th}${unit === '%' ? ' %' : ' ms'}` : null;
  /** Still above the exit line of a level we are in: v ≥ th·k. */
  const holds = (th: number | undefined, v: number | null, unit: string, what: string): string | null =>
    th !== undefined && v !== null && v >= th * k ? `${what} ${fmt(v, unit)} (leaves below ${unit === '%' ? (th * k).toFixed(1) : Math.round(th * k)}${unit === '%' ? ' %' : ' ms'})` : null;
  const test = (level: 'warn' | 'bad', f: typeof over) => {
    const [lat, loss] = level === 'bad' ? [q.latencyDownMs, q.lossDownPct] : [q.latencyWarnMs, q.lossWarnPct];
    return f(lat, m.latencyMs, 'ms', 'latency') ?? f(loss, m.lossPct, '%', 'loss');
  };
  const bad = cur === 'bad' ? test('bad', holds) : test('bad', over);
  if (bad) return { level: 'bad', why: bad };
  const warn = cur === 'ok' ? test('warn', over) : test('warn', holds);
  if (warn) return { level: 'warn', why: warn };
  const lat = m.latencyMs === null ? '–' : `${Math.round(m.latencyMs)} ms`;
  const loss = m.lossPct === null ? '–' : `${m.lossPct.toFixed(1)} %`;
  return { level: 'ok', why: `latency ${lat}, loss ${loss}` };
}

export class UplinkHealth {
  readonly name: string;
  private s: HealthSettings;
  private status: HealthStatus;
  private sinceAt: number;
  private why: string;
  private goodRun = 0;
  private badRun = 0;
  private enabled: boolean;
  private link: LinkFacts;
  private lastOk = new Map<string, number>();
  private history = new Map<string, TimedSample[]>();
  /** Probes sent before this are not part of latency/loss (the uplink became reachable then). */
  private measureSince: number;
  private last: RoundResult | null = null;
  /** Quality: every probe of the window (all targets), the level, the candidate and its run. */
  private qSamples: TimedSample[] = [];
  private qSince: number;
  private level: QualityLevel = 'ok';
  private candidate: { level: QualityLevel; n: number; why: string } | null = null;

  /** opts.initialDown: start in `down` with this reason instead of `unknown` (the state an
   *  agent restart found in the database), so an uplink that was down needs upAfter good rounds. */
  constructor(name: string, settings: HealthSettings, now: number, opts: { enabled?: boolean; link?: LinkFacts; initialDown?: string } = {}) {
    this.name = name;
    this.s = { ...settings, targets: [...settings.targets] };
    this.enabled = opts.enabled ?? true;
    this.link = { ...(opts.link ?? { carrier: true, hasAddress: true }) };
    this.sinceAt = now;
    this.qSince = now;
    this.measureSince = now;
    if (!this.enabled) {
      this.status = 'disabled';
      this.why = 'disabled by admin';
    } else if (this.linkProblem()) {
      this.status = 'down';
      this.why = this.linkProblem()!;
    } else if (opts.initialDown !== undefined) {
      this.status = 'down';
      this.why = opts.initialDown;
    } else {
      this.status = 'unknown';
      this.why = 'waiting for the first probe round';
    }
  }

  /** The published state: reachability, refined by the quality level while reachable. */
  get state(): HealthStatus {
    if (this.status !== 'up') return this.status;
    return this.level === 'ok' ? 'up' : this.level === 'warn' ? 'degraded' : 'down';
  }

  /** The reachability verdict alone (up/down by probes answering at all). */
  get reachability(): HealthStatus {
    return this.status;
  }

  get settings(): HealthSettings {
    return { ...this.s, targets: [...this.s.targets] };
  }

  /** Whether probes should run (enabled and link usable). */
  get probing(): boolean {
    return this.enabled && this.linkProblem() === null;
  }

  private linkProblem(): string | null {
    if (!this.link.carrier) return 'carrier lost';
    if (!this.link.hasAddress) return 'no address';
    return null;
  }

  /** Change the reachability state (the published transition comes from publish()). */
  private go(to: HealthStatus, reason: string, _at: number): void {
    this.why = reason;
    if (to === this.status) return;
    this.status = to;
    if (to === 'up') this.measureSince = _at - answerWindowMs(this.s); // the evidence of the round that said so
    this.goodRun = 0;
    this.badRun = 0;
    // Quality is judged on the probes of a reachable uplink only: an outage (or a fresh start
    // after one) clears it.
    this.resetQuality(_at);
  }

  private resetQuality(now: number): void {
    this.qSamples = [];
    this.qSince = now;
    this.level = 'ok';
    this.candidate = null;
  }

  /** One transition when the published state changed since `before`. */
  private publish(before: HealthStatus, at: number): Transition[] {
    const to = this.state;
    if (to === before) return [];
    this.sinceAt = at;
    return [{ uplink: this.name, from: before, to, reason: this.why, at }];
  }

  private forgetEvidence(): void {
    this.lastOk.clear();
    this.goodRun = 0;
    this.badRun = 0;
  }

  /** Change thresholds/targets without resetting the state. Targets no longer listed are forgotten. */
  updateSettings(settings: HealthSettings): void {
    this.s = { ...settings, targets: [...settings.targets] };
    const keep = new Set(settings.targets);
    for (const t of [...this.lastOk.keys()]) if (!keep.has(t)) this.lastOk.delete(t);
    for (const t of [...this.history.keys()]) if (!keep.has(t)) this.history.delete(t);
    // Thresholds removed: the level no longer applies (the next round publishes the change).
    if (!settings.quality) {
      this.level = 'ok';
      this.candidate = null;
    }
  }

  /** Record a resolved probe. Ignored while not probing or for unknown targets. */
  probe(o: ProbeOutcome): void {
    if (!this.probing || !this.s.targets.includes(o.target)) return;
    const ok = o.ok && o.rttMs !== undefined && o.rttMs <= this.s.timeoutMs;
    if (ok) this.lastOk.set(o.target, Math.max(o.at, this.lastOk.get(o.target) ?? -Infinity));
    let h = this.history.get(o.target);
    if (!h) this.history.set(o.target, (h = []));
    h.push(ok ? { ok, rttMs: o.rttMs, at: o.at } : { ok, at: o.at });
    const n = historyLength(this.s);
    if (h.length > n) h.splice(0, h.length - n);
    if (this.s.quality) this.qSamples.push(ok ? { ok, rttMs: o.rttMs, at: o.at } : { ok, at: o.at });
  }

  /** Samples of the quality window ending at now (older ones are dropped). */
  private qualityWindow(now: number): TimedSample[] {
    const q = this.s.quality;
    if (!q) return [];
    const from = now - q.windowMs;
    let i = 0;
    while (i < this.qSamples.length && this.qSamples[i].at <= from) i++;
    if (i > 0) this.qSamples.splice(0, i);
    return this.qSamples;
  }

  /** One quality round (only while reachable): move the level after holdRounds agreeing rounds. */
  private roundQuality(now: number): void {
    const q = this.s.quality;
    if (!q || this.status !== 'up') return;
    const samples = this.qualityWindow(now);
    // No judgement before half a window of evidence exists.
    if (now - this.qSince < q.windowMs / 2 || samples.length < 5) return;
    const want = qualityLevel(q, this.level, measures(samples));
    if (want.level === this.level) {
      this.candidate = null;
      return;
    }
    if (this.candidate && this.candidate.level === want.level) this.candidate.n++;
    else this.candidate = { level: want.level, n: 1, why: want.why };
    this.candidate.why = want.why;
    if (this.candidate.n < q.holdRounds) return;
    const secs = Math.round(q.windowMs / 1000);
    this.why = want.level === 'ok' ? `quality back to normal (${want.why}; ${secs} s window)` : `${want.why} (${secs} s window)`;
    this.level = want.level;
    this.candidate = null;
  }

  /** Targets with an accepted reply in (now - spanMs, now]. */
  private answeredWithin(now: number, spanMs: number): number {
    let n = 0;
    for (const t of this.s.targets) {
      const at = this.lastOk.get(t);
      if (at !== undefined && at > now - spanMs && at <= now) n++;
    }
    return n;
  }

  /** Evaluate one round at time now. Call every intervalMs. */
  round(now: number): Transition[] {
    if (!this.probing) return [];
    const before = this.state;
    this.roundReach(now);
    this.roundQuality(now);
    return this.publish(before, now);
  }

  private roundReach(now: number): void {
    const answered = this.answeredWithin(now, answerWindowMs(this.s));
    const of = this.s.targets.length;
    const good = answered >= this.s.quorum;
    this.last = { at: now, answered, of, good };
    if (good) {
      this.goodRun++;
      this.badRun = 0;
    } else {
      this.badRun++;
      this.goodRun = 0;
    }
    const tally = `${answered}/${of} targets answered, quorum ${this.s.quorum}`;
    switch (this.status) {
      case 'unknown':
        if (good) return void this.go('up', `first good round (${tally})`, now);
        if (this.badRun >= this.s.downAfter) return void this.go('down', `${this.badRun} consecutive bad rounds since start (${tally})`, now);
        return;
      case 'up': {
        if (this.badRun < this.s.downAfter) return;
        const d = downSpanMs(this.s);
        if (this.answeredWithin(now, d) === 0) return void this.go('down', `${this.badRun} consecutive bad rounds (${tally}; no reply in ${d} ms)`, now);
        const d2 = partialSpanMs(this.s);
        const a2 = this.answeredWithin(now, d2);
        if (a2 < this.s.quorum) return void this.go('down', `${this.badRun} consecutive bad rounds (${tally}; ${a2}/${of} answered in ${d2} ms)`, now);
        return;
      }
      case 'down':
        if (this.goodRun >= this.s.upAfter) return void this.go('up', `${this.goodRun} consecutive good rounds (${tally})`, now);
        return;
      default:
        return;
    }
  }

  setLink(now: number, facts: LinkFacts): Transition[] {
    const before = this.linkProblem();
    this.link = { ...facts };
    const after = this.linkProblem();
    if (before === after) return [];
    this.forgetEvidence();
    if (!this.enabled) return [];
    const was = this.state;
    if (after !== null) {
      this.go('down', after, now);
      return this.publish(was, now);
    }
    // Link usable again: stay down until upAfter good rounds with fresh evidence.
    this.why = `${before === 'carrier lost' ? 'carrier back' : 'address back'}, waiting for ${this.s.upAfter} good rounds`;
    return [];
  }

  setEnabled(now: number, enabled: boolean): Transition[] {
    if (enabled === this.enabled) return [];
    this.enabled = enabled;
    this.forgetEvidence();
    const was = this.state;
    const problem = this.linkProblem();
    if (!enabled) this.go('disabled', 'disabled by admin', now);
    else if (problem !== null) this.go('down', problem, now);
    else this.go('unknown', 'enabled by admin', now);
    return this.publish(was, now);
  }

  view(): UplinkView {
    let total = 0;
    let lost = 0;
    let rttSum = 0;
    let rttN = 0;
    let first = Infinity;
    let lastAt = -Infinity;
    const reachable = this.status === 'up';
    for (const t of reachable ? this.s.targets : []) {
      for (const x of this.history.get(t) ?? []) {
        if (x.at < this.measureSince) continue;
        first = Math.min(first, x.at);
        lastAt = Math.max(lastAt, x.at);
        total++;
        if (!x.ok) lost++;
        else if (x.rttMs !== undefined) {
          rttSum += x.rttMs;
          rttN++;
        }
      }
    }
    let quality: UplinkView['quality'] = null;
    if (this.s.quality) {
      const m = measures(this.qSamples);
      quality = {
        level: this.level,
        latencyMs: m.latencyMs === null ? null : Math.round(m.latencyMs * 1000) / 1000,
        lossPct: m.lossPct === null ? null : Math.round(m.lossPct * 10) / 10,
        samples: this.qSamples.length,
      };
    }
    return {
      state: this.state,
      since: this.sinceAt,
      reason: this.why,
      latencyMs: rttN ? Math.round((rttSum / rttN) * 1000) / 1000 : null,
      lossPct: total ? Math.round((lost / total) * 1000) / 10 : null,
      measured: total ? { spanMs: lastAt - first, probes: total } : null,
      lastRound: this.last ? { ...this.last } : null,
      quality,
    };
  }
}
