// Issue 17 through the built dashboard: GET /metrics scraped by a REAL Prometheus server on
// loopback (Debian's prometheus, bearer token from the configuration), and the dashboard in real
// Chromium — the overview card with a degraded uplink and a data cap gauge, Settings'
// notification channels with "send test" answered by the real agent code (its kernel is the
// stateful fake: this test needs no namespaces) delivering to a loopback HTTP receiver, and the
// packet tracer page. Screenshots go to test-results/screenshots (docs/img has the reviewed ones).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { startServer, launchBrowser, setupAdmin, shot, freePort, waitFor, type WebServer } from './helpers';
import { openDb, type DB } from '../../lib/db/sqlite';
import { FakeSystem } from '../../agent/system/fake';
import { Agent } from '../../agent/agent';
import { AgentStore } from '../../agent/store';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';

let web: WebServer;
let browser: Browser;
let page: Page;
let db: DB;
let agent: Agent;
let prom: ChildProcess | null = null;
let hookHits: string[] = [];
let hook: http.Server;
const TOKEN = 'scrape-token-0123456789';

async function scrape(token?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${web.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, text: await r.text() };
}

before(async () => {
  web = await startServer();
  hook = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      hookHits.push(b);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/linkward`;
  const doc = {
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [
      { name: 'fiber', interface: 'wan1', gateway: '100.64.1.1', weight: 3 },
      { name: 'dsl', interface: 'wan2', gateway: '100.64.2.1', quality: { latencyWarnMs: 200, latencyDownMs: 800, lossWarnPct: 10, lossDownPct: 25 } },
      { name: 'lte', interface: 'wwan0', gateway: '10.64.1.1', priority: 2, health: { targets: ['203.0.113.10', '203.0.113.11'] }, metered: { capBytes: 20_000_000_000, warnAt: [0.75, 0.95], onCap: 'backup-only' } },
    ],
    rules: Array.from({ length: 40 }, (_, i) => ({ name: `r${i}`, chain: 'forward', action: 'drop', protocol: 'tcp', port: 10000 + i })),
    notifications: [
      { name: 'lan-hook', type: 'webhook', url: hookUrl, secret: 'hmac-key' },
      // Loopback only (no traffic leaves this machine); these two get test events only.
      { name: 'mail', type: 'smtp', host: '127.0.0.1', port: 587, from: 'router@example.org', to: ['admin@example.org'], username: 'router', password: 'pw', events: ['test'] },
      { name: 'phone', type: 'ntfy', url: hookUrl.replace('/linkward', '/ntfy/router-alerts'), events: ['test'] },
    ],
    metrics: { token: TOKEN },
  };
  process.env.LINKWARD_DB = web.db;
  const { saveConfig } = await import('../../lib/store/revisions');
  const saved = await saveConfig(doc, { author: 'e2e', source: 'import' });
  assert.ok(saved.ok, saved.ok ? '' : saved.errors.join('; '));
  // The real agent loop on a stateful fake kernel: it applies the revision, records facts and
  // answers the dashboard's requests ("send test", sent by the real notifier).
  db = openDb(web.db);
  const fake = new FakeSystem();
  fake.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  fake.addLink('wan1', { addresses: [{ address: '100.64.1.2', prefix: 24 }] });
  fake.addLink('wan2', { addresses: [{ address: '100.64.2.2', prefix: 24 }] });
  fake.addLink('wwan0', { addresses: [{ address: '10.64.1.2', prefix: 30 }] });
  const parsed = parseConfig(doc);
  assert.ok(parsed.ok);
  for (const k of Object.keys(compile(parsed.value, { interfaces: {}, health: {} }).sysctls)) fake.sysctls[k] = '0';
  // No periodic counter/resync ticks: they would overwrite the uplink rows written below.
  agent = new Agent({ db, runner: fake.runner, health: false, watchLinks: false, log: () => undefined, pollMs: 100, counterMs: 3600_000, resyncMs: 3600_000, connMs: 3600_000 });
  await agent.start();
  await agent.collectCounters(); // the rule counters (the fake kernel's nft counters) into the database
  // What the prober and the meter would have written (the fake has no probes): dsl degraded, lte metered.
  const store = new AgentStore(db);
  const now = Date.now();
  store.writeUplinks([
    { name: 'fiber', state: 'up', since: now - 3600_000, reason: '', address: '100.64.1.2', gateway: '100.64.1.1', latencyMs: 4.2, lossPct: 0, connections: 31, rxBytes: 9_000_000_000n, txBytes: 700_000_000n },
    { name: 'dsl', state: 'degraded', since: now - 95_000, reason: 'latency 312 ms > 200 ms (30 s window)', address: '100.64.2.2', gateway: '100.64.2.1', latencyMs: 311.8, lossPct: 1.5, connections: 6, rxBytes: 2_000_000_000n, txBytes: 300_000_000n },
    { name: 'lte', state: 'up', since: now - 7200_000, reason: 'backup (priority 2)', address: '10.64.1.2', gateway: '10.64.1.1', latencyMs: 48, lossPct: 0, connections: 0, rxBytes: 16_100_000_000n, txBytes: 500_000_000n },
  ]);
  db.prepare('INSERT OR REPLACE INTO MeterUsage (uplink, periodStart, bytes, lastRx, lastTx, notified, updatedAt) VALUES (?, ?, ?, 0, 0, 0.75, ?)').run('lte', now - 12 * 86400_000, 16_600_000_000, now);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await setupAdmin(page, web.url, 'admin', 'correct horse battery');
});

after(async () => {
  prom?.kill('SIGTERM');
  await browser?.close().catch(() => undefined);
  await agent?.stop().catch(() => undefined);
  db?.close();
  hook?.close();
  await web?.stop();
});

test('GET /metrics: 401 without the token, the exposition with it; a real Prometheus scrapes it', async () => {
  new AgentStore(db).heartbeat(process.pid);
  const no = await scrape();
  assert.equal(no.status, 401);
  assert.match(no.text, /bearer token/);
  assert.equal((await scrape('wrong')).status, 401);
  const ok = await scrape(TOKEN);
  assert.equal(ok.status, 200);
  assert.match(ok.text, /^linkward_uplink_state\{uplink="dsl",state="degraded"\} 1$/m);
  assert.match(ok.text, /^linkward_agent_up 1$/m);
  const dir = fs.mkdtempSync(path.join(web.dir, 'prom-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, scrape_timeout: 1s }',
    'scrape_configs:',
    '  - job_name: linkward',
    '    metrics_path: /metrics',
    `    authorization: { type: Bearer, credentials: ${TOKEN} }`,
    `    static_configs: [{ targets: ["127.0.0.1:${web.port}"] }]`,
    '',
  ].join('\n'));
  let log = '';
  prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout!.on('data', (d) => (log += d));
  prom.stderr!.on('data', (d) => (log += d));
  const q = async (expr: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const j = (await r.json()) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
    return j.data?.result ?? [];
  };
  const up = await waitFor(async () => (await q('up{job="linkward"}')).find((r) => r.value[1] === '1'), `Prometheus scraping /metrics (log: ${log.slice(-500)})`, 30_000, 500);
  assert.ok(up);
  const degraded = await q('linkward_uplink_state{state="degraded"} == 1');
  assert.deepEqual(degraded.map((r) => r.metric.uplink), ['dsl']);
  const rules = await q('count(linkward_rule_packets_total{kind="rule"})');
  assert.equal(rules[0]?.value[1], '40');
  const usage = await q('linkward_metered_usage_bytes / linkward_metered_cap_bytes');
  assert.equal(Number(usage[0]?.value[1]).toFixed(3), '0.830');
  const applied = await q('linkward_applied_revision');
  assert.ok(Number(applied[0]?.value[1]) >= 1);
  process.stdout.write(`# prometheus ${port}: up=1, ${rules[0]?.value[1]} rule series, lte usage ${usage[0]?.value[1]}\n`);
});

test('overview: the degraded uplink and the data cap gauge', async () => {
  await page.goto(`${web.url}/`);
  const dsl = page.getByTestId('uplink-card-dsl');
  await assert.doesNotReject(dsl.getByTestId('uplink-state').filter({ hasText: 'degraded' }).waitFor());
  await dsl.getByTestId('uplink-quality').waitFor();
  const gauge = page.getByTestId('uplink-card-lte').getByTestId('meter-gauge');
  assert.match((await gauge.textContent()) ?? '', /16\.60 GB of 20\.00 GB \(83 %\)/);
  assert.match((await gauge.textContent()) ?? '', /health probes ≈ 87\.1 MB\/month/);
  await shot(page, 'obs-01-overview-degraded-metered');
});

test('settings: channels with secrets shown as set, "send test" delivered by the agent', async () => {
  await page.goto(`${web.url}/settings`);
  const card = page.getByTestId('notifications-card');
  await card.scrollIntoViewIfNeeded();
  assert.match((await page.getByTestId('channel-mail').textContent()) ?? '', /password: set/);
  assert.match((await page.getByTestId('channel-phone').textContent()) ?? '', /token: not set/);
  const text = await page.locator('#ntf-json').inputValue();
  assert.ok(!text.includes('hmac-key') && !text.includes('"pw"') && text.includes('"set": true'), 'no secret in the form');
  const before = hookHits.length;
  await page.getByTestId('send-test-lan-hook').getByRole('button').click();
  const status = page.getByTestId('send-test-lan-hook').getByRole('status');
  await status.waitFor({ timeout: 30_000 });
  assert.match((await status.textContent()) ?? '', /sent to lan-hook \(webhook\): HTTP 200/);
  assert.equal(hookHits.length, before + 1);
  assert.equal((JSON.parse(hookHits.at(-1)!) as { event: string }).event, 'test');
  await card.screenshot({ path: path.join(path.dirname(await shot(page, 'obs-02-settings')), 'obs-02-notifications.png') });
  // A bad channel is refused with the field named; nothing stored.
  await page.locator('#ntf-json').fill('[{"name": "x", "type": "webhook", "url": "ftp://10.0.0.2/"}]');
  await page.getByRole('button', { name: 'Save channels' }).click();
  await page.getByTestId('notifications-result').filter({ hasText: 'notifications[0].url: only http:// and https:// URLs are allowed' }).waitFor();
  await card.screenshot({ path: path.join(path.dirname(await shot(page, 'obs-03-settings-error')), 'obs-03-notifications-error.png') });
});

test('packet tracer page: decision with counter, uplink and NAT', async () => {
  await page.goto(`${web.url}/explain`);
  await page.getByLabel('Destination').fill('203.0.113.80');
  await page.getByLabel('Port').fill('10005');
  await page.getByRole('button', { name: 'Explain' }).click();
  const decision = page.getByTestId('explain-decision');
  await decision.waitFor();
  assert.match((await decision.textContent()) ?? '', /drop by lw:rule:r5 in chain forward \(counter lw_r_r5\)/);
  await page.getByLabel('Port').fill('443');
  await page.getByRole('button', { name: 'Explain' }).click();
  await page.getByTestId('explain-uplink').filter({ hasText: 'weighted' }).waitFor();
  const up = (await page.getByTestId('explain-uplink').textContent()) ?? '';
  // dsl is degraded in the applied facts? No: the fake kernel's agent saw no prober (unknown):
  // the weighted pick is fiber 3 : dsl 1; lte is a backup tier.
  assert.match(up, /fiber 75 %, dsl 25 %/);
  assert.match(up, /lte: backup \(priority 2\)/);
  await shot(page, 'obs-04-explain');
});
