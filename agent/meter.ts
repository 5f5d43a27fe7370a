// Metered uplinks, agent side: usage per period from the uplink byte counters, kept in the
// MeterUsage table (so an agent restart or a counter reset loses nothing), thresholds notified
// once per period, and the set of uplinks over their cap (a fact for the compiler).
import { isDbFault } from './store';
import type { DB } from '../lib/db/sqlite';
import type { Config } from '../lib/validations/config';
import { counterUplinkIn, counterUplinkOut } from '../lib/compile/constants';
import { advance, crossed, type UsageState } from '../lib/usage/meter';
import type { NotifyEventData } from './notify/events';
import type { AgentMetrics } from './metrics';

const fmtBytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);

export class Meter {
  private hadRows = true;
  private readonly st;
  constructor(private readonly db: DB, private readonly metrics?: AgentMetrics) {
    this.st = {
      get: db.prepare('SELECT periodStart, bytes, lastRx, lastTx, notified FROM MeterUsage WHERE uplink = ?'),
      put: db.prepare(`INSERT INTO MeterUsage (uplink, periodStart, bytes, lastRx, lastTx, notified, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(uplink) DO UPDATE SET periodStart = excluded.periodStart, bytes = excluded.bytes, lastRx = excluded.lastRx, lastTx = excluded.lastTx, notified = excluded.notified, updatedAt = excluded.updatedAt`),
      names: db.prepare('SELECT uplink FROM MeterUsage').pluck(),
      del: db.prepare('DELETE FROM MeterUsage WHERE uplink = ?'),
    };
  }

  private row(name: string): UsageState | null {
    const r = this.st.get.get(name) as { periodStart: number; bytes: number | bigint; lastRx: number | bigint; lastTx: number | bigint; notified: number } | undefined;
    return r ? { periodStart: r.periodStart, bytes: Number(r.bytes), lastRx: Number(r.lastRx), lastTx: Number(r.lastTx), notified: r.notified } : null;
  }

  /** Account the counters (name → bytes) of every metered uplink; returns the notifications due. */
  update(config: Config, counters: ReadonlyMap<string, number>, now = Date.now()): NotifyEventData[] {
    const events: NotifyEventData[] = [];
    const metered = config.uplinks.filter((u) => u.metered);
    if (metered.length === 0 && !this.hadRows) return events;
    try {
    this.db.transaction(() => {
      for (const u of metered) {
        const m = u.metered!;
        const rx = counters.get(counterUplinkIn(u.id));
        const tx = counters.get(counterUplinkOut(u.id));
        if (rx === undefined || tx === undefined) continue; // counters not in the kernel yet
        const next = advance(this.row(u.name), rx, tx, now, m.periodDay);
        const hit = crossed(next, m.capBytes, m.warnAt);
        if (hit !== null) {
          next.notified = hit;
          const pct = Math.round((next.bytes / m.capBytes) * 100);
          const action = m.onCap === 'disable' ? 'it takes no traffic until the next period' : m.onCap === 'backup-only' ? 'it takes new connections only when no other uplink is up' : 'nothing changes (onCap: notify)';
          events.push(hit >= 1
            ? { event: 'metered.cap', uplink: u.name, state: 'cap-reached', time: now, message: `uplink ${u.name} reached its data cap: ${fmtBytes(next.bytes)} of ${fmtBytes(m.capBytes)} used this period; ${action}.`, details: { bytes: next.bytes, capBytes: m.capBytes, share: next.bytes / m.capBytes, onCap: m.onCap, periodStart: new Date(next.periodStart).toISOString() } }
            : { event: 'metered.threshold', uplink: u.name, state: `${Math.round(hit * 100)}%`, time: now, message: `uplink ${u.name} used ${pct} % of its data cap (${fmtBytes(next.bytes)} of ${fmtBytes(m.capBytes)}; warning at ${Math.round(hit * 100)} %).`, details: { bytes: next.bytes, capBytes: m.capBytes, share: next.bytes / m.capBytes, threshold: hit, periodStart: new Date(next.periodStart).toISOString() } });
        }
        this.st.put.run(u.name, next.periodStart, next.bytes, next.lastRx, next.lastTx, next.notified, now);
        this.metrics?.set('metered_cap_bytes', { uplink: u.name }, m.capBytes);
      }
      const keep = new Set(metered.map((u) => u.name));
      for (const n of this.st.names.all() as string[]) if (!keep.has(n)) this.st.del.run(n);
      this.metrics?.retain('metered_cap_bytes', metered.map((u) => ({ uplink: u.name })));
    })();
    } catch (e) {
      if (!isDbFault(e)) throw e;
      return []; // database unavailable: usage is accounted again from the counters next time
    }
    this.hadRows = metered.length > 0;
    return events;
  }

  /** Metered uplinks at or over their cap in the current period (stored usage). */
  overCap(config: Config, now = Date.now()): string[] {
    const out: string[] = [];
    for (const u of config.uplinks) {
      if (!u.metered) continue;
      const r = this.row(u.name);
      if (!r) continue;
      const fresh = advance(r, r.lastRx, r.lastTx, now, u.metered.periodDay);
      if (fresh.periodStart === r.periodStart && r.bytes >= u.metered.capBytes) out.push(u.name);
    }
    return out;
  }
}
