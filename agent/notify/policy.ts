// Which events become notifications (pure, clock injected): de-duplication and flap suppression.
//  - The same (event, uplink, state) again within dedupMs is dropped (a ban storm, a cap warning
//    repeated by a restart...): bans.storm and metered.* use a longer window.
//  - An uplink with flapAfter state changes within flapWindowMs is "flapping": one
//    uplink.flapping notification, then nothing about that uplink until it has been quiet for
//    quietMs; then one notification with the state it settled in (details.flapping: "ended").
import type { NotifyEvent } from '../../lib/validations/observe';
import type { NotifyEventData } from './events';

export interface PolicyOptions {
  dedupMs: number;
  longDedupMs: number;
  flapAfter: number;
  flapWindowMs: number;
  quietMs: number;
}

export const POLICY_DEFAULTS: PolicyOptions = { dedupMs: 60_000, longDedupMs: 600_000, flapAfter: 4, flapWindowMs: 600_000, quietMs: 300_000 };

const UPLINK_EVENTS: ReadonlySet<NotifyEvent> = new Set<NotifyEvent>(['uplink.down', 'uplink.up', 'uplink.degraded', 'failover', 'failback']);
const LONG: ReadonlySet<NotifyEvent> = new Set<NotifyEvent>(['bans.storm', 'metered.threshold', 'metered.cap']);

export type Decision = { send: true; event: NotifyEventData } | { send: false; why: 'duplicate' | 'flapping' };

export class NotifyPolicy {
  private readonly o: PolicyOptions;
  private lastKey = new Map<string, number>();
  private changes = new Map<string, number[]>();
  private flapping = new Map<string, { since: number; last: number; latest: NotifyEventData | null; suppressed: number }>();

  constructor(opts: Partial<PolicyOptions> = {}) {
    this.o = { ...POLICY_DEFAULTS, ...opts };
  }

  /** Decide about one event (test events always go). */
  decide(e: NotifyEventData, now = e.time): Decision {
    if (e.event === 'test') return { send: true, event: e };
    if (e.uplink && UPLINK_EVENTS.has(e.event)) {
      const f = this.flapping.get(e.uplink);
      if (f) {
        f.last = now;
        f.latest = e;
        f.suppressed++;
        return { send: false, why: 'flapping' };
      }
      const ts = (this.changes.get(e.uplink) ?? []).filter((t) => t > now - this.o.flapWindowMs);
      ts.push(now);
      this.changes.set(e.uplink, ts);
      if (ts.length >= this.o.flapAfter) {
        this.flapping.set(e.uplink, { since: now, last: now, latest: e, suppressed: 0 });
        this.changes.delete(e.uplink);
        return {
          send: true,
          event: {
            event: 'uplink.flapping', uplink: e.uplink, state: 'flapping', time: now,
            message: `uplink ${e.uplink} is flapping: ${ts.length} state changes in ${Math.round((now - ts[0]) / 1000)} s (now ${e.state ?? 'unknown'}). Further changes are not notified until it has been stable for ${Math.round(this.o.quietMs / 60000)} min.`,
            details: { changes: ts.length, windowSeconds: Math.round(this.o.flapWindowMs / 1000), latest: e.message },
          },
        };
      }
    }
    const key = `${e.event}|${e.uplink ?? ''}|${e.state ?? ''}`;
    const win = LONG.has(e.event) ? this.o.longDedupMs : this.o.dedupMs;
    const last = this.lastKey.get(key);
    if (last !== undefined && now - last < win && e.event !== 'failover' && e.event !== 'failback') return { send: false, why: 'duplicate' };
    this.lastKey.set(key, now);
    if (this.lastKey.size > 1000) for (const [k, t] of this.lastKey) if (now - t > this.o.longDedupMs) this.lastKey.delete(k);
    return { send: true, event: e };
  }

  /** Flapping uplinks that have been quiet for quietMs: one "stable again" event each. */
  tick(now: number): NotifyEventData[] {
    const out: NotifyEventData[] = [];
    for (const [uplink, f] of this.flapping) {
      if (now - f.last < this.o.quietMs) continue;
      this.flapping.delete(uplink);
      const latest = f.latest;
      out.push({
        event: latest?.event ?? 'uplink.up', uplink, state: latest?.state, time: now,
        message: `uplink ${uplink} is stable again (${latest?.state ?? 'unknown'} for ${Math.round((now - f.last) / 1000)} s; ${f.suppressed} changes were not notified while it flapped). Last: ${latest?.message ?? '-'}`,
        details: { flapping: 'ended', suppressed: f.suppressed, since: new Date(f.since).toISOString() },
      });
    }
    return out;
  }
}
