// Pure per-uplink health state machine: no timers, no I/O. The caller feeds resolved probe
// outcomes (probe()), link facts (setLink()), admin state (setEnabled()) and calls round(now)
// every intervalMs. Every state change is returned as a Transition.
//
// Model (see docs/failover.md):
// - Probes are sent every probeIntervalMs(s) = min(intervalMs/2, timeoutMs/3) per target (>= 50 ms),
//   decoupled from the decision interval: several probes fall in every answer window.
//   (Not below 50 ms unless intervalMs is shorter.)
// - A target "answered" in a round at time T when it gave a reply with rtt <= timeoutMs that
//   was received in the window (T - W, T], W = max(intervalMs, timeoutMs) + intervalMs/4.
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

export type HealthStatus = 'unknown' | 'up' | 'down' | 'disabled';

export interface HealthSettings {
  targets: string[];
  method: 'icmp' | 'tcp' | 'dns';
  port: number;
  intervalMs: number;
  timeoutMs: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
}

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
  /** Mean rtt of answered probes in the history (last historyLength() probes per target), null without data. */
  latencyMs: number | null;
  /** Lost share of the last historyLength() probes per target, in %, null without data. */
  lossPct: number | null;
  lastRound: RoundResult | null;
}

/** Minimum number of probes per target kept for loss/latency (the history covers >= HISTORY_MS). */
export const HISTORY = 20;
export const HISTORY_MS = 10_000;
/** Lower bound of the probe period. */
export const MIN_PROBE_INTERVAL_MS = 50;

type Timing = Pick<HealthSettings, 'intervalMs' | 'timeoutMs'>;

/** Period of the probes of one target: at least two per round and three per timeout, but not
 *  below MIN_PROBE_INTERVAL_MS (CPU) unless the round interval itself is shorter. */
export function probeIntervalMs(s: Timing): number {
  return Math.max(Math.min(MIN_PROBE_INTERVAL_MS, s.intervalMs), Math.round(Math.min(s.intervalMs / 2, s.timeoutMs / 3)));
}

/** W: a reply received within W before a round counts for that round. */
export function answerWindowMs(s: Timing): number {
  return Math.max(s.intervalMs, s.timeoutMs) + s.intervalMs / 4;
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
  private history = new Map<string, Sample[]>();
  private last: RoundResult | null = null;

  /** opts.initialDown: start in `down` with this reason instead of `unknown` (the state an
   *  agent restart found in the database), so an uplink that was down needs upAfter good rounds. */
  constructor(name: string, settings: HealthSettings, now: number, opts: { enabled?: boolean; link?: LinkFacts; initialDown?: string } = {}) {
    this.name = name;
    this.s = { ...settings, targets: [...settings.targets] };
    this.enabled = opts.enabled ?? true;
    this.link = { ...(opts.link ?? { carrier: true, hasAddress: true }) };
    this.sinceAt = now;
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

  get state(): HealthStatus {
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

  private go(to: HealthStatus, reason: string, at: number): Transition[] {
    this.why = reason;
    if (to === this.status) return [];
    const t: Transition = { uplink: this.name, from: this.status, to, reason, at };
    this.status = to;
    this.sinceAt = at;
    this.goodRun = 0;
    this.badRun = 0;
    return [t];
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
  }

  /** Record a resolved probe. Ignored while not probing or for unknown targets. */
  probe(o: ProbeOutcome): void {
    if (!this.probing || !this.s.targets.includes(o.target)) return;
    const ok = o.ok && o.rttMs !== undefined && o.rttMs <= this.s.timeoutMs;
    if (ok) this.lastOk.set(o.target, Math.max(o.at, this.lastOk.get(o.target) ?? -Infinity));
    let h = this.history.get(o.target);
    if (!h) this.history.set(o.target, (h = []));
    h.push(ok ? { ok, rttMs: o.rttMs } : { ok });
    const n = historyLength(this.s);
    if (h.length > n) h.splice(0, h.length - n);
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
        if (good) return this.go('up', `first good round (${tally})`, now);
        if (this.badRun >= this.s.downAfter) return this.go('down', `${this.badRun} consecutive bad rounds since start (${tally})`, now);
        return [];
      case 'up': {
        if (this.badRun < this.s.downAfter) return [];
        const d = downSpanMs(this.s);
        if (this.answeredWithin(now, d) === 0) return this.go('down', `${this.badRun} consecutive bad rounds (${tally}; no reply in ${d} ms)`, now);
        const d2 = partialSpanMs(this.s);
        const a2 = this.answeredWithin(now, d2);
        if (a2 < this.s.quorum) return this.go('down', `${this.badRun} consecutive bad rounds (${tally}; ${a2}/${of} answered in ${d2} ms)`, now);
        return [];
      }
      case 'down':
        if (this.goodRun >= this.s.upAfter) return this.go('up', `${this.goodRun} consecutive good rounds (${tally})`, now);
        return [];
      default:
        return [];
    }
  }

  setLink(now: number, facts: LinkFacts): Transition[] {
    const before = this.linkProblem();
    this.link = { ...facts };
    const after = this.linkProblem();
    if (before === after) return [];
    this.forgetEvidence();
    if (!this.enabled) return [];
    if (after !== null) return this.go('down', after, now);
    // Link usable again: stay down until upAfter good rounds with fresh evidence.
    this.why = `${before === 'carrier lost' ? 'carrier back' : 'address back'}, waiting for ${this.s.upAfter} good rounds`;
    return [];
  }

  setEnabled(now: number, enabled: boolean): Transition[] {
    if (enabled === this.enabled) return [];
    this.enabled = enabled;
    this.forgetEvidence();
    if (!enabled) return this.go('disabled', 'disabled by admin', now);
    const problem = this.linkProblem();
    if (problem !== null) return this.go('down', problem, now);
    return this.go('unknown', 'enabled by admin', now);
  }

  view(): UplinkView {
    let total = 0;
    let lost = 0;
    let rttSum = 0;
    let rttN = 0;
    for (const t of this.s.targets) {
      for (const x of this.history.get(t) ?? []) {
        total++;
        if (!x.ok) lost++;
        else if (x.rttMs !== undefined) {
          rttSum += x.rttMs;
          rttN++;
        }
      }
    }
    return {
      state: this.status,
      since: this.sinceAt,
      reason: this.why,
      latencyMs: rttN ? Math.round((rttSum / rttN) * 1000) / 1000 : null,
      lossPct: total ? Math.round((lost / total) * 1000) / 10 : null,
      lastRound: this.last ? { ...this.last } : null,
    };
  }
}
