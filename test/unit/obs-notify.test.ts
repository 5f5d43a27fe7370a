// The agent's notifier against real HTTP receivers on loopback (node:http servers): webhook body
// and HMAC signature, ntfy headers, retry with backoff, a queue that survives a restart (a new
// Notifier on the same database delivers what the old one left), a hanging receiver that stalls
// neither notify() nor the other channels, and flap suppression.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import crypto from 'node:crypto';
import { openDb, type DB } from '../../lib/db/sqlite';
import { Notifier } from '../../agent/notify/notifier';
import { NotifyPolicy } from '../../agent/notify/policy';
import { parseConfig } from '../../lib/validations/config';
import type { NotificationChannel } from '../../lib/validations/observe';
import type { NotifyEventData } from '../../agent/notify/events';
import { waitUntil } from '../helpers/wait';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-notify-'));
const servers: http.Server[] = [];
after(() => {
  for (const s of servers) s.closeAllConnections?.();
  for (const s of servers) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Hit { path: string; headers: http.IncomingHttpHeaders; body: string; at: number }

/** A receiver on 127.0.0.1: records requests; `mode` answers 200, 500 or never. */
async function receiver(mode: () => 'ok' | 'fail' | 'hang'): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const m = mode();
      if (m === 'hang') return; // never answers
      res.statusCode = m === 'ok' ? 200 : 500;
      res.end(m === 'ok' ? 'ok' : 'boom');
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address() as { port: number };
  return { url: `http://127.0.0.1:${a.port}/hook`, hits };
}

let n = 0;
const freshDb = (): DB => openDb(path.join(dir, `n${++n}.db`));

/** Channels through the real schema (defaults filled) with secrets in clear (resolveSecret passes them). */
function channels(list: unknown[]): NotificationChannel[] {
  const r = parseConfig({ version: 1, notifications: list });
  assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  return r.value.notifications;
}

const ev = (over: Partial<NotifyEventData> = {}): NotifyEventData => ({ event: 'failover', uplink: 'isp1', state: 'down', time: Date.now(), message: 'uplink isp1 is down: new connections now leave by isp2.', ...over });

test('webhook: JSON body with event, uplink, state, time, message and a valid HMAC; ntfy: title/priority headers and bearer token', async () => {
  const hook = await receiver(() => 'ok');
  const ntfy = await receiver(() => 'ok');
  const db = freshDb();
  const nt = new Notifier(db);
  nt.configure(channels([
    { name: 'lan-hook', type: 'webhook', url: hook.url, secret: 'k3y' },
    { name: 'phone', type: 'ntfy', url: ntfy.url.replace('/hook', '/router-alerts'), token: 'tk_1' },
  ]));
  nt.start();
  try {
    nt.notify(ev());
    await waitUntil('both delivered', () => hook.hits.length === 1 && ntfy.hits.length === 1, 10000, 20);
    const h = hook.hits[0];
    const body = JSON.parse(h.body) as Record<string, unknown>;
    assert.equal(body.event, 'failover');
    assert.equal(body.uplink, 'isp1');
    assert.equal(body.state, 'down');
    assert.ok(typeof body.time === 'string' && !Number.isNaN(Date.parse(body.time as string)));
    assert.match(String(body.message), /isp1 is down/);
    const want = `sha256=${crypto.createHmac('sha256', 'k3y').update(h.body).digest('hex')}`;
    assert.equal(h.headers['x-linkward-signature'], want, 'HMAC over the exact body');
    const t = ntfy.hits[0];
    assert.equal(t.path, '/router-alerts');
    assert.equal(t.headers.authorization, 'Bearer tk_1');
    assert.equal(t.headers.priority, '4');
    assert.match(String(t.headers.title), /isp1 down \(failover\)/);
    assert.match(t.body, /isp1 is down/);
    // the receiver counts a hit when the request arrives; the notifier records it sent after the
    // answer: wait for that too (a race that failed this test under load)
    const rowsOf = () => db.prepare('SELECT sentAt, attempts FROM Notification').all() as { sentAt: number | null; attempts: number }[];
    await waitUntil('both recorded as sent', () => rowsOf().length === 2 && rowsOf().every((r) => r.sentAt !== null), 10000, 20);
    assert.ok(rowsOf().every((r) => r.attempts === 1), JSON.stringify(rowsOf()));
  } finally {
    await nt.stop();
    db.close();
  }
});

test('a failing receiver is retried with backoff; the queue survives a restart of the notifier', async () => {
  let state: 'ok' | 'fail' = 'fail';
  const hook = await receiver(() => state);
  const db = freshDb();
  let clock = Date.now();
  const chs = channels([{ name: 'hook', type: 'webhook', url: hook.url }]);
  const a = new Notifier(db, { now: () => clock });
  a.configure(chs);
  a.start();
  a.notify(ev());
  await waitUntil('first attempt', () => hook.hits.length === 1, 5000, 20);
  await waitUntil('retry recorded', () => (db.prepare('SELECT attempts FROM Notification').pluck().get() as number) === 1, 5000, 20);
  const row = db.prepare('SELECT nextAt, lastError FROM Notification').get() as { nextAt: number; lastError: string };
  assert.match(row.lastError, /HTTP 500/);
  assert.ok(row.nextAt >= clock + 2000, 'backoff before the next attempt');
  await a.stop(); // the agent stops (restart) with the notification still queued
  state = 'ok';
  clock += 2500;
  const b = new Notifier(db, { now: () => clock });
  b.configure(chs);
  b.start();
  try {
    await waitUntil('delivered by the new notifier', () => (db.prepare('SELECT sentAt FROM Notification').pluck().get() as number | null) !== null, 5000, 20);
    assert.equal(hook.hits.length, 2);
    assert.equal(hook.hits[1].body, hook.hits[0].body, 'the same notification, not a new one');
  } finally {
    await b.stop();
    db.close();
  }
});

test('a hanging receiver: notify() returns at once, the other channel is delivered, the hung send ends at its timeout', async () => {
  const hang = await receiver(() => 'hang');
  const good = await receiver(() => 'ok');
  const db = freshDb();
  const nt = new Notifier(db, { sendTimeoutMs: 1500 });
  nt.configure(channels([{ name: 'dead', type: 'webhook', url: hang.url }, { name: 'good', type: 'webhook', url: good.url }]));
  nt.start();
  try {
    nt.notify(ev({ uplink: 'isp1' }));
    await waitUntil('the hanging receiver got the request', () => hang.hits.length === 1, 5000, 10);
    const t0 = performance.now();
    for (let i = 2; i <= 5; i++) nt.notify(ev({ uplink: `isp${i}` }));
    const enqueueMs = performance.now() - t0;
    await waitUntil('all five delivered to the good channel', () => good.hits.length === 5, 5000, 10);
    assert.equal(hang.hits.length, 1, 'the dead lane holds its first notification (in order), nothing else');
    process.stdout.write(`# notify(): 4 events queued in ${enqueueMs.toFixed(2)} ms while a receiver hangs\n`);
    await waitUntil('the hung attempt timed out and is queued for a retry', () => /timeout|aborted/i.test(String(db.prepare("SELECT lastError FROM Notification WHERE channel = 'dead' ORDER BY id LIMIT 1").pluck().get() ?? '')), 8000, 50);
  } finally {
    await nt.stop();
    db.close();
  }
});

test('flap suppression: fifty changes give one "flapping" message, then one "stable again"', () => {
  const p = new NotifyPolicy({ flapAfter: 4, flapWindowMs: 600_000, quietMs: 300_000 });
  let t = 1_000_000;
  const sent: NotifyEventData[] = [];
  for (let i = 0; i < 50; i++) {
    t += 5000;
    const d = p.decide(ev({ event: i % 2 ? 'failback' : 'failover', state: i % 2 ? 'up' : 'down', time: t }), t);
    if (d.send) sent.push(d.event);
  }
  assert.deepEqual(sent.map((e) => e.event), ['failover', 'failback', 'failover', 'uplink.flapping']);
  assert.deepEqual(p.tick(t + 60_000), [], 'not quiet yet');
  const stable = p.tick(t + 300_000);
  assert.equal(stable.length, 1);
  assert.match(stable[0].message, /stable again \(up/);
  assert.equal((stable[0].details as { suppressed: number }).suppressed, 46);
  // De-duplication: the same event again within a minute is dropped.
  const q = new NotifyPolicy();
  assert.ok(q.decide(ev({ event: 'apply.failed', uplink: undefined, state: 'failed', time: 0 }), 0).send);
  assert.ok(!q.decide(ev({ event: 'apply.failed', uplink: undefined, state: 'failed', time: 30_000 }), 30_000).send);
  assert.ok(q.decide(ev({ event: 'apply.failed', uplink: undefined, state: 'failed', time: 90_000 }), 90_000).send);
});
