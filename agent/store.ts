// The agent's side of the database: one better-sqlite3 connection (WAL, a short busy timeout),
// short write transactions with prepared statements so the web is never blocked for long.
//
// The database is bookkeeping, never a dependency of forwarding or failover: no method here
// throws on a database fault (SQLITE_BUSY from another process's lock, SQLITE_FULL, a read-only
// or corrupted database, a deleted file). Reads fall back (desired() says 'unavailable', the
// agent keeps its last good config); events, audit rows and the apply record are kept in a
// bounded queue and written, with one report of the outage, as soon as a write succeeds again.
import fs from 'node:fs';
import type { DB } from '../lib/db/sqlite';
import { parseConfigIncremental, type Config, type RuleParseCache } from '../lib/validations/config';
import type { CounterSpec } from '../lib/compile/types';
import type { FlowRow, FlowBytes } from './connections';

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
  | { kind: 'unavailable'; error: string }
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
  /** The IPv6 side as JSON, or null/absent (no IPv6 configured). */
  ipv6?: string | null;
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

/** Deferred writes kept while the database refuses them (oldest dropped beyond this). */
export const DEFER_MAX = 1000;
/** The agent's connection waits at most this long for another process's lock: a synchronous
 *  wait blocks the event loop (probes, failover), so the agent rather retries on its next tick. */
export const AGENT_BUSY_TIMEOUT_MS = 50;
/** While the database refuses writes, it is tried again at most this often. */
export const OUTAGE_RETRY_MS = 1000;

/** A database fault (any SQLite error, or the file gone) as opposed to a bug of ours. */
export function isDbFault(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ENOENT' || code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC');
}

/** One period during which the database refused the agent's reads or writes. */
export interface DbOutage {
  since: number;
  error: string;
  failed: number;
  deferred: number;
  dropped: number;
}

/** A write kept for later, as data (so a reopened connection can replay it). */
export type Deferred =
  | { op: 'event'; args: [number, string, string | null, string] }
  | { op: 'audit'; args: [number, string, string] }
  | { op: 'started'; args: [number, number] }
  | { op: 'applied'; args: [number, number, number, string] }
  | { op: 'failed'; args: [string, number | null, number] }
  | { op: 'request'; args: [number, string, number] };
const LATEST_ONLY = new Set<Deferred['op']>(['started', 'applied', 'failed']);

/** The agent connection's page cache, in KiB (as PRAGMA cache_size, negative). better-sqlite3
 *  builds SQLite with a 16 MB default; writing the Connection table of 50 000 flows filled 8 MB
 *  of it, which stayed in the agent's RSS. 2 MB is SQLite's own default; the file's pages stay in
 *  the kernel's page cache. Measured in docs/performance.md (issue 16, fifth round). */
export const AGENT_CACHE_KIB = -2000;

/** Pending requests read at a time (agent.handleRequests reads again while a read is full). */
export const REQUESTS_PER_READ = 20;

export class AgentStore {
  private readonly db: DB;
  private readonly st;
  private readonly file: string;
  private readonly inode: number | null;
  private outage: DbOutage | null = null;
  private lastTry = 0;
  private deferred: Deferred[] = [];
  /** Called once per outage, when it starts and when it ends (with the report written). */
  onOutage: (o: DbOutage, ended: boolean) => void = () => undefined;
  /** What the Counter table holds (as written by this process); null = unknown, write all. */
  private counterCache: Map<string, CachedCounter> | null = null;
  private counterCacheAt = 0;
  private specsRef: CounterSpec[] | null = null;
  private specsByName = new Map<string, CounterSpec>();
  /** The last revision validated by desired() (its text and result). */
  private lastDesired: { id: number; text: string; config: Config } | null = null;
  /** The rules of the last valid revision, validated (a one-rule change validates one rule). */
  private ruleCache: RuleParseCache = new Map();

  constructor(db: DB) {
    this.db = db;
    db.defaultSafeIntegers(false);
    db.pragma(`busy_timeout = ${AGENT_BUSY_TIMEOUT_MS}`);
    db.pragma(`cache_size = ${AGENT_CACHE_KIB}`);
    this.file = db.name;
    this.inode = inodeOf(db.name);
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
      upsertUplink: db.prepare(`INSERT INTO UplinkStatus (name, state, since, reason, address, gateway, latencyMs, lossPct, connections, rxBytes, txBytes, ipv6, updatedAt)
        VALUES (@name, @state, @since, @reason, @address, @gateway, @latencyMs, @lossPct, @connections, @rxBytes, @txBytes, @ipv6, @updatedAt)
        ON CONFLICT(name) DO UPDATE SET state = excluded.state, since = excluded.since, reason = excluded.reason, address = excluded.address,
          gateway = excluded.gateway, latencyMs = excluded.latencyMs, lossPct = excluded.lossPct, connections = excluded.connections,
          rxBytes = excluded.rxBytes, txBytes = excluded.txBytes, ipv6 = excluded.ipv6, updatedAt = excluded.updatedAt`),
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
      conn: db.prepare(`INSERT OR REPLACE INTO Connection (id, family, proto, src, dst, sport, dport, state, uplink, host, local, packets, bytes, rate, firstSeen, ts)
        VALUES (@id, @family, @proto, @src, @dst, @sport, @dport, @state, @uplink, @host, @local, @packets, @bytes, @rate, @firstSeen, @ts)`),
      connDel: db.prepare('DELETE FROM Connection WHERE id = ?'),
      connUpd: db.prepare('UPDATE Connection SET packets = @packets, bytes = @bytes, rate = @rate, ts = @ts, state = @state, uplink = @uplink WHERE id = @id'),
      watchUntil: db.prepare('SELECT until FROM Watch WHERE name = ?').pluck(),
      audit: db.prepare('INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, ?, ?, ?)'),
      pendingRequests: db.prepare(`SELECT id, type, args FROM AgentRequest WHERE doneAt IS NULL ORDER BY id LIMIT ${REQUESTS_PER_READ}`),
      doneRequest: db.prepare('UPDATE AgentRequest SET doneAt = ?, result = ? WHERE id = ?'),
    };
    this.write(() => this.st.ensureState.run(), undefined);
  }

  // ---------- fault handling ----------

  /** The current outage, if the database is refusing the agent. */
  get dbOutage(): DbOutage | null {
    return this.outage;
  }

  private fault(e: unknown): void {
    const msg = e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
    if (this.outage) {
      this.outage.failed++;
      return;
    }
    this.outage = { since: Date.now(), error: msg.slice(0, 500), failed: 1, deferred: 0, dropped: 0 };
    this.onOutage(this.outage, false);
  }

  /** A write succeeded: the outage (if any) is over — flush what was deferred, report it. */
  private recovered(): void {
    const o = this.outage;
    if (!o) return;
    const queue = this.deferred;
    this.deferred = [];
    try {
      this.db.transaction(() => {
        for (const d of queue) this.replay(d);
        const secs = ((Date.now() - o.since) / 1000).toFixed(1);
        this.st.event.run(Date.now(), 'agent', null, `database unavailable for ${secs} s (${o.error}); the kernel kept its state and failover went on; ${o.failed} database operation(s) failed, ${o.deferred} record(s) written late, ${o.dropped} dropped`.slice(0, 2000));
      })();
    } catch (e) {
      if (!isDbFault(e)) throw e;
      this.deferred = queue; // still refusing: keep the queue, stay in the outage
      return;
    }
    this.outage = null;
    this.onOutage(o, true);
  }

  private replay(d: Deferred): void {
    const now = Date.now();
    switch (d.op) {
      case 'event': this.st.event.run(...d.args); break;
      case 'audit': this.st.audit.run(d.args[0], 'agent', d.args[1], d.args[2]); break;
      case 'started': this.st.started.run(d.args[0], d.args[1], now); break;
      case 'applied': this.st.applied.run(d.args[0], d.args[1], d.args[2], d.args[3], now); break;
      case 'failed': this.st.failed.run(d.args[0], d.args[1], d.args[2], now); break;
      case 'request': this.st.doneRequest.run(...d.args); break;
    }
  }

  /** Run `d` now; on a database fault keep it for later (never throws on a fault). */
  private record(d: Deferred): void {
    this.write(() => this.replay(d), undefined, d);
  }

  /** Run a write; a database fault is swallowed (counted), `defer` keeps it for later. */
  private write<T>(fn: () => T, fallback: T, defer?: Deferred, force = false): T {
    // During an outage one write per OUTAGE_RETRY_MS tries the database (each try may wait the
    // busy timeout on a locked one); the others are deferred or skipped at once.
    if (this.outage && (this.fileGone() || (!force && Date.now() - this.lastTry < OUTAGE_RETRY_MS))) {
      if (defer) this.defer(defer);
      else this.outage.failed++;
      return fallback;
    }
    this.lastTry = Date.now();
    try {
      const r = fn();
      this.recovered();
      return r;
    } catch (e) {
      if (!isDbFault(e)) throw e;
      this.fault(e);
      if (defer) this.defer(defer);
      return fallback;
    }
  }

  private defer(d: Deferred): void {
    if (!this.outage) return;
    if (LATEST_ONLY.has(d.op)) {
      const before = this.deferred.length;
      this.deferred = this.deferred.filter((x) => x.op !== d.op); // only the latest of its kind
      this.outage.deferred -= before - this.deferred.length;
    }
    this.deferred.push(d);
    this.outage.deferred++;
    if (this.deferred.length > DEFER_MAX) {
      this.deferred.shift();
      this.outage.deferred--;
      this.outage.dropped++;
    }
  }

  private read<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (e) {
      if (!isDbFault(e)) throw e;
      this.fault(e);
      return fallback;
    }
  }

  /** The database file was deleted or replaced since it was opened (the connection then writes
   *  to an orphaned inode nobody else sees). 'replaced' means a file is there again: reopen it. */
  fileState(): 'ok' | 'missing' | 'replaced' {
    if (this.file === '' || this.file === ':memory:' || this.inode === null) return 'ok';
    const now = inodeOf(this.file);
    if (now === this.inode) return 'ok';
    if (now === null) {
      if (!this.outage) this.fault(Object.assign(new Error(`database file ${this.file} was deleted`), { code: 'ENOENT' }));
      return 'missing';
    }
    return 'replaced';
  }

  private fileGone(): boolean {
    return this.inode !== null && inodeOf(this.file) !== this.inode;
  }

  /** The outage and what is still queued, handed to a new connection after a reopen. */
  takeDeferred(): { outage: DbOutage | null; queue: Deferred[] } {
    const r = { outage: this.outage, queue: this.deferred };
    this.deferred = [];
    this.outage = null;
    return r;
  }

  /** Adopt a previous connection's outage and queue (reopen): written, with the report, at the
   *  first successful write on this connection. */
  adoptDeferred(from: { outage: DbOutage | null; queue: Deferred[] }): void {
    if (!from.outage) return;
    this.outage = { ...from.outage };
    this.deferred = [...from.queue];
  }

  // ---------- reads ----------

  /** Cheap change detector: PRAGMA data_version changes when another connection commits (-1: unreadable). */
  dataVersion(): number {
    return this.read(() => this.st.dataVersion.get() as number, -1);
  }

  latestRevisionId(): number | null {
    return this.read(() => (this.st.latestId.get() as number | null) ?? null, null);
  }

  revision(id: number): RevisionRow | undefined {
    return this.read(() => this.st.byId.get(id) as RevisionRow | undefined, undefined);
  }

  /** The desired state, re-validated with the shared schema (never trusted blindly). */
  desired(): DesiredResult {
    let row: RevisionRow | undefined;
    try {
      row = this.st.latest.get() as RevisionRow | undefined;
    } catch (e) {
      if (!isDbFault(e)) throw e;
      this.fault(e);
      return { kind: 'unavailable', error: e instanceof Error ? e.message : String(e) };
    }
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
    const parsed = parseConfigIncremental(doc, this.ruleCache);
    if (!parsed.ok) return { kind: 'invalid', revision: row.id, errors: parsed.errors };
    this.lastDesired = { id: row.id, text: row.config, config: parsed.value };
    return { kind: 'ok', revision: row.id, config: parsed.value, row };
  }

  state(): Record<string, unknown> {
    return this.read(() => (this.st.state.get() as Record<string, unknown>) ?? {}, {});
  }

  // ---------- writes (never throw on a database fault) ----------

  markStarted(pid: number): void {
    this.record({ op: 'started', args: [Date.now(), pid] });
  }

  /** Also the periodic probe of a refusing database: always tries (the agent calls it every
   *  counter tick), and its success ends the outage. */
  heartbeat(pid: number): void {
    this.write(() => this.st.heartbeat.run(Date.now(), pid), undefined, undefined, true);
  }

  recordApplied(revision: number, applyMs: number, facts: unknown): void {
    this.record({ op: 'applied', args: [revision, Date.now(), applyMs, JSON.stringify(facts)] });
  }

  recordError(revision: number | null, message: string): void {
    this.record({ op: 'failed', args: [message.slice(0, 4000), revision, Date.now()] });
  }

  event(type: string, message: string, uplink: string | null = null): void {
    this.record({ op: 'event', args: [Date.now(), type, uplink, message.slice(0, 2000)] });
  }

  audit(action: string, detail: string): void {
    this.record({ op: 'audit', args: [Date.now(), action, detail.slice(0, 2000)] });
  }

  writeUplinks(rows: UplinkStatusRow[]): void {
    this.write(() => this.writeUplinksRaw(rows), undefined);
  }

  private writeUplinksRaw(rows: UplinkStatusRow[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      const keep = new Set(rows.map((r) => r.name));
      for (const r of rows) this.st.upsertUplink.run({ ...r, ipv6: r.ipv6 ?? null, updatedAt: now });
      for (const n of this.st.uplinkNames.all() as string[]) if (!keep.has(n)) this.st.deleteUplink.run(n);
    })();
  }

  /** Store the latest value of every named counter; drop rows of counters no longer in the plan.
   *  Only rows whose value (or kind/ref) changed since this process last wrote them are written
   *  (Counter.updatedAt = when the value last changed; AgentState.heartbeatAt says the agent is
   *  reading); all rows every COUNTER_FULL_WRITE_MS. With `sample`, also append a history sample
   *  per counter (every counter, changed or not). Returns the number of Counter rows written. */
  writeCounters(values: { name: string; packets: number; bytes: number }[], specs: CounterSpec[], sample: boolean): number {
    return this.write(() => this.writeCountersRaw(values, specs, sample), 0);
  }

  private writeCountersRaw(values: { name: string; packets: number; bytes: number }[], specs: CounterSpec[], sample: boolean): number {
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
    this.write(() => {
      this.st.pruneSamples.run(Date.now() - SAMPLE_KEEP_MS);
      this.st.pruneEvents.run();
    }, undefined);
  }

  /** Replace the Connection table with `rows` (one transaction). false: the database refused. */
  connReplace(rows: FlowRow[]): boolean {
    return this.write(() => {
      this.db.transaction(() => {
        this.st.clearConns.run();
        for (const r of rows) this.st.conn.run(r);
      })();
      return true;
    }, false);
  }

  /** Inserted (or relabelled), deleted and re-read rows of the Connection table, one transaction. */
  connApply(ins: FlowRow[], del: number[], upd: FlowBytes[]): boolean {
    return this.write(() => {
      this.db.transaction(() => {
        for (const id of del) this.st.connDel.run(id);
        for (const r of ins) this.st.conn.run(r);
        for (const u of upd) this.st.connUpd.run(u);
      })();
      return true;
    }, false);
  }

  /** Until when someone watches `name` (Watch row set by the dashboard), null: nobody. */
  watchUntil(name: string): number | null {
    return this.read(() => (this.st.watchUntil.get(name) as number | undefined) ?? null, null);
  }

  pendingRequests(): { id: number; type: string; args: string }[] {
    return this.read(() => this.st.pendingRequests.all() as { id: number; type: string; args: string }[], []);
  }

  finishRequest(id: number, result: string): void {
    this.record({ op: 'request', args: [Date.now(), result.slice(0, 65536), id] });
  }

  raw(): DB {
    return this.db;
  }
}

function inodeOf(file: string): number | null {
  if (file === '' || file === ':memory:') return null;
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}
