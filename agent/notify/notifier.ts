// The agent's notifier: events are queued in SQLite (table Notification: one row per event and
// channel, so a queued notification survives an agent restart) and delivered by a worker that
// is independent of the reconcile loop. notify() is synchronous and cheap (an INSERT): the code
// that decides a failover never waits for a receiver. Per channel one lane delivers in order, a
// send is bounded by SEND_TIMEOUT_MS, failures are retried with exponential backoff (2 s … 5 min)
// for up to MAX_AGE_MS, then given up (Event row notify-error, metric).
import { isDbFault } from '../store';
import type { DB } from '../../lib/db/sqlite';
import type { NotificationChannel } from '../../lib/validations/observe';
import { SECRET_FIELDS } from '../../lib/validations/observe';
import { resolveSecret } from '../../lib/store/secrets';
import { NotifyPolicy, type PolicyOptions } from './policy';
import { send as realSend, type SendSecrets, type SendOptions } from './senders';
import type { NotifyEventData } from './events';
import type { AgentMetrics } from '../metrics';

export const MAX_AGE_MS = 24 * 3600_000;
export const MAX_ATTEMPTS = 30;
export const backoffMs = (attempts: number): number => Math.min(300_000, 2000 * 2 ** Math.max(0, attempts - 1));

interface Row {
  id: number;
  createdAt: number;
  channel: string;
  event: string;
  payload: string;
  attempts: number;
}

export interface NotifierOptions {
  log?: (msg: string) => void;
  metrics?: AgentMetrics;
  /** Event rows for the dashboard (type, message). */
  event?: (type: string, message: string, uplink?: string | null) => void;
  send?: (ch: NotificationChannel, e: NotifyEventData, secrets: SendSecrets, opts?: SendOptions) => Promise<string>;
  policy?: Partial<PolicyOptions>;
  now?: () => number;
  tickMs?: number;
  sendTimeoutMs?: number;
}

export class Notifier {
  private channels = new Map<string, NotificationChannel>();
  private readonly policy: NotifyPolicy;
  private readonly st;
  private readonly busy = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly waiters = new Map<number, (r: { ok: boolean; result: string }) => void>();
  private readonly now: () => number;
  /** Resolves when no send is in flight (stop()). */
  private inflight = new Set<Promise<void>>();

  constructor(private readonly db: DB, private readonly opts: NotifierOptions = {}) {
    this.policy = new NotifyPolicy(opts.policy);
    this.now = opts.now ?? Date.now;
    this.st = {
      insert: db.prepare('INSERT INTO Notification (createdAt, channel, event, uplink, payload, nextAt) VALUES (?, ?, ?, ?, ?, ?)'),
      due: db.prepare('SELECT id, createdAt, channel, event, payload, attempts FROM Notification WHERE sentAt IS NULL AND failedAt IS NULL AND nextAt <= ? ORDER BY id LIMIT 200'),
      nextDue: db.prepare('SELECT MIN(nextAt) FROM Notification WHERE sentAt IS NULL AND failedAt IS NULL').pluck(),
      sent: db.prepare('UPDATE Notification SET sentAt = ?, attempts = attempts + 1, lastError = NULL WHERE id = ?'),
      retry: db.prepare('UPDATE Notification SET attempts = ?, nextAt = ?, lastError = ? WHERE id = ?'),
      failed: db.prepare('UPDATE Notification SET failedAt = ?, attempts = ?, lastError = ? WHERE id = ?'),
      prune: db.prepare('DELETE FROM Notification WHERE (sentAt IS NOT NULL OR failedAt IS NOT NULL) AND createdAt < ?'),
    };
  }

  /** The channels of the applied configuration (by name). */
  configure(channels: readonly NotificationChannel[]): void {
    this.channels = new Map(channels.map((c) => [c.name, c]));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inflight]);
  }

  /** Queue an event for every enabled channel that wants it. Synchronous: returns at once. */
  notify(e: NotifyEventData): number[] {
    try {
      return this.notifyUnsafe(e);
    } catch (err) {
      // The queue lives in the database: while it refuses writes the notification is lost (the
      // agent's outage report says the database was unavailable), never the caller's work.
      if (!isDbFault(err)) throw err;
      this.opts.log?.(`notification ${e.event} not queued: database unavailable (${(err as Error).message})`);
      return [];
    }
  }

  private notifyUnsafe(e: NotifyEventData): number[] {
    const d = this.policy.decide(e, e.time);
    if (!d.send) {
      this.opts.metrics?.inc('notifications_suppressed_total', { event: e.event, why: d.why });
      return [];
    }
    return this.enqueue(d.event, [...this.channels.values()].filter((c) => c.enabled && (c.events === undefined || c.events.includes(d.event.event))));
  }

  private enqueue(e: NotifyEventData, channels: NotificationChannel[]): number[] {
    if (!channels.length) return [];
    const now = this.now();
    const payload = JSON.stringify(e);
    const ids = this.db.transaction(() => channels.map((c) => Number(this.st.insert.run(now, c.name, e.event, e.uplink ?? null, payload, now).lastInsertRowid)))();
    this.schedule(0);
    return ids;
  }

  /** "send test" (the dashboard's button, an AgentRequest): queue a test event for one channel and
   *  wait for its first attempt. */
  sendTest(channel: string, timeoutMs = 20_000): Promise<{ ok: boolean; result: string }> {
    const ch = this.channels.get(channel);
    if (!ch) return Promise.resolve({ ok: false, result: `no channel "${channel}" in the applied configuration` });
    const [id] = this.enqueue({ event: 'test', time: this.now(), state: 'test', message: `Test notification from linkward to channel ${channel} (${ch.type}).` }, [ch]);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(id);
        resolve({ ok: false, result: `no answer from ${channel} within ${timeoutMs} ms (still queued, retried with backoff)` });
      }, timeoutMs);
      this.waiters.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(0, Math.min(ms, 1000)));
  }

  /** Start a send for every due row whose channel lane is free; re-arm the timer. */
  private pump(): void {
    if (!this.running) return;
    try {
      this.pumpUnsafe();
    } catch (e) {
      if (!isDbFault(e)) throw e;
      this.schedule(1000); // database unavailable: try again in a second
    }
  }

  private pumpUnsafe(): void {
    const now = this.now();
    for (const e of this.policy.tick(now)) this.notify(e);
    const rows = this.st.due.all(now) as Row[];
    for (const r of rows) {
      if (this.busy.has(r.channel)) continue; // one in flight per channel: in order
      this.busy.add(r.channel);
      const p = this.deliver(r).finally(() => {
        this.busy.delete(r.channel);
        this.inflight.delete(p);
        this.schedule(0);
      });
      this.inflight.add(p);
    }
    if (this.st.prune && Math.random() < 0.01) this.st.prune.run(now - 7 * 24 * 3600_000);
    const next = this.st.nextDue.get() as number | null;
    this.schedule(next === null ? 1000 : Math.max(50, next - now));
  }

  private secrets(ch: NotificationChannel): SendSecrets {
    const out: SendSecrets = {};
    for (const f of SECRET_FIELDS[ch.type]) {
      const v = resolveSecret(this.db, (ch as unknown as Record<string, Parameters<typeof resolveSecret>[1]>)[f]);
      if (v !== undefined) (out as Record<string, string>)[f] = v;
    }
    return out;
  }

  private async deliver(r: Row): Promise<void> {
    const ch = this.channels.get(r.channel);
    const attempts = r.attempts + 1;
    const now = () => this.now();
    if (!ch) {
      this.st.failed.run(now(), attempts, 'channel no longer configured', r.id);
      this.waiters.get(r.id)?.({ ok: false, result: 'channel no longer configured' });
      this.waiters.delete(r.id);
      return;
    }
    const e = JSON.parse(r.payload) as NotifyEventData;
    const t0 = performance.now();
    try {
      const res = await (this.opts.send ?? realSend)(ch, e, this.secrets(ch), { timeoutMs: this.opts.sendTimeoutMs });
      const ms = Math.round(performance.now() - t0);
      this.st.sent.run(now(), r.id);
      this.opts.metrics?.inc('notifications_sent_total', { channel: ch.name });
      this.opts.log?.(`notification ${e.event} sent to ${ch.name} (${res}, ${ms} ms, ${Math.round(now() - e.time)} ms after the event)`);
      this.waiters.get(r.id)?.({ ok: true, result: `sent to ${ch.name} (${ch.type}): ${res} in ${ms} ms` });
    } catch (err) {
      const msg = (err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err)).slice(0, 500);
      this.waiters.get(r.id)?.({ ok: false, result: `${ch.name} (${ch.type}) failed: ${msg}` });
      if (attempts >= MAX_ATTEMPTS || now() - r.createdAt >= MAX_AGE_MS || e.event === 'test') {
        this.st.failed.run(now(), attempts, msg, r.id);
        this.opts.metrics?.inc('notifications_failed_total', { channel: ch.name });
        this.opts.event?.('notify-error', `notification ${e.event} to ${ch.name} given up after ${attempts} attempt(s): ${msg}`, e.uplink ?? null);
      } else {
        this.st.retry.run(attempts, now() + backoffMs(attempts), msg, r.id);
        if (attempts === 1) this.opts.log?.(`notification ${e.event} to ${ch.name} failed (${msg}); retrying with backoff`);
      }
    } finally {
      this.waiters.delete(r.id);
    }
  }
}
