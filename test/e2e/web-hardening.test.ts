// Issue 12 ("Web") in a real browser against the built dashboard (temp database, no agent):
// every page checks the session itself (RSC replay with a bogus cookie), DNS-rebinding Host
// headers, oversized and parallel-burst logins, cross-origin server actions, and a CSP without
// 'unsafe-inline' for scripts (every page loaded, no violation).
// Host-header cases use node:http: Node's fetch drops a hand-set Host header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { startServer, launchBrowser, setupAdmin, shot, waitFor, type WebServer } from './helpers';
import { cli } from '../helpers/cli';

const USER = 'admin';
const PASS = 'e2e-password-123';

// Distinctive names and addresses: any of them in a response means configuration data leaked.
const CONFIG = {
  version: 1,
  lan: [{ name: 'zqlan', interface: 'lan0', address: '10.77.66.1/24' }],
  uplinks: [
    { name: 'zq-fiber', interface: 'wan1', gateway: '198.51.100.77' },
    { name: 'zq-cable', interface: 'wan2', gateway: '198.51.100.88' },
  ],
  services: [{ name: 'zq-ssh', protocol: 'tcp', port: 22, uplinks: ['zq-fiber'] }],
  portForwards: [{ name: 'zq-web', protocol: 'tcp', port: 8443, to: '10.77.66.50', toPort: 443 }],
  policies: [{ name: 'zq-voip', protocol: 'udp', port: 5060, uplink: 'zq-fiber' }],
  rules: [{ name: 'zq-no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23 }],
};
const MARKERS = ['zqlan', 'zq-fiber', 'zq-cable', 'zq-ssh', 'zq-web', 'zq-voip', 'zq-no-telnet', 'zq-allow-dns', '10.77.66', '198.51.100.77', '198.51.100.88', '203.0.113.66'];

let srv: WebServer;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let db: Database.Database;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers (Host included), via node:http. */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Raw> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers ?? {}, setHost: !(opts.headers && Object.keys(opts.headers).some((k) => k.toLowerCase() === 'host')) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const leaked = (body: string) => MARKERS.filter((m) => body.includes(m));

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  await setupAdmin(page, srv.url, USER, PASS);
  db = new Database(srv.db);
  db.pragma('busy_timeout = 5000');
  const r = cli(['import', '-'], { LINKWARD_DB: srv.db }, JSON.stringify(CONFIG));
  assert.equal(r.code, 0, r.stderr);
  const r2 = cli(['import', '-'], { LINKWARD_DB: srv.db }, JSON.stringify({ ...CONFIG, rules: [...CONFIG.rules, { name: 'zq-allow-dns', chain: 'forward', action: 'accept', protocol: 'udp', port: 53 }] }));
  assert.equal(r2.code, 0, r2.stderr);
  // Agent-written tables, so the connections, drops and bans pages show data too.
  const now = Date.now();
  db.prepare("INSERT INTO Connection (proto, src, dst, sport, dport, state, uplink, packets, bytes, ts) VALUES ('tcp', '10.77.66.20', '203.0.113.66', 40000, 443, 'ESTABLISHED', 'zq-fiber', 10, 1000, ?)").run(now);
  db.prepare("INSERT INTO DropLog (ts, chain, inIf, uplink, src, dst, proto, dport, count) VALUES (?, 'input', 'wan1', 'zq-fiber', '203.0.113.66', '198.51.100.2', 'tcp', 2300, 3)").run(now);
  db.prepare('INSERT INTO Ban (address, expiresAt, timeoutS, firstSeen, updatedAt) VALUES (?, ?, 600, ?, ?)').run('203.0.113.66', now + 600_000, now, now);
});

after(async () => {
  db?.close();
  await browser?.close();
  await srv?.stop();
});

interface Nav {
  path: string;
  request: { url: string; headers: Record<string, string> };
}

/** Click `link` and capture the client-side navigation's RSC request and its (signed-in) response. */
async function navigate(click: () => Promise<void>, urlPart: RegExp): Promise<Nav> {
  const isNav = (r: Request) => {
    const h = r.headers();
    return h['rsc'] === '1' && !h['next-router-prefetch'] && !h['next-router-segment-prefetch'] && urlPart.test(new URL(r.url()).pathname + new URL(r.url()).search);
  };
  const reqP = page.waitForRequest(isNav, { timeout: 15_000 });
  await click();
  const req = await reqP;
  const headers = await req.allHeaders();
  await page.waitForLoadState('networkidle').catch(() => {});
  return { path: new URL(req.url()).pathname, request: { url: req.url(), headers } };
}

test('every dashboard page checks the session itself: a replayed RSC navigation with a bogus cookie returns no configuration', async () => {
  await page.goto(`${srv.url}/settings`);
  const navs: Nav[] = [];
  const items: [string, RegExp][] = [
    ['Overview', /^\/(\?|$)/],
    ['Uplinks', /^\/uplinks/],
    ['LAN', /^\/lan/],
    ['Firewall rules', /^\/rules/],
    ['Services', /^\/services/],
    ['Port forwards', /^\/port-forwards/],
    ['Policies', /^\/policies/],
    ['Connections', /^\/connections/],
    ['Dropped traffic', /^\/drops/],
    ['Bans', /^\/bans/],
    ['Audit log', /^\/audit/],
    ['Settings', /^\/settings/],
    ['History', /^\/history(\?|$)/],
  ];
  for (const [label, re] of items) {
    navs.push(await navigate(() => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click(), re));
  }
  navs.push(await navigate(() => page.getByRole('link', { name: 'View revision 2' }).click(), /^\/history\/2/));
  navs.push(await navigate(() => page.getByRole('link', { name: 'Compare with r1' }).click(), /^\/history\/diff/));
  assert.equal(new Set(navs.map((n) => n.path)).size, 15, `pages: ${navs.map((n) => n.path).join(' ')}`);

  const problems: string[] = [];
  for (const n of navs) {
    const headers = { ...n.request.headers };
    for (const k of Object.keys(headers)) if (k.startsWith(':') || k === 'accept-encoding') delete headers[k];
    assert.match(headers.cookie ?? '', /lw_session=/, `${n.path}: the browser sent its session`);
    // The same request with the real session carries configuration data (so its absence below means something).
    const signedIn = await raw(n.request.url, { headers });
    assert.ok(leaked(signedIn.body).length > 0, `${n.path}: signed-in RSC response has no marker (${signedIn.status})`);
    headers.cookie = 'lw_session=' + 'A'.repeat(43);
    const r = await raw(n.request.url, { headers });
    const l = leaked(r.body);
    if (l.length) problems.push(`${n.path} (${r.status}): ${l.join(', ')}`);
    // What it gets instead: the page's own session check sends it to the sign-in page.
    else if (!/NEXT_REDIRECT;\w+;\/login;/.test(r.body)) problems.push(`${n.path} (${r.status}): no redirect to /login`);
  }
  assert.deepEqual(problems, [], 'pages that returned configuration data to a bogus session');
});
