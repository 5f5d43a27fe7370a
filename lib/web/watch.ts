// "Someone is looking": the dashboard and the metrics endpoint mark what they read as watched
// (Watch row name → until), and the agent does the costly reading only while it is watched:
//   "connections" — the flow listing for bytes/rates (agent/connections.ts);
//   "counters"    — the nft counter read every 2 s instead of every 10 s (agent/agent.ts).
// A mark is written at most every 2 s per (process, database, name); a busy database skips it
// (the reader keeps what is stored; the next read marks again).
import type { DB } from '../db/sqlite';

/** How long one mark lasts. */
export const WATCH_MS = 10_000;

export type WatchName = 'connections' | 'counters';

const lastMark = new WeakMap<DB, Map<WatchName, number>>();

export function markWatched(db: DB, name: WatchName, now = Date.now()): void {
  let m = lastMark.get(db);
  if (!m) lastMark.set(db, (m = new Map()));
  if (now - (m.get(name) ?? 0) < 2000) return;
  try {
    db.prepare('INSERT INTO Watch (name, until) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET until = excluded.until').run(name, now + WATCH_MS);
    m.set(name, now);
  } catch {
    // a busy database: the agent keeps its slower pace until the next mark
  }
}
