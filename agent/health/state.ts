// Pure per-uplink health state machine: no timers, no I/O. The caller feeds resolved probe
// outcomes (probe()), link facts (setLink()), admin state (setEnabled()) and calls round(now)
// every intervalMs. Every state change is returned as a Transition.
//
// Model (see docs/failover.md):
// - A target "answered" in a round at time T when it gave a reply with rtt <= timeoutMs that
//   was received in the window (T - W, T], W = max(intervalMs, timeoutMs) + intervalMs/4.
//   (The window tolerates one lost probe when timeoutMs >= intervalMs and the jitter of ping's
//   own send schedule.)
// - A round is good when >= quorum targets answered.
// - unknown -> up after 1 good round; unknown -> down after downAfter consecutive bad rounds.
// - up -> down after downAfter consecutive bad rounds; down -> up after upAfter consecutive good rounds.
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
  /** Mean rtt of answered probes in the window (last HISTORY probes per target), null without data. */
  latencyMs: number | null;
  /** Lost share of the last HISTORY probes per target, in %, null without data. */
  lossPct: number | null;
  lastRound: RoundResult | null;
}

export const HISTORY = 20;

export function answerWindowMs(s: Pick<HealthSettings, 'intervalMs' | 'timeoutMs'>): number {
  return Math.max(s.intervalMs, s.timeoutMs) + s.intervalMs / 4;
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
    if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
  }

  /** Evaluate one round at time now. Call every intervalMs. */
  round(now: number): Transition[] {
    if (!this.probing) return [];
    const w = answerWindowMs(this.s);
    let answered = 0;
    for (const t of this.s.targets) {
      const at = this.lastOk.get(t);
      if (at !== undefined && at > now - w && at <= now) answered++;
    }
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
      case 'up':
        if (this.badRun >= this.s.downAfter) return this.go('down', `${this.badRun} consecutive bad rounds (${tally})`, now);
        return [];
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
