// The Connections page and GET /api/connections (server only, NOT session-checked: they read
// through lib/web/data.ts). The agent keeps the Connection table as a live mirror of conntrack
// (agent/connections.ts); this module pages, filters and aggregates it in SQL on a plain
// better-sqlite3 connection, so a page with 50 000 tracked flows ships 50 rows and a few sums,
// never a snapshot. Reading it marks the table as watched (Watch "connections"): while watched,
// the agent lists conntrack every few seconds for per-flow bytes and rates.
import { connQuerySchema, SORTS, type ConnQuery, type ConnRowView, type ConnectionsPage } from './connections-query';
import type { DB } from '../db/sqlite';
import { metricsDb } from '../metrics/read';
import { markWatched } from './watch';

const ORDER: Record<(typeof SORTS)[number], string> = {
  bytes: 'bytes DESC, id',
  rate: 'rate DESC NULLS LAST, bytes DESC, id',
  newest: 'firstSeen DESC, id',
  oldest: 'firstSeen ASC, id',
  src: 'src, sport, id',
  dst: 'dst, dport, id',
};

const HAY = "(proto || ' ' || src || ':' || IFNULL(sport, '') || ' ' || dst || ':' || IFNULL(dport, '') || ' ' || IFNULL(state, '') || ' ' || IFNULL(uplink, ''))";

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export { parseConnQuery, connQuerySchema } from './connections-query';
export type { ConnQuery, ConnRowView, ConnectionsPage } from './connections-query';

type Query = ReturnType<typeof connQuerySchema.parse>;

function where(q: Query): { sql: string; args: (string | number)[] } {
  const parts: string[] = [];
  const args: (string | number)[] = [];
  if (q.uplink === '-') parts.push('uplink IS NULL');
  else if (q.uplink) {
    parts.push('uplink = ?');
    args.push(q.uplink);
  }
  if (q.host) {
    parts.push('host = ?');
    args.push(q.host);
  }
  if (q.family) {
    parts.push('family = ?');
    args.push(q.family);
  }
  for (const t of (q.q ?? '').toLowerCase().split(/\s+/).filter(Boolean).slice(0, 8)) {
    parts.push(`lower(${HAY}) LIKE ? ESCAPE '\\'`);
    args.push(`%${likeEscape(t)}%`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
}

const toRow = (r: Record<string, unknown>): ConnRowView => ({
  id: Number(r.id), family: Number(r.family), proto: String(r.proto), src: String(r.src), dst: String(r.dst),
  sport: r.sport === null ? null : Number(r.sport), dport: r.dport === null ? null : Number(r.dport), state: (r.state as string | null) ?? null,
  uplink: (r.uplink as string | null) ?? null, host: (r.host as string | null) ?? null, local: Number(r.local) === 1,
  packets: Number(r.packets), bytes: Number(r.bytes), rate: r.rate === null ? null : Number(r.rate), firstSeen: Number(r.firstSeen), ts: Number(r.ts),
});

const COLS = 'id, family, proto, src, dst, sport, dport, state, uplink, host, local, packets, bytes, rate, firstSeen, ts';

/** One page of flows with the aggregates, in one read transaction. Marks the table watched. */
export function connectionsPageOn(db: DB, input: ConnQuery = {}, now = Date.now()): ConnectionsPage {
  const query = connQuerySchema.parse(input);
  markWatched(db, 'connections', now);
  const w = where(query);
  return db.transaction((): ConnectionsPage => {
    const total = db.prepare(`SELECT COUNT(*) FROM Connection ${w.sql}`).pluck().get(...w.args) as number;
    const pages = Math.max(1, Math.ceil(total / query.pageSize));
    const page = Math.min(query.page, pages);
    const rows = db.prepare(`SELECT ${COLS} FROM Connection ${w.sql} ORDER BY ${ORDER[query.sort]} LIMIT ? OFFSET ?`).all(...w.args, query.pageSize, (page - 1) * query.pageSize) as Record<string, unknown>[];
    const perUplink = (db.prepare("SELECT IFNULL(uplink, '') AS uplink, COUNT(*) AS count, SUM(local) AS own, SUM(bytes) AS bytes, IFNULL(SUM(rate), 0) AS rate FROM Connection GROUP BY uplink ORDER BY uplink").all() as Record<string, unknown>[])
      .map((r) => ({ uplink: String(r.uplink), count: Number(r.count), own: Number(r.own ?? 0), bytes: Number(r.bytes), rate: Number(r.rate) }));
    const topHosts = (db.prepare('SELECT host, COUNT(*) AS count, SUM(bytes) AS bytes, IFNULL(SUM(rate), 0) AS rate FROM Connection WHERE host IS NOT NULL GROUP BY host ORDER BY SUM(bytes) DESC, host LIMIT 10').all() as Record<string, unknown>[])
      .map((r) => ({ host: String(r.host), count: Number(r.count), bytes: Number(r.bytes), rate: Number(r.rate) }));
    const topFlows = (db.prepare(`SELECT ${COLS} FROM Connection WHERE rate > 0 ORDER BY rate DESC, id LIMIT 10`).all() as Record<string, unknown>[]).map(toRow);
    const all = perUplink.reduce((n, u) => n + u.count, 0);
    const bytesAt = db.prepare('SELECT MAX(ts) FROM Connection').pluck().get() as number | null;
    return { t: now, query: { ...query, page }, total, all, rows: rows.map(toRow), perUplink, topHosts, topFlows, bytesAt: bytesAt ? bytesAt : null };
  })();
}

/** The dashboard's read: this process's connection to the database (lib/web/data guards it). */
export async function connectionsView(input: ConnQuery = {}): Promise<ConnectionsPage> {
  return connectionsPageOn(metricsDb(), input);
}
