// Browser E2E on the real path: the built dashboard, real SQLite, and — in the lab's router
// namespace — the real agent programming the real kernel. Traffic is generated in the lab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { startServer, launchBrowser, setupAdmin, logout, shot, waitFor, type WebServer, stopChild } from './helpers';
import { setupLab, type LabEnv } from '../helpers/lab';
import { cli, BIN } from '../helpers/cli';
import { withNetns, realRunner } from '../../agent/system/runner';
import { tcpWhoAmIMany } from '../../lab/lab';

let L: LabEnv;
let srv: WebServer;
let browser: Browser;
let page: Page;
let agent: ChildProcess;
let db: Database.Database;

const applied = () => (db.prepare('SELECT appliedRevision FROM AgentState WHERE id = 1').get() as { appliedRevision: number | null } | undefined)?.appliedRevision ?? null;
const desired = () => (db.prepare('SELECT MAX(id) AS m FROM Revision').get() as { m: number }).m;

before(async () => {
  L = await setupLab('e2', 2);
  const r = cli(['import', L.lab.configPath], L.env);
  assert.equal(r.code, 0, r.stderr);
  agent = spawn('ip', ['netns', 'exec', L.lab.namespaces.router, process.execPath, BIN, 'agent'], { env: { ...process.env, ...L.env, LINKWARD_DEMO_LAB: L.prefix }, stdio: 'ignore' });
  srv = await startServer({ db: L.dbFile, env: { LINKWARD_DEMO: '1' } });
  db = new Database(L.dbFile, { readonly: true });
  db.pragma('busy_timeout = 5000');
  await waitFor(() => applied() === 1, 'agent applied revision 1', 30000);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  await stopChild(agent);
  db?.close();
  await L?.cleanup();
});

test('admin creates an account and sees live uplinks reported by the agent', async () => {
  await setupAdmin(page, srv.url, 'admin', 'lab-e2e-password');
  for (const name of ['isp1', 'isp2']) {
    await page.getByTestId(`uplink-card-${name}`).getByTestId('uplink-state').getByText('up').waitFor({ timeout: 20000 });
  }
  await page.getByTestId('status-bar').getByText(/Revision 1 applied/).waitFor({ timeout: 10000 });
  await shot(page, 'lab-01-overview');
});

test('a rule added in the browser is applied and its counter rises with real traffic', async () => {
  await page.goto(`${srv.url}/rules?add=1`);
  await page.getByLabel('Name').fill('count-udp');
  await page.getByLabel('Chain').selectOption('forward');
  await page.getByTestId('item-form').getByLabel('Action', { exact: true }).selectOption('accept');
  await page.getByLabel('Protocol').selectOption('udp');
  await page.getByLabel('Destination port').fill('9');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByText(/Saved as revision/).waitFor();
  const rev = desired();
  await waitFor(() => applied() === rev, `agent applied revision ${rev}`, 20000);
  const list = (await withNetns(realRunner, L.lab.namespaces.router).run(['nft', 'list', 'chain', 'inet', 'linkward', 'forward'])).stdout;
  assert.match(list, /udp dport 9 counter name "lw_r_count_udp" accept comment "lw:rule:count-udp"/);
  await page.goto(`${srv.url}/rules`);
  const row = page.getByTestId('rules-table').locator('tr[data-name="count-udp"]');
  await row.getByText('never matched').waitFor({ timeout: 10000 });
  await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
  // 7 datagrams LAN host → Internet, udp/9: exactly this rule counts them.
  await withNetns(realRunner, L.lab.namespaces.lan).run([process.execPath, '-e', "const s=require('dgram').createSocket('udp4');let n=0;const t=()=>s.send('x',9,'203.0.113.80',()=>{if(++n<7)t();else s.close()});t();"]);
  await waitFor(async () => (await row.getByTestId('counter').getAttribute('data-packets')) === '7', 'live counter shows 7 packets', 15000);
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, 'no full page reload');
  await shot(page, 'lab-02-rules-live');
});

test('disabling an uplink in the browser: reported disabled, and traffic avoids it', async () => {
  await page.goto(`${srv.url}/`);
  const card = page.getByTestId('uplink-card-isp2');
  await card.getByRole('button', { name: 'Disable isp2' }).click();
  const rev = await waitFor(() => (desired() > 2 ? desired() : 0), 'new revision');
  await waitFor(() => applied() === rev, `agent applied revision ${rev}`, 20000);
  await card.getByTestId('uplink-state').getByText('disabled').waitFor({ timeout: 10000 });
  const res = await tcpWhoAmIMany(L.prefix, 'lan', '203.0.113.80', 80, 40);
  assert.deepEqual([...new Set(res.map((x) => x?.ip))], ['100.64.1.2'], 'all 40 new connections left via isp1');
  await shot(page, 'lab-03-overview-isp2-disabled');
  await card.getByRole('button', { name: 'Enable isp2' }).click();
  await waitFor(() => applied() === desired() && desired() > rev, 'enable applied', 20000);
});

test('logout ends the session; pages and the counters API refuse afterwards', async () => {
  const cookies = await page.context().cookies();
  await logout(page, srv.url);
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const api = await fetch(`${srv.url}/api/counters`, { headers: { cookie } });
  assert.equal(api.status, 401, 'old session cookie refused');
  const pageResp = await fetch(`${srv.url}/rules`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(pageResp.status, 307);
});
