// The agent's own metrics, kept in the AgentMetric table (so they survive agent restarts and the
// web process can render them for GET /metrics): counters by name and label string, and the
// histogram of apply durations (cumulative buckets, _sum, _count).
import type { DB } from '../lib/db/sqlite';
import { APPLY_BUCKETS, labelString } from '../lib/metrics/render';
import { isDbFault } from './store';

function faultTolerant(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isDbFault(e)) throw e;
  }
}

export class AgentMetrics {
  private readonly add;
  private readonly put;
  constructor(private readonly db: DB) {
    this.add = db.prepare('INSERT INTO AgentMetric (name, labels, value) VALUES (?, ?, ?) ON CONFLICT(name, labels) DO UPDATE SET value = value + excluded.value');
    this.put = db.prepare('INSERT INTO AgentMetric (name, labels, value) VALUES (?, ?, ?) ON CONFLICT(name, labels) DO UPDATE SET value = excluded.value');
  }

  // Metrics are bookkeeping: a database fault loses the increment, never the caller's work.
  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    faultTolerant(() => this.add.run(name, labelString(labels), by));
  }

  set(name: string, labels: Record<string, string>, value: number): void {
    faultTolerant(() => this.put.run(name, labelString(labels), value));
  }

  /** Drop every series of `name` whose labels are not in `keep` (e.g. caps of removed uplinks). */
  retain(name: string, keep: Record<string, string>[]): void {
    const ok = new Set(keep.map(labelString));
    for (const l of this.db.prepare('SELECT labels FROM AgentMetric WHERE name = ?').pluck().all(name) as string[]) {
      if (!ok.has(l)) this.db.prepare('DELETE FROM AgentMetric WHERE name = ? AND labels = ?').run(name, l);
    }
  }

  observeApply(seconds: number): void {
    faultTolerant(() => this.db.transaction(() => {
      for (const le of APPLY_BUCKETS) if (seconds <= le) this.add.run('apply_duration_seconds_bucket', labelString({ le: String(le) }), 1);
      this.add.run('apply_duration_seconds_sum', labelString({}), seconds);
      this.add.run('apply_duration_seconds_count', labelString({}), 1);
    })());
  }
}
