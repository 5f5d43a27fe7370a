// Metered uplinks (pure): the billing period, usage accounting from the uplink byte counters
// (robust to counter resets), the thresholds crossed, and what the health probes cost.
import { probeIntervalMs } from './probe-interval';

/** Start (epoch ms, local time) of the period containing `now` that begins on day `periodDay`
 *  (1-28) at 00:00. */
export function periodStart(now: number, periodDay: number): number {
  const d = new Date(now);
  let y = d.getFullYear();
  let m = d.getMonth();
  if (d.getDate() < periodDay) {
    m -= 1;
    if (m < 0) {
      m = 11;
      y -= 1;
    }
  }
  return new Date(y, m, periodDay, 0, 0, 0, 0).getTime();
}

/** Start of the next period. */
export function nextPeriodStart(start: number, periodDay: number): number {
  const d = new Date(start);
  return new Date(d.getFullYear(), d.getMonth() + 1, periodDay, 0, 0, 0, 0).getTime();
}

export interface UsageState {
  periodStart: number;
  bytes: number;
  lastRx: number;
  lastTx: number;
  /** Highest share already notified this period (1 = the cap). */
  notified: number;
}

/** Bytes since the last reading of a counter; a counter below its last value was reset (reboot,
 *  table recreated), so everything it holds is new. */
export const counterDelta = (cur: number, last: number): number => (cur >= last ? cur - last : cur);

/** Advance the usage with the current counter values. `prev` null: the first reading counts
 *  nothing (usage starts when metering starts). */
export function advance(prev: UsageState | null, rx: number, tx: number, now: number, periodDay: number): UsageState {
  const start = periodStart(now, periodDay);
  if (!prev) return { periodStart: start, bytes: 0, lastRx: rx, lastTx: tx, notified: 0 };
  const delta = counterDelta(rx, prev.lastRx) + counterDelta(tx, prev.lastTx);
  if (start !== prev.periodStart) return { periodStart: start, bytes: delta, lastRx: rx, lastTx: tx, notified: 0 };
  return { ...prev, bytes: prev.bytes + delta, lastRx: rx, lastTx: tx };
}

/** The share newly crossed (the highest warnAt, or 1 for the cap), or null. */
export function crossed(u: Pick<UsageState, 'bytes' | 'notified'>, capBytes: number, warnAt: readonly number[]): number | null {
  const share = u.bytes / capBytes;
  if (share >= 1) return u.notified < 1 ? 1 : null;
  const hit = warnAt.filter((w) => share >= w && w > u.notified);
  return hit.length ? Math.max(...hit) : null;
}

/** On-wire IPv4 bytes of one probe, both directions: ICMP echo 2 × (20 IP + 8 ICMP + 56 data) =
 *  168; TCP connect + close ≈ 6 segments ≈ 340; DNS query + answer ≈ 2 × 70. */
export const PROBE_BYTES = { icmp: 168, tcp: 340, dns: 140 } as const;

/** Bytes a month (30 days) the health probes of an uplink put on it. */
export function probeBytesPerMonth(h: { targets: readonly string[]; method: keyof typeof PROBE_BYTES; intervalMs: number; timeoutMs: number; probeEveryMs?: number }): number {
  const perTargetPerMonth = (30 * 86400 * 1000) / probeIntervalMs(h);
  return Math.round(h.targets.length * perTargetPerMonth * PROBE_BYTES[h.method]);
}
