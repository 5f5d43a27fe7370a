// Read what the agent wrote (one read transaction, prepared statements on a plain better-sqlite3
// connection: a scrape with 1 000 rules must stay well under 20 ms) and render it.
import type { DB } from '../db/sqlite';
import { openDb } from '../db/sqlite';
import { dbPath } from '../db/path';
import { escapeLabel, renderMetrics, type MetricsInput } from './render';

type Stmts = ReturnType<typeof prepare>;

function prepare(db: DB) {
  return {
    agent: db.prepare('SELECT heartbeatAt, startedAt, appliedRevision, applyError FROM AgentState WHERE id = 1'),
    desired: db.prepare('SELECT MAX(id) FROM Revision').pluck(),
    uplinks: db.prepare('SELECT name, state, latencyMs, lossPct, connections, rxBytes, txBytes FROM UplinkStatus ORDER BY name'),
    counters: db.prepare('SELECT name, kind, ref, packets, bytes FROM Counter ORDER BY kind, ref, name'),
    metrics: db.prepare('SELECT name, labels, value FROM AgentMetric ORDER BY name, labels'),
    metered: db.prepare('SELECT uplink, bytes, periodStart FROM MeterUsage ORDER BY uplink'),
    pending: db.prepare('SELECT COUNT(*) FROM Notification WHERE sentAt IS NULL AND failedAt IS NULL').pluck(),
    bans: db.prepare('SELECT COUNT(*) FROM Ban').pluck(),
  };
}

const cache = new WeakMap<DB, Stmts>();

export function readMetricsInput(db: DB, now = Date.now()): MetricsInput {
  let st = cache.get(db);
  if (!st) cache.set(db, (st = prepare(db)));
  const s = st;
  return db.transaction((): MetricsInput => {
    const agentMetrics = s.metrics.all() as MetricsInput['agentMetrics'];
    const caps = new Map(agentMetrics.filter((m) => m.name === 'metered_cap_bytes').map((m) => [m.labels, m.value]));
    const metered = (s.metered.all() as { uplink: string; bytes: number | bigint; periodStart: number }[]).map((r) => ({
      uplink: r.uplink, bytes: Number(r.bytes), periodStart: r.periodStart, capBytes: caps.get(`uplink="${escapeLabel(r.uplink)}"`) ?? null,
    }));
    return {
      now,
      agent: (s.agent.get() as MetricsInput['agent']) ?? null,
      desiredRevision: (s.desired.get() as number | null) ?? null,
      uplinks: (s.uplinks.all() as MetricsInput['uplinks']).map((u) => ({ ...u, rxBytes: Number(u.rxBytes), txBytes: Number(u.txBytes) })),
      counters: (s.counters.all() as MetricsInput['counters']).map((c) => ({ ...c, packets: Number(c.packets), bytes: Number(c.bytes) })),
      agentMetrics,
      metered,
      notificationsPending: s.pending.get() as number,
      bans: s.bans.get() as number,
    };
  })();
}

export function metricsText(db: DB, now = Date.now()): string {
  return renderMetrics(readMetricsInput(db, now));
}

const shared = globalThis as unknown as { __lwMetricsDb?: { file: string; db: DB } };

/** This process's read connection for scrapes (one per database file). */
export function metricsDb(file = dbPath()): DB {
  const cur = shared.__lwMetricsDb;
  if (cur && cur.file === file && cur.db.open) return cur.db;
  if (cur?.db.open) cur.db.close();
  const db = openDb(file);
  db.defaultSafeIntegers(false);
  shared.__lwMetricsDb = { file, db };
  return db;
}
