// Issue 8 in the browser (built dashboard, temp database, playwright-core + chromium): review
// before saving (summary + plan diff, lockout refused), apply with confirmation and the browser's
// auto-confirmation once the agent reports the apply, history (compare, restore), audit filter +
// CSV export, drops page (summary, Allow… pre-fills a rule), bans page (unban request).
// Agent-written state (AgentState, DropLog, Ban) is written directly ("simulated agent"); the real
// agent side is covered by test/integration/safe-*.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { startServer, launchBrowser, setupAdmin, shot, waitFor, type WebServer } from './helpers';
import { cli } from '../helpers/cli';

const USER = 'admin';
const PASS = 'e2e-password-123';
let srv: WebServer;
let browser: Browser;
let page: Page;
let db: Database.Database;

const base = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }],
};
const maxRev = () => (db.prepare('SELECT MAX(id) FROM Revision').pluck().get() as number | null) ?? 0;

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await setupAdmin(page, srv.url, USER, PASS);
  db = new Database(srv.db);
  db.pragma('busy_timeout = 5000');
  const r = cli(['import', '-'], { LINKWARD_DB: srv.db }, JSON.stringify(base));
  assert.equal(r.code, 0, r.stderr);
  // Facts as the agent would report them, so the plan diff has addresses and routes.
  db.prepare("INSERT OR IGNORE INTO AgentState (id, facts) VALUES (1, '{}')").run();
  db.prepare('UPDATE AgentState SET appliedRevision = 1, facts = ? WHERE id = 1').run(JSON.stringify({
    interfaces: {
      lan0: { name: 'lan0', exists: true, up: true, carrier: true, addresses: [{ address: '192.168.1.1', prefix: 24 }] },
      wan1: { name: 'wan1', exists: true, up: true, carrier: true, addresses: [{ address: '100.64.1.2', prefix: 24 }], gateway: '100.64.1.1' },
    },
    health: {},
  }));
});

after(async () => {
  db?.close();
  await browser?.close();
  await srv?.stop();
});

async function fillRule(name: string, chain: string, action: string, proto: string, port?: string) {
  await page.goto(`${srv.url}/rules?add=1`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Chain').selectOption(chain);
  await page.getByTestId('item-form').getByLabel('Action', { exact: true }).selectOption(action);
  await page.getByLabel('Protocol').selectOption(proto);
  if (port) await page.getByLabel('Destination port').fill(port);
}

test('review before saving: a lockout is refused with the explanation, nothing stored', async () => {
  const before = maxRev();
  await fillRule('block-all', 'input', 'drop', 'any');
  await page.getByRole('button', { name: 'Review change' }).click();
  await page.getByText('would block the dashboard (tcp 3000) from the LAN; set firewall.allowLockout to override').waitFor();
  await shot(page, 'safe-01-review-lockout');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByText('Not saved').first().waitFor();
  assert.equal(maxRev(), before);
});

test('review shows summary and plan diff; apply with confirmation; the browser confirms after the apply', async () => {
  await fillRule('no-telnet', 'forward', 'drop', 'tcp', '23');
  const before = maxRev();
  await page.getByRole('button', { name: 'Review change' }).click();
  assert.equal((await page.getByTestId('review-summary').textContent())?.trim(), 'adds rule no-telnet');
  await page.getByTestId('review-plan').getByText('tcp dport 23 counter name "lw_r_no_telnet" drop').waitFor();
  assert.equal(maxRev(), before, 'review stores nothing');
  await page.getByLabel('Apply with confirmation').check();
  await page.getByLabel('Roll back unless confirmed within').fill('60');
  // Off by default: this browser confirms only what it submitted with this ticked.
  const auto = page.getByLabel('Confirm automatically if this browser can still reach the dashboard');
  assert.equal(await auto.isChecked(), false, 'auto-confirm is off by default');
  await auto.check();
  await shot(page, 'safe-02-review-confirm');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.waitForURL(/\/rules\?saved=\d+/);
  const rev = maxRev();
  assert.equal(rev, before + 1);
  const row = db.prepare('SELECT author, source, confirmWithin, confirmedAt FROM Revision WHERE id = ?').get(rev) as { author: string; source: string; confirmWithin: number; confirmedAt: number | null };
  assert.deepEqual(row, { author: USER, source: 'ui', confirmWithin: 60, confirmedAt: null });
  await page.getByTestId('confirm-banner').getByText('waiting for the agent to apply it').waitFor();
  // Not applied yet: the browser must not confirm.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(rev), null, 'no confirmation before the apply');
  // The (simulated) agent applies it and starts the window.
  db.prepare('UPDATE AgentState SET appliedRevision = ?, pendingConfirm = ?, confirmDeadline = ? WHERE id = 1').run(rev, rev, Date.now() + 60000);
  await page.getByTestId('confirm-done').waitFor({ timeout: 10000 });
  const confirmedAt = db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(rev) as number | null;
  assert.ok(confirmedAt && confirmedAt > 0, 'confirmed by the browser');
  assert.equal(db.prepare("SELECT actor FROM AuditLog WHERE action = 'config.confirm' ORDER BY id DESC").pluck().get(), USER);
  await shot(page, 'safe-03-auto-confirmed');
});

test('the banner confirms manually when auto-confirm is off', async () => {
  await page.goto(`${srv.url}/settings`);
  await page.getByLabel('Log at most (per minute)').fill('30');
  await page.getByTestId('settings-form').getByLabel('Apply with confirmation').check();
  await page.getByTestId('settings-form').getByLabel('Confirm automatically if this browser can still reach the dashboard').uncheck();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText(/Saved as revision \d+/).waitFor();
  const rev = maxRev();
  db.prepare('UPDATE AgentState SET appliedRevision = ?, pendingConfirm = ?, confirmDeadline = ? WHERE id = 1').run(rev, rev, Date.now() + 120000);
  await page.getByTestId('confirm-left').waitFor();
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(rev), null, 'no auto-confirmation');
  await shot(page, 'safe-04-banner');
  await page.getByRole('button', { name: `Confirm revision ${rev}` }).click();
  await waitFor(() => db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(rev), 'manual confirmation');
});

test('history: compare two revisions (summary, plan diff), restore an old one', async () => {
  await page.goto(`${srv.url}/history`);
  await page.getByTestId('history-table').waitFor();
  await page.getByLabel('From revision').selectOption('1');
  await page.getByLabel('To revision').selectOption('2');
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL(/\/history\/diff\?a=1&b=2/);
  assert.equal((await page.getByTestId('diff-summary').textContent())?.trim(), 'adds rule no-telnet');
  await page.getByTestId('plan-diff').getByText('tcp dport 23 counter name "lw_r_no_telnet" drop').waitFor();
  await shot(page, 'safe-05-diff');
  await page.goto(`${srv.url}/history`);
  const before = maxRev();
  // Restore asks first: opening it stores nothing; the confirmation button restores.
  await page.getByTestId('restore-1').locator('summary').click();
  await page.getByText('Restore revision r1?').waitFor();
  assert.equal(maxRev(), before, 'opening Restore stores nothing');
  await page.getByRole('button', { name: 'Restore r1' }).click();
  await page.waitForURL(/\/history\?restored=\d+/);
  const row = db.prepare('SELECT id, source, author, summary FROM Revision ORDER BY id DESC LIMIT 1').get() as { id: number; source: string; author: string; summary: string };
  assert.equal(row.id, before + 1);
  assert.equal(row.source, 'restore');
  assert.equal(row.author, USER);
  assert.match(row.summary, /^restores revision 1: removes rule no-telnet; changes firewall settings/);
  await page.getByTestId('history-table').locator(`tr[data-rev="${row.id}"]`).getByText('restore', { exact: true }).waitFor();
  await shot(page, 'safe-06-history');
});

test('audit: filter by action and export CSV', async () => {
  await page.goto(`${srv.url}/audit`);
  await page.getByLabel('Action').selectOption('config.confirm');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/action=config\.confirm/);
  const rows = await page.getByTestId('audit-table').locator('tbody tr').count();
  assert.equal(rows, 2, 'two confirmations');
  await shot(page, 'safe-07-audit');
  const csv = await page.request.get(`${srv.url}/api/audit?format=csv&action=config.save`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);
  const text = await csv.text();
  assert.match(text, /^id,time,actor,action,detail\r\n/);
  assert.ok(text.split('\r\n').filter((l) => l.includes('"config.save"')).length >= 4);
  assert.ok(!text.includes('"login"'), 'filtered');
  const anon = await fetch(`${srv.url}/api/audit?format=json`);
  assert.equal(anon.status, 401);
});

test('drops: summary and Allow… pre-fills an allow rule', async () => {
  const now = Date.now();
  const ins = db.prepare('INSERT INTO DropLog (ts, chain, inIf, uplink, src, dst, proto, dport, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  ins.run(now - 5000, 'input', 'wan1', 'isp1', '198.51.100.7', '100.64.1.2', 'tcp', 2222, 12);
  ins.run(now - 4000, 'input', 'wan1', 'isp1', '198.51.100.8', '100.64.1.2', 'udp', 161, 3);
  await page.goto(`${srv.url}/drops`);
  assert.equal((await page.getByTestId('drops-total').textContent())?.trim(), '15');
  await page.getByTestId('top-sources').getByText('198.51.100.7').waitFor();
  await shot(page, 'safe-08-drops');
  await page.getByRole('link', { name: 'Allow tcp 2222 from 198.51.100.7' }).click();
  await page.waitForURL(/\/rules\?add=1&fromDrop=\d+/);
  assert.equal(await page.getByLabel('Name').inputValue(), 'allow-tcp-2222');
  assert.equal(await page.getByLabel('Source network').inputValue(), '198.51.100.7/32');
  assert.equal(await page.getByLabel('Destination port').inputValue(), '2222');
  assert.equal(await page.getByTestId('item-form').getByLabel('Action', { exact: true }).inputValue(), 'accept');
  await page.getByRole('button', { name: 'Review change' }).click();
  assert.equal((await page.getByTestId('review-summary').textContent())?.trim(), 'adds rule allow-tcp-2222');
});

test('log: the active source is said; packets of a logged rule (NFLOG) with rule, ports, top rules and a rule filter', async () => {
  await page.goto(`${srv.url}/drops`);
  assert.equal(await page.getByTestId('log-backend').getAttribute('data-backend'), 'sets', 'no nflog in the facts: kernel counters');
  await page.getByTestId('log-backend').getByText('Source: kernel drop counters.').waitFor();
  const facts = JSON.parse(db.prepare('SELECT facts FROM AgentState WHERE id = 1').pluck().get() as string);
  db.prepare('UPDATE AgentState SET facts = ? WHERE id = 1').run(JSON.stringify({ ...facts, nflog: true }));
  db.prepare("INSERT INTO Event (ts, type, uplink, message) VALUES (?, 'log', NULL, ?)").run(Date.now(), 'packet log: NFLOG via ulogd2: ulogd2 reads NFLOG group 7373');
  const ins = db.prepare("INSERT INTO DropLog (ts, chain, inIf, outIf, uplink, src, dst, proto, sport, dport, count, rule, verdict, via, len) VALUES (?, 'input', 'wan1', NULL, 'isp1', ?, '100.64.1.2', 'tcp', ?, 22, 1, 'log-ssh', 'accept', 'nflog', 60)");
  for (let i = 0; i < 3; i++) ins.run(Date.now() - 1000 + i, '203.0.113.50', 40000 + i);
  await page.goto(`${srv.url}/drops`);
  assert.equal(await page.getByTestId('log-backend').getAttribute('data-backend'), 'nflog');
  await page.getByTestId('log-backend-detail').getByText(/ulogd2 reads NFLOG group 7373/).waitFor();
  await page.getByTestId('top-rules').getByText('log-ssh').waitFor();
  const row = page.getByTestId('drops-table').locator('tr[data-rule="log-ssh"]').first();
  await row.getByText('203.0.113.50:40002').waitFor();
  await row.getByText('100.64.1.2:22').waitFor();
  assert.equal(await row.getByRole('link', { name: /^Allow/ }).count(), 0, 'an accepted packet offers no allow rule');
  await shot(page, 'safe-08b-log');
  await page.getByTestId('top-rules').getByRole('link', { name: 'log-ssh' }).click();
  await page.waitForURL(/\/drops\?rule=log-ssh/);
  const rules = await page.getByTestId('drops-table').locator('tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-rule')));
  assert.deepEqual(rules, ['log-ssh', 'log-ssh', 'log-ssh']);
});

test('bans: listed with remaining time; Unban files an agent request', async () => {
  db.prepare('INSERT INTO Ban (address, expiresAt, timeoutS, firstSeen, updatedAt) VALUES (?, ?, 600, ?, ?)').run('198.51.100.9', Date.now() + 300000, Date.now(), Date.now());
  await page.goto(`${srv.url}/bans`);
  await page.getByTestId('bans-table').getByText('198.51.100.9').waitFor();
  await shot(page, 'safe-09-bans');
  await page.getByRole('button', { name: 'Unban 198.51.100.9' }).click();
  await page.waitForURL(/\/bans\?requested=/);
  const req = db.prepare("SELECT type, args FROM AgentRequest ORDER BY id DESC LIMIT 1").get() as { type: string; args: string };
  assert.deepEqual(req, { type: 'unban', args: JSON.stringify({ address: '198.51.100.9' }) });
});
