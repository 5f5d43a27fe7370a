// The dashboard's live feed (GET /api/events, server-sent events). NOT session-checked: the route
// handler reaches it through lib/web/data.ts (liveStream), behind the session check, and re-checks
// the session while the stream is open.
//
// One hub per server process, whatever the number of open dashboards: while at least one stream
// is open it asks SQLite `PRAGMA data_version` every POLL_MS (a counter that moves when any other
// connection commits — the agent, the CLI, this server's own writes: microseconds, no table is
// read). Only when it moved are the topics read, each compared with what was sent last, and only
// what changed is pushed: agent state (status + apply results), uplink state, counters (the
// changed ones only), connection summaries, bans, drop/log records, events, agent requests. A new
// stream first gets the current value of every topic. So the page learns of an agent decision one
// commit + at most POLL_MS later, instead of at the next 2-3 s poll.
import { openDb, type DB } from '../db/sqlite';
import { dbPath } from '../db/path';
import { statusFrom, type StatusInfo } from './queries';
import { markWatched } from './watch';

export const POLL_MS = 100;

export type LiveUplink = {
  name: string; state: string; since: number; reason: string; address: string | null; gateway: string | null;
  latencyMs: number | null; lossPct: number | null; connections: number; ipv6: string | null;
};
export type LiveApply = { revision: number; ok: boolean; error: string | null; ms: number | null; at: number | null };
export type LiveCounters = { t: number; full: boolean; c: Record<string, [number, number, string, string]>; gone: string[] };
export type LiveConnections = { t: number; total: number; perUplink: { uplink: string | null; n: number; bytes: number; packets: number }[] };
export type LiveEvent = { id: number; ts: number; type: string; uplink: string | null; message: string };

/** Every event name a stream carries, with its data. */
export interface LiveTopics {
  status: StatusInfo;
  apply: LiveApply;
  uplinks: LiveUplink[];
  counters: LiveCounters;
  connections: LiveConnections;
  bans: { count: number; addresses: string[] };
  drops: { maxId: number; logMaxId: number };
  events: { maxId: number; rows: LiveEvent[] };
  requests: { pending: number; lastDone: number };
}
export type LiveMessage = { [K in keyof LiveTopics]: { event: K; data: LiveTopics[K] } }[keyof LiveTopics];
type Listener = (m: LiveMessage) => void;

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);

class LiveHub {
  private db: DB | null = null;
  private file = '';
  private listeners = new Set<Listener>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private version = -1;
  /** What was pushed last, per topic (JSON text; counters per name). */
  private last = new Map<string, string>();
  private counters = new Map<string, string>();
  private eventsMax = -1;
  /** Reads done (tests, docs/performance). */
  reads = 0;

  subscribe(fn: Listener): () => void {
    this.open();
    this.listeners.add(fn);
    markWatched(this.db!, 'counters');
    // The newcomer gets every topic's current value.
    try {
      for (const m of this.snapshot()) fn(m);
    } catch {
      /* database unavailable: the next tick tries again */
    }
    if (!this.timer) this.timer = setInterval(() => this.tick(), POLL_MS);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.close();
    };
  }

  get size(): number {
    return this.listeners.size;
  }

  private open(): void {
    const file = dbPath();
    if (this.db && this.file === file && this.db.open) return;
    this.close();
    this.db = openDb(file);
    this.db.defaultSafeIntegers(false);
    this.db.pragma('busy_timeout = 0'); // never block the server's event loop on a writer
    this.file = file;
    this.version = -1;
    this.last.clear();
    this.counters.clear();
    this.eventsMax = -1;
  }

  private close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      this.db?.close();
    } catch {
      /* already closed */
    }
    this.db = null;
  }

  private tick(): void {
    if (!this.db || this.listeners.size === 0) return;
    // An open dashboard wants live counters: the agent reads them every 2 s while this is marked.
    markWatched(this.db, 'counters');
    let v: number;
    try {
      v = this.db.pragma('data_version', { simple: true }) as number;
    } catch {
      return;
    }
    if (v === this.version) return;
    this.version = v;
    let changes: LiveMessage[];
    try {
      changes = this.read(false);
    } catch {
      this.version = -1; // busy/unavailable: read again at the next tick
      return;
    }
    for (const m of changes) for (const l of this.listeners) l(m);
  }

  /** The current value of every topic (for a new stream); does not change what was sent. */
  private snapshot(): LiveMessage[] {
    return this.read(true);
  }

  /** Read the topics; `all`: every topic (a new stream), else only what changed since last time. */
  private read(all: boolean): LiveMessage[] {
    const db = this.db!;
    this.reads++;
    const out: LiveMessage[] = [];
    const changed = (key: string, value: unknown): boolean => {
      const text = JSON.stringify(value);
      const same = this.last.get(key) === text;
      if (!all) this.last.set(key, text);
      return all || !same;
    };
    const now = Date.now();
    const rev = db.prepare('SELECT id, summary, createdAt, author, source FROM Revision ORDER BY id DESC LIMIT 1').get() as StatusInfo['desired'] | undefined;
    const st = db.prepare('SELECT appliedRevision, appliedAt, applyMs, applyError, errorRevision, heartbeatAt FROM AgentState WHERE id = 1').get() as Parameters<typeof statusFrom>[1];
    const status = statusFrom(rev ?? null, st ?? null, now);
    // status: every change but the clock; the heartbeat moves it every couple of seconds (the
    // "agent running" verdict depends on it)
    if (changed('status', { ...status, now: 0 })) out.push({ event: 'status', data: status });
    const apply: LiveApply | null = status.errorRevision !== null && status.applyError && (status.applied === null || status.errorRevision > status.applied)
      ? { revision: status.errorRevision, ok: false, error: status.applyError, ms: null, at: null }
      : status.applied !== null ? { revision: status.applied, ok: true, error: null, ms: status.applyMs, at: status.appliedAt } : null;
    if (apply && changed('apply', apply)) out.push({ event: 'apply', data: apply });

    const uplinks = (db.prepare('SELECT name, state, since, reason, address, gateway, latencyMs, lossPct, connections, ipv6 FROM UplinkStatus ORDER BY name').all() as LiveUplink[])
      .map((u) => ({ ...u, connections: num(u.connections) }));
    if (changed('uplinks', uplinks)) out.push({ event: 'uplinks', data: uplinks });

    const c: LiveCounters['c'] = {};
    const seen = new Set<string>();
    for (const r of db.prepare('SELECT name, kind, ref, packets, bytes FROM Counter').all() as { name: string; kind: string; ref: string; packets: number; bytes: number }[]) {
      seen.add(r.name);
      const v: [number, number, string, string] = [num(r.packets), num(r.bytes), r.kind, r.ref];
      const text = `${v[0]}|${v[1]}|${v[2]}|${v[3]}`;
      if (all || this.counters.get(r.name) !== text) c[r.name] = v;
      if (!all) this.counters.set(r.name, text);
    }
    const gone = all ? [] : [...this.counters.keys()].filter((n) => !seen.has(n));
    for (const n of gone) this.counters.delete(n);
    if (all || Object.keys(c).length || gone.length) out.push({ event: 'counters', data: { t: now, full: all, c, gone } });

    const per = (db.prepare('SELECT uplink, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes, COALESCE(SUM(packets), 0) AS packets FROM Connection GROUP BY uplink ORDER BY uplink').all() as { uplink: string | null; n: number; bytes: number; packets: number }[])
      .map((r) => ({ uplink: r.uplink, n: num(r.n), bytes: num(r.bytes), packets: num(r.packets) }));
    const connections = { total: per.reduce((s, r) => s + r.n, 0), perUplink: per };
    if (changed('connections', connections)) out.push({ event: 'connections', data: { t: now, ...connections } });

    const bans = db.prepare('SELECT address FROM Ban ORDER BY address LIMIT 1000').pluck().all() as string[];
    const banData = { count: db.prepare('SELECT COUNT(*) FROM Ban').pluck().get() as number, addresses: bans };
    if (changed('bans', banData)) out.push({ event: 'bans', data: banData });

    const drops = { maxId: num(db.prepare('SELECT COALESCE(MAX(id), 0) FROM DropLog').pluck().get()), logMaxId: this.logMax(db) };
    if (changed('drops', drops)) out.push({ event: 'drops', data: drops });

    const evMax = num(db.prepare('SELECT COALESCE(MAX(id), 0) FROM Event').pluck().get());
    if (all || evMax !== this.eventsMax) {
      const after = all ? 0 : Math.max(0, this.eventsMax);
      const rows = db.prepare('SELECT id, ts, type, uplink, message FROM Event WHERE id > ? ORDER BY id DESC LIMIT 20').all(after) as LiveEvent[];
      if (!all) this.eventsMax = evMax;
      out.push({ event: 'events', data: { maxId: evMax, rows } });
    }

    const req = { pending: num(db.prepare('SELECT COUNT(*) FROM AgentRequest WHERE doneAt IS NULL').pluck().get()), lastDone: num(db.prepare('SELECT COALESCE(MAX(id), 0) FROM AgentRequest WHERE doneAt IS NOT NULL').pluck().get()) };
    if (changed('requests', req)) out.push({ event: 'requests', data: req });
    return out;
  }

  /** Highest FirewallLog id (0 without the table: an older database). */
  private logMax(db: DB): number {
    try {
      return num(db.prepare('SELECT COALESCE(MAX(id), 0) FROM FirewallLog').pluck().get());
    } catch {
      return 0;
    }
  }
}

const g = globalThis as unknown as { __lwLiveHub?: LiveHub };
/** The process's hub (one, even when Next loads this module in several bundles). */
export function liveHub(): LiveHub {
  return (g.__lwLiveHub ??= new LiveHub());
}

/** SSE framing of one message: `event: <name>` + one `data:` line of JSON. */
export function sseFrame(m: LiveMessage): string {
  return `event: ${m.event}\ndata: ${JSON.stringify(m.data)}\n\n`;
}

/** An open event stream: subscribes to the hub, writes frames, a comment every 15 s (proxies and
 *  the browser see the stream alive), and ends when `stillAllowed()` says no (session ended,
 *  checked every `recheckMs`), the client goes away (`signal`) or the consumer cancels. */
export function eventStream(opts: { signal?: AbortSignal; stillAllowed: () => Promise<boolean>; recheckMs?: number }): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let cleanup = () => undefined as void;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(enc.encode(text));
        } catch {
          cleanup();
        }
      };
      // retry: the browser's reconnect delay after a dropped stream
      send('retry: 2000\n\n');
      const unsubscribe = liveHub().subscribe((m) => send(sseFrame(m)));
      const ping = setInterval(() => send(`: ${Date.now()}\n\n`), 15_000);
      const recheck = setInterval(() => {
        void opts.stillAllowed().then((ok) => {
          if (!ok) {
            send('event: signed-out\ndata: {}\n\n');
            cleanup();
          }
        }, () => undefined);
      }, opts.recheckMs ?? 10_000);
      cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(ping);
        clearInterval(recheck);
        unsubscribe();
        try {
          controller.close();
        } catch {
          /* already closed */
        }
      };
      opts.signal?.addEventListener('abort', () => cleanup(), { once: true });
    },
    cancel() {
      cleanup();
    },
  });
}
