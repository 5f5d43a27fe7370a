// The agent's side of the database: one better-sqlite3 connection (WAL, busy timeout),
// short write transactions with prepared statements so the web is never blocked for long.
import type { DB } from '../lib/db/sqlite';
import { parseConfig, type Config } from '../lib/validations/config';
import type { CounterSpec } from '../lib/compile/types';

export interface RevisionRow {
  id: number;
  config: string;
  createdAt: number;
  confirmWithin: number | null;
  confirmedAt: number | null;
  rolledBackAt: number | null;
}

export type DesiredResult =
  | { kind: 'none' }
  | { kind: 'ok'; revision: number; config: Config; row: RevisionRow }
  | { kind: 'invalid'; revision: number; errors: string[] };

export interface UplinkStatusRow {
  name: string;
  state: string;
  since: number;
  reason: string;
  address: string | null;
  gateway: string | null;
  latencyMs: number | null;
  lossPct: number | null;
  connections: number;
  rxBytes: bigint;
  txBytes: bigint;
}

export interface ConnRow {
  proto: string;
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  state: string | null;
  uplink: string | null;
  packets: number;
  bytes: number;
}

const SAMPLE_KEEP_MS = 24 * 3600 * 1000;

/** Counter rows are all rewritten at least this often, even when unchanged (self-healing if
 *  anything else touched the table). */
const COUNTER_FULL_WRITE_MS = 300000;

interface CachedCounter {
  kind: string;
  ref: string;
  packets: number;
  bytes: number;
}

export class AgentStore {
  private readonly db: DB;
  private readonly st;
  /** What the Counter table holds (as written by this process); null = unknown, write all. */
  private counterCache: Map<string, CachedCounter> | null = null;
  private counterCacheAt = 0;
  private specsRef: CounterSpec[] | null = null;
  private specsByName = new Map<string, CounterSpec>();
  /** The last revision validated by desired() (its text and result). */
  private lastDesired: { id: number; text: string; config: Config } | null = null;
  /** The Connection table's content as last written (rows without ts), to skip identical rewrites. */
  private connKey: string | null = null;

  constructor(db: DB) {
    this.db = db;
    db.defaultSafeIntegers(false);
    this.st = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      latest: db.prepare('SELECT id, config, createdAt, confirmWithin, confirmedAt, rolledBackAt FROM Revision ORDER BY id DESC LIMIT 1'),
      byId: db.prepare('SELECT id, config, createdAt, confirmWithin, confirmedAt, rolledBackAt FROM Revision WHERE id = ?'),
      latestId: db.prepare('SELECT MAX(id) FROM Revision').pluck(),
      ensureState: db.prepare('INSERT OR IGNORE INTO AgentState (id, facts) VALUES (1, \'{}\')'),
      state: db.prepare('SELECT * FROM AgentState WHERE id = 1'),
      applied: db.prepare('UPDATE AgentState SET appliedRevision = ?, appliedAt = ?, applyMs = ?, applyError = NULL, errorRevision = NULL, errorAt = NULL, facts = ?, heartbeatAt = ? WHERE id = 1'),
      failed: db.prepare('UPDATE AgentState SET applyError = ?, errorRevision = ?, errorAt = ?, heartbeatAt = ? WHERE id = 1'),
      heartbeat: db.prepare('UPDATE AgentState SET heartbeatAt = ?, pid = ? WHERE id = 1'),
      started: db.prepare('UPDATE AgentState SET startedAt = ?, pid = ?, heartbeatAt = ? WHERE id = 1'),
      upsertUplink: db.prepare(`INSERT INTO UplinkStatus (name, state, since, reason, address, gateway, latencyMs, lossPct, connections, rxBytes, txBytes, updatedAt)
        VALUES (@name, @state, @since, @reason, @address, @gateway, @latencyMs, @lossPct, @connections, @rxBytes, @txBytes, @updatedAt)
        ON CONFLICT(name) DO UPDATE SET state = excluded.state, since = excluded.since, reason = excluded.reason, address = excluded.address,
          gateway = excluded.gateway, latencyMs = excluded.latencyMs, lossPct = excluded.lossPct, connections = excluded.connections,
          rxBytes = excluded.rxBytes, txBytes = excluded.txBytes, updatedAt = excluded.updatedAt`),
      uplinkNames: db.prepare('SELECT name FROM UplinkStatus').pluck(),
      deleteUplink: db.prepare('DELETE FROM UplinkStatus WHERE name = ?'),
      upsertCounter: db.prepare(`INSERT INTO Counter (name, kind, ref, packets, bytes, updatedAt) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, ref = excluded.ref, packets = excluded.packets, bytes = excluded.bytes, updatedAt = excluded.updatedAt`),
      counterNames: db.prepare('SELECT name FROM Counter').pluck(),
      deleteCounter: db.prepare('DELETE FROM Counter WHERE name = ?'),
      sample: db.prepare('INSERT INTO CounterSample (name, ts, packets, bytes) VALUES (?, ?, ?, ?)'),
      pruneSamples: db.prepare('DELETE FROM CounterSample WHERE ts < ?'),
      event: db.prepare('INSERT INTO Event (ts, type, uplink, message) VALUES (?, ?, ?, ?)'),
      pruneEvents: db.prepare('DELETE FROM Event WHERE id <= (SELECT id FROM Event ORDER BY id DESC LIMIT 1 OFFSET 5000)'),
      clearConns: db.prepare('DELETE FROM Connection'),
      conn: db.prepare('INSERT INTO Connection (proto, src, dst, sport, dport, state, uplink, packets, bytes, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      audit: db.prepare('INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, ?, ?)'),
      pendingRequests: db.prepare('SELECT id, type, args FROM AgentRequest WHERE doneAt IS NULL ORDER BY id LIMIT 20'),
      doneRequest: db.prepare('UPDATE AgentRequest SET doneAt = ?, result = ? WHERE id = ?'),
    };
    this.st.ensureState.run();
  }

  /** Cheap change detector: PRAGMA data_version changes when another connection commits. */
  dataVersion(): number {
    return this.st.dataVersion.get() as number;
  }

  latestRevisionId(): number | null {
    return (this.st.latestId.get() as number | null) ?? null;
  }

  revision(id: number): RevisionRow | undefined {
    return this.st.byId.get(id) as RevisionRow | undefined;
  }

  /** The desired state, re-validated with the shared schema (never trusted blindly). */
  desired(): DesiredResult {
    const row = this.st.latest.get() as RevisionRow | undefined;
    if (!row) return { kind: 'none' };
    // The same stored document as last time (periodic resyncs): validated already. Revisions are
    // append-only; the text is compared anyway, so an edited row is validated again.
    const last = this.lastDesired;
    if (last && last.id === row.id && last.text === row.config) return { kind: 'ok', revision: row.id, config: last.config, row };
    this.lastDesired = null;
    let doc: unknown;
    try {
      doc = JSON.parse(row.config);
    } catch (e) {
      return { kind: 'invalid', revision: row.id, errors: [`(document): not valid JSON: ${(e as Error).message}`] };
    }
    const parsed = parseConfig(doc);
    if (!parsed.ok) return { kind: 'invalid', revision: row.id, errors: parsed.errors };
    this.lastDesired = { id: row.id, text: row.config, config: parsed.value };
    return { kind: 'ok', revision: row.id, config: parsed.value, row };
  }

  state(): Record<string, unknown> {
    return this.st.state.get() as Record<string, unknown>;
  }

  markStarted(pid: number): void {
    const now = Date.now();
    this.st.started.run(now, pid, now);
  }

  heartbeat(pid: number): void {
    this.st.heartbeat.run(Date.now(), pid);
  }

  recordApplied(revision: number, applyMs: number, facts: unknown): void {
    const now = Date.now();
    this.st.applied.run(revision, now, applyMs, JSON.stringify(facts), now);
  }

  recordError(revision: number | null, message: string): void {
    const now = Date.now();
    this.st.failed.run(message.slice(0, 4000), revision, now, now);
  }

  event(type: string, message: string, uplink: string | null = null): void {
    this.st.event.run(Date.now(), type, uplink, message.slice(0, 2000));
  }

  audit(action: string, detail: string): void {
    this.st.audit.run(Date.now(), 'agent', action, detail.slice(0, 2000));
  }

  writeUplinks(rows: UplinkStatusRow[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      const keep = new Set(rows.map((r) => r.name));
      for (const r of rows) this.st.upsertUplink.run({ ...r, updatedAt: now });
      for (const n of this.st.uplinkNames.all() as string[]) if (!keep.has(n)) this.st.deleteUplink.run(n);
    })();
  }

  /** Store the latest value of every named counter; drop rows of counters no longer in the plan.
   *  Only rows whose value (or kind/ref) changed since this process last wrote them are written
   *  (Counter.updatedAt = when the value last changed; AgentState.heartbeatAt says the agent is
   *  reading); all rows every COUNTER_FULL_WRITE_MS. With `sample`, also append a history sample
   *  per counter (every counter, changed or not). Returns the number of Counter rows written. */
  writeCounters(values: { name: string; packets: number; bytes: number }[], specs: CounterSpec[], sample: boolean): number {
    const now = Date.now();
    if (specs !== this.specsRef) {
      this.specsRef = specs;
      this.specsByName = new Map(specs.map((s) => [s.name, s]));
    }
    const byName = this.specsByName;
    if (this.counterCache === null || now - this.counterCacheAt >= COUNTER_FULL_WRITE_MS) {
      this.counterCache = null;
      this.counterCacheAt = now;
    }
    const known = this.counterCache;
    const cache = known ?? new Map<string, CachedCounter>();
    const changed: { name: string; spec: CounterSpec; packets: number; bytes: number }[] = [];
    const keep = new Set<string>();
    for (const v of values) {
      const spec = byName.get(v.name);
      if (!spec) continue;
      keep.add(v.name);
      const c = cache.get(v.name);
      if (!c || c.packets !== v.packets || c.bytes !== v.bytes || c.kind !== spec.kind || c.ref !== spec.ref) changed.push({ name: v.name, spec, packets: v.packets, bytes: v.bytes });
    }
    // Rows to delete can only exist when the names differ from what this process wrote (or it does not know).
    const prune = known === null || keep.size !== cache.size || [...cache.keys()].some((n) => !keep.has(n));
    if (!changed.length && !prune && !sample) return 0;
    this.db.transaction(() => {
      for (const c of changed) this.st.upsertCounter.run(c.name, c.spec.kind, c.spec.ref, c.packets, c.bytes, now);
      if (sample) for (const v of values) if (keep.has(v.name)) this.st.sample.run(v.name, now, v.packets, v.bytes);
      if (prune) for (const n of this.st.counterNames.all() as string[]) if (!keep.has(n)) this.st.deleteCounter.run(n);
    })();
    // Only after the commit: a failed transaction leaves the cache unknown, so the next call writes all.
    for (const c of changed) cache.set(c.name, { kind: c.spec.kind, ref: c.spec.ref, packets: c.packets, bytes: c.bytes });
    if (prune) for (const n of [...cache.keys()]) if (!keep.has(n)) cache.delete(n);
    this.counterCache = cache;
    return changed.length;
  }

  prune(): void {
    this.st.pruneSamples.run(Date.now() - SAMPLE_KEEP_MS);
    this.st.pruneEvents.run();
  }

  /** Replace the Connection table with `rows`; skipped (returns false) when the rows are the same
   *  as the ones this process wrote last (Connection.ts = when the list last changed). */
  writeConnections(rows: ConnRow[]): boolean {
    const key = JSON.stringify(rows);
    if (key === this.connKey) return false;
    const now = Date.now();
    this.connKey = null;
    this.db.transaction(() => {
      this.st.clearConns.run();
      for (const c of rows) this.st.conn.run(c.proto, c.src, c.dst, c.sport, c.dport, c.state, c.uplink, c.packets, c.bytes, now);
    })();
    this.connKey = key;
    return true;
  }

  pendingRequests(): { id: number; type: string; args: string }[] {
    return this.st.pendingRequests.all() as { id: number; type: string; args: string }[];
  }

  finishRequest(id: number, result: string): void {
    this.st.doneRequest.run(Date.now(), result.slice(0, 65536), id);
  }

  raw(): DB {
    return this.db;
  }
}
