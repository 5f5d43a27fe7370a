// Issue 12 ("Web") in a real browser against the built dashboard (temp database, no agent):
// every page checks the session itself (RSC replay with a bogus cookie), DNS-rebinding Host
// headers, oversized and parallel-burst logins, cross-origin server actions, and a CSP without
// 'unsafe-inline' for scripts (every page loaded, no violation).
// Host-header cases use node:http: Node's fetch drops a hand-set Host header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
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
  db.prepare("INSERT INTO Connection (id, proto, src, dst, sport, dport, state, uplink, host, packets, bytes, firstSeen, ts) VALUES (1, 'tcp', '10.77.66.20', '203.0.113.66', 40000, 443, 'ESTABLISHED', 'zq-fiber', '10.77.66.20', 10, 1000, ?, ?)").run(now, now);
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
    ['Log', /^\/drops/],
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

/** A login server-action request as the browser sends it, captured and never delivered. */
async function captureLogin(): Promise<{ url: string; headers: Record<string, string>; body: string }> {
  const c = await browser.newContext();
  const p = await c.newPage();
  try {
    let got: { url: string; headers: Record<string, string>; body: string } | null = null;
    await p.route('**/login', async (route) => {
      const r = route.request();
      if (r.method() === 'POST' && r.headers()['next-action']) {
        got = { url: r.url(), headers: await r.allHeaders(), body: r.postData() ?? '' };
        return route.abort();
      }
      return route.continue();
    });
    await p.goto(`${srv.url}/login`);
    await p.getByLabel('Username').fill(USER);
    await p.getByLabel('Password').fill('WRONG-PASSWORD-MARK');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await waitFor(() => got, 'the captured sign-in request');
    const g = got!;
    for (const k of Object.keys(g.headers)) if (k.startsWith(':') || k === 'accept-encoding' || k === 'content-length' || k === 'cookie') delete g.headers[k];
    assert.match(g.body, /name="[^"]*_username"\r\n\r\nadmin\r\n/, `multipart body with the username field: ${JSON.stringify(g.body.slice(0, 800))}`);
    return g;
  } finally {
    await c.close();
  }
}

const withUsername = (body: string, name: string) => body.replace(/(name="[^"]*_username"\r\n\r\n)admin(\r\n)/, (_m, a, b) => `${a}${name}${b}`);
const count = (sql: string) => db.prepare(sql).pluck().get() as number;
const dbBytes = () => ['', '-wal'].reduce((n, s) => n + (fs.existsSync(srv.db + s) ? fs.statSync(srv.db + s).size : 0), 0);

test('DNS rebinding: a foreign Host name gets 421 on the dashboard and on setup; known names are served', async () => {
  const port = srv.port;
  const cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  // Signed in, but through a name that is not ours (what a rebinding page's fetch sends).
  for (const path of ['/', '/rules', '/api/export', '/api/status']) {
    const r = await raw(`${srv.url}${path}`, { headers: { host: `evil.example:${port}`, cookie } });
    assert.equal(r.status, 421, `${path} via evil.example`);
    assert.deepEqual(leaked(r.body), []);
    assert.match(r.body, /does not answer to the host name "evil\.example"/);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    const r = await raw(`${srv.url}/api/export`, { headers: { host, cookie } });
    assert.equal(r.status, 200, host);
    assert.ok(leaked(r.body).length > 0, `${host}: the real answer`);
  }
  // First-run setup on a fresh server: a LAN browser tricked into evil.example (resolving to the
  // router) would create the administrator; a real browser whose resolver maps the name here:
  const fresh = await startServer({ env: { LINKWARD_HOSTNAMES: 'router.test' } });
  const b2 = await (await import('playwright-core')).chromium.launch({
    executablePath: process.env.LINKWARD_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP evil.example 127.0.0.1, MAP router.test 127.0.0.1'],
  });
  try {
    const p = await b2.newPage();
    const evil = await p.goto(`http://evil.example:${fresh.port}/setup`);
    assert.equal(evil?.status(), 421);
    assert.equal(await p.getByLabel('Username').count(), 0, 'no setup form');
    await shot(p, 'sec-01-rebinding-421');
    // The form's POST from that origin (same-origin for the browser) is refused the same way.
    const post = await raw(`${fresh.url}/setup`, {
      method: 'POST',
      headers: { host: `evil.example:${fresh.port}`, origin: `http://evil.example:${fresh.port}`, 'content-type': 'text/plain;charset=UTF-8', 'next-action': 'x'.repeat(42) },
      body: '[]',
    });
    assert.equal(post.status, 421);
    // A configured name works (and the browser on loopback needs no token).
    const ok = await p.goto(`http://router.test:${fresh.port}/setup`);
    assert.equal(ok?.status(), 200);
    await p.getByLabel('Username').waitFor();
    assert.equal(await p.getByLabel('Setup token').count(), 0);
    const fdb = new Database(fresh.db, { readonly: true });
    assert.equal(fdb.prepare('SELECT COUNT(*) FROM User').pluck().get(), 0, 'no administrator was created');
    fdb.close();
  } finally {
    await b2.close();
    await fresh.stop();
  }
});

test('Content-Security-Policy without unsafe-inline for scripts: every page loads with no violation', async () => {
  const pages = ['/', '/uplinks', '/uplinks?edit=zq-fiber', '/lan', '/rules', '/rules?add=1', '/services', '/port-forwards', '/policies', '/connections', '/drops', '/bans', '/history', '/history/2', '/history/diff?a=1&b=2', '/audit', '/settings', '/no-such-page'];
  const violations: string[] = [];
  const consoleErrors: string[] = [];
  const watch = async (p: Page) => {
    await p.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const w = window as unknown as { __csp?: string[] };
        (w.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  };
  const p = await ctx.newPage();
  await watch(p);
  let loaded = 0;
  for (const path of pages) {
    const resp = await p.goto(`${srv.url}${path}`);
    const csp = resp?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/, `${path}: ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    await p.waitForLoadState('networkidle').catch(() => {});
    // Next put the nonce on its inline scripts, and React hydrated (a client component rendered).
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    const scripts = await p.evaluate(() => [...document.querySelectorAll('script')].map((s) => s.nonce || ''));
    assert.ok(scripts.length > 0 && scripts.every((n) => n === nonce), `${path}: every script carries this response's nonce`);
    violations.push(...((await p.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])) as string[]).map((v) => `${path}: ${v}`));
    loaded++;
  }
  // Client-side navigations (scripts and styles inserted at run time) and the review diff.
  await p.goto(`${srv.url}/settings`);
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Firewall rules', exact: true }).click();
  await p.getByRole('heading', { name: 'Firewall rules' }).waitFor();
  await p.getByRole('link', { name: 'Add rule' }).click();
  await p.getByLabel('Name').fill('zq-csp-check');
  await p.getByRole('button', { name: 'Review change' }).click();
  await p.getByTestId('review-summary').waitFor();
  await shot(p, 'sec-02-review-under-csp');
  violations.push(...((await p.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])) as string[]).map((v) => `rules review: ${v}`));
  // Styles work: Tailwind's stylesheet applied (the primary button is not unstyled).
  const bg = await p.getByRole('button', { name: 'Add rule' }).evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'the stylesheet applies');
  // Signed out: the sign-in page too.
  const c2 = await browser.newContext();
  const p2 = await c2.newPage();
  await watch(p2);
  await p2.goto(`${srv.url}/login`);
  await p2.getByLabel('Username').waitFor();
  violations.push(...((await p2.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])) as string[]).map((v) => `login: ${v}`));
  await shot(p2, 'sec-03-login-under-csp');
  await c2.close();
  await p.close();
  console.log(`# CSP: ${loaded + 1} pages loaded (+ navigation and review), ${violations.length} violations, ${consoleErrors.filter((e) => /Content Security Policy/i.test(e)).length} CSP console errors`);
  assert.deepEqual(violations, []);
  assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)), []);
});

test('a cross-origin server action is refused: a form on another origin posting with the session cookie', async () => {
  // Capture a real toggle request (its action id and body) from the signed-in browser.
  await page.goto(`${srv.url}/rules`);
  const captured = page.waitForRequest((r) => r.method() === 'POST' && !!r.headers()['next-action']);
  const r0 = count('SELECT MAX(id) FROM Revision');
  await page.getByRole('button', { name: 'Disable zq-allow-dns' }).click();
  const req = await captured;
  await waitFor(() => count('SELECT MAX(id) FROM Revision') === r0 + 1, 'the toggle by the browser');
  const actionId = req.headers()['next-action'];
  // The attacker's page: same host, another port (same *site*, so even SameSite=Strict cookies go
  // along), a plain HTML form (no CORS preflight) posting the action to the dashboard.
  const evil = http.createServer((_q, s) => {
    s.setHeader('content-type', 'text/html');
    s.end(`<form id="f" method="post" enctype="multipart/form-data" action="${srv.url}/rules">
      <input name="$ACTION_ID_${actionId}" value=""><input name="section" value="rules"><input name="name" value="zq-allow-dns">
      <input name="enabled" value="false"><input name="baseRevision" value="${r0 + 1}"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  try {
    const ep = await ctx.newPage();
    const resp = ep.waitForResponse((r) => r.url().startsWith(`${srv.url}/rules`) && r.request().method() === 'POST');
    await ep.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
    const r = await resp;
    assert.equal(r.request().headers()['origin'], `http://127.0.0.1:${(evil.address() as { port: number }).port}`);
    assert.match(r.request().headers()['cookie'] ?? (await r.request().allHeaders())['cookie'] ?? '', /lw_session=/, 'the cookie went along');
    assert.equal(r.status(), 403);
    await ep.close();
  } finally {
    evil.close();
  }
  assert.equal(count('SELECT MAX(id) FROM Revision'), r0 + 1, 'nothing stored');
  // Control: the same request from the dashboard's own page, on the current revision, is accepted.
  const body = (req.postData() ?? '').replace(/(baseRevision"\r\n\r\n)\d+/, `$1${r0 + 1}`).replace(/(enabled"\r\n\r\n)false/, '$1true');
  const headers = { ...(await req.allHeaders()) };
  for (const k of Object.keys(headers)) if (k.startsWith(':') || ['cookie', 'content-length', 'origin', 'host', 'accept-encoding', 'referer', 'user-agent', 'connection'].includes(k)) delete headers[k];
  const status = await page.evaluate(async ({ url, headers, body }) => (await fetch(url, { method: 'POST', headers, body })).status, { url: `${srv.url}/rules`, headers, body });
  assert.equal(status, 200);
  await waitFor(() => count('SELECT MAX(id) FROM Revision') === r0 + 2, 'the same-origin request stores a revision');
});

test('auto-confirm only for the revision this browser submitted (and off unless ticked)', async () => {
  const maxRev = () => count('SELECT MAX(id) FROM Revision');
  db.prepare("INSERT OR IGNORE INTO AgentState (id, facts) VALUES (1, '{}')").run();
  // This browser stores a commit-confirmed revision with auto-confirm ticked...
  await page.goto(`${srv.url}/settings`);
  await page.getByLabel('Log at most (per minute)').fill('77');
  const form = page.getByTestId('settings-form');
  await form.getByLabel('Apply with confirmation').check();
  await form.getByLabel('Confirm automatically if this browser can still reach the dashboard').check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText(/Saved as revision \d+/).waitFor();
  const mine = maxRev();
  // ...then someone else stores another one (the CLI), and the agent applies that one.
  const r = cli(['import', '-', '--confirm-within', '120'], { LINKWARD_DB: srv.db }, JSON.stringify({ ...CONFIG, firewall: { logRatePerMinute: 88 } }));
  assert.equal(r.code, 0, r.stderr);
  const other = maxRev();
  assert.equal(other, mine + 1);
  db.prepare('UPDATE AgentState SET appliedRevision = ?, pendingConfirm = ?, confirmDeadline = ? WHERE id = 1').run(other, other, Date.now() + 120_000);
  await page.getByTestId('confirm-left').waitFor();
  await new Promise((res) => setTimeout(res, 5000)); // two polls of the banner
  assert.equal(db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(other), null, 'not confirmed by a browser that did not submit it');
  const api = await page.evaluate(async () => (await (await fetch('/api/confirm')).json()) as { autoConfirm: boolean; pending: { revision: number } });
  assert.deepEqual([api.pending.revision, api.autoConfirm], [other, false]);
  await shot(page, 'sec-04-not-auto-confirmed');
  await page.getByRole('button', { name: `Confirm revision ${other}` }).click();
  await waitFor(() => db.prepare('SELECT confirmedAt FROM Revision WHERE id = ?').pluck().get(other), 'manual confirmation');
  db.prepare('UPDATE AgentState SET pendingConfirm = NULL, confirmDeadline = NULL WHERE id = 1').run();
});

test('a stored revision that no longer validates: the dashboard says so and a save still works', async () => {
  const valid = count('SELECT MAX(id) FROM Revision');
  const bad = JSON.stringify({ ...CONFIG, uplinks: [{ ...CONFIG.uplinks[0], weight: 500 }, CONFIG.uplinks[1]] });
  const invalid = Number(db.prepare("INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, 'old-version', 'ui', 'stored by an older version', ?)").run(Date.now(), bad).lastInsertRowid);
  await page.goto(`${srv.url}/settings`);
  const msg = page.getByTestId('invalid-revision');
  await msg.waitFor();
  assert.match((await msg.textContent()) ?? '', new RegExp(`revision ${invalid} no longer validates with this version \\(uplinks\\[0\\]\\.weight[^)]*\\): the dashboard shows and changes revision ${valid}`));
  await shot(page, 'sec-05-invalid-revision');
  await page.getByLabel('Log at most (per minute)').fill('99');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText(`Saved as revision ${invalid + 1}.`).waitFor();
  const saved = JSON.parse(db.prepare('SELECT config FROM Revision WHERE id = ?').pluck().get(invalid + 1) as string);
  assert.equal(saved.firewall.logRatePerMinute, 99);
  assert.equal(saved.uplinks[0].weight, 1, 'based on the newest valid revision');
  await page.reload();
  assert.equal(await page.getByTestId('invalid-revision').count(), 0, 'a valid revision is the newest again');
});

test('1 MB usernames ×1000 are refused before any work: the database does not grow', async () => {
  const login = await captureLogin();
  const before = { bytes: dbBytes(), audit: count('SELECT COUNT(*) FROM AuditLog'), throttle: count('SELECT COUNT(*) FROM AuthThrottle') };
  const huge = withUsername(login.body, 'a'.repeat(1024 * 1024));
  assert.ok(huge.length > 1024 * 1024);
  const post = (path: string, body: string, extra: Record<string, string> = {}) =>
    raw(`${srv.url}${path}`, { method: 'POST', headers: { ...login.headers, ...extra, 'content-length': String(Buffer.byteLength(body)) }, body }).catch((e) => ({ status: -1, headers: {}, body: String(e) }) as Raw);
  const statuses = new Map<number, number>();
  const t0 = Date.now();
  for (let i = 0; i < 1000; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => post('/login', huge)));
    for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  }
  const floodMs = Date.now() - t0;
  assert.deepEqual([...statuses], [[413, 1000]], 'every one refused by its Content-Length');
  // Under the body limit, a long username is refused by the form's own size check: no lookup,
  // no hash, no row.
  const long = await post('/login', withUsername(login.body, 'b'.repeat(4000)));
  assert.equal(long.status, 200);
  assert.match(long.body, /at most 64 characters/);
  // The same through another page with a (bogus) cookie, where 8 MiB bodies are allowed for the
  // import: Next offers the sign-in action on the sign-in pages only and forwards the request to
  // /login internally, where the 8 KiB limit refuses it; the action never runs.
  const elsewhere = await post('/settings', huge, { cookie: 'lw_session=' + 'C'.repeat(43) });
  assert.doesNotMatch(elsewhere.body, /Wrong username|at most 64|Too many/, `status ${elsewhere.status}: ${elsewhere.body.slice(0, 300)}`);
  const after = { bytes: dbBytes(), audit: count('SELECT COUNT(*) FROM AuditLog'), throttle: count('SELECT COUNT(*) FROM AuthThrottle') };
  console.log(`# flood: 1000 × ${huge.length} B in ${floodMs} ms; database ${before.bytes} → ${after.bytes} bytes; audit rows ${before.audit} → ${after.audit}; throttle rows ${before.throttle} → ${after.throttle}`);
  assert.deepEqual([after.audit, after.throttle], [before.audit, before.throttle], 'nothing written');
  assert.ok(after.bytes - before.bytes <= 64 * 1024, `database grew by ${after.bytes - before.bytes} bytes`);
});

test('a parallel burst of 50 wrong-password sign-ins gets at most the limit evaluated', async () => {
  const login = await captureLogin();
  const fails0 = count("SELECT COUNT(*) FROM AuditLog WHERE action = 'login.fail'");
  const blocked0 = count("SELECT COUNT(*) FROM AuditLog WHERE action = 'login.blocked'");
  const results = await Promise.all(
    Array.from({ length: 50 }, () => raw(login.url, { method: 'POST', headers: { ...login.headers, 'content-length': String(Buffer.byteLength(login.body)) }, body: login.body })),
  );
  const wrong = results.filter((r) => r.body.includes('Wrong username or password.')).length;
  const refused = results.filter((r) => r.body.includes('Too many sign-in attempts from your address')).length;
  const evaluated = count("SELECT COUNT(*) FROM AuditLog WHERE action = 'login.fail'") - fails0;
  const blockedRows = count("SELECT COUNT(*) FROM AuditLog WHERE action = 'login.blocked'") - blocked0;
  console.log(`# burst: 50 parallel sign-ins → ${evaluated} passwords checked (login.fail rows), ${refused} refused before hashing, ${blockedRows} aggregated login.blocked row(s)`);
  assert.equal(evaluated, 5, 'exactly the per-source limit was evaluated');
  assert.deepEqual([wrong, refused], [5, 45]);
  assert.equal(blockedRows, 1);
  assert.match(db.prepare("SELECT detail FROM AuditLog WHERE action = 'login.blocked' ORDER BY id DESC").pluck().get() as string, /^45 attempts refused from 127\.0\.0\.1: limit 5 per 5 min/);
});

test('setup from a non-loopback client needs the token, also when the action is posted to another page (Next forwards it from the server itself)', async () => {
  // Our test client plays a proxy on 127.0.0.1 for a client at 203.0.113.9.
  const fresh = await startServer({ env: { LINKWARD_TRUSTED_PROXIES: '127.0.0.1' } });
  const c = await browser.newContext();
  try {
    const p = await c.newPage();
    let got: { headers: Record<string, string>; body: string } | null = null;
    await p.route('**/setup', async (route) => {
      const r = route.request();
      if (r.method() === 'POST' && r.headers()['next-action']) {
        got = { headers: await r.allHeaders(), body: r.postData() ?? '' };
        return route.abort();
      }
      return route.continue();
    });
    await p.goto(`${fresh.url}/setup`);
    await p.getByLabel('Username').fill('mallory');
    await p.getByLabel('Password', { exact: true }).fill('mallory-password-1');
    await p.getByLabel('Confirm password').fill('mallory-password-1');
    await p.getByRole('button', { name: 'Create administrator' }).click();
    await waitFor(() => got, 'the captured setup request');
    const g = got!;
    for (const k of Object.keys(g.headers)) if (k.startsWith(':') || ['accept-encoding', 'content-length', 'cookie', 'host'].includes(k)) delete g.headers[k];
    const send = (path: string, extra: Record<string, string>) =>
      raw(`${fresh.url}${path}`, { method: 'POST', headers: { ...g.headers, ...extra, 'x-forwarded-for': '203.0.113.9', 'content-length': String(Buffer.byteLength(g.body)) }, body: g.body });
    const direct = await send('/setup', {});
    assert.match(direct.body, /invalid or expired: run `linkward admin setup-token`/, 'the client at 203.0.113.9 needs the token');
    // Posted to a dashboard page (a bogus cookie passes the proxy's cheap check): Next forwards the
    // action to the sign-in page's worker through a request of its own, from 127.0.0.1 — which
    // looked like loopback. Two defenses, each enough alone (both measured by disabling the other):
    // proxy.ts requires a Content-Length (Next forwards a stream), and clientAddress() treats a
    // forwarded action as coming from an unknown address. With neither, this created "mallory".
    const forwarded = await send('/', { cookie: 'lw_session=' + 'D'.repeat(43) });
    assert.doesNotMatch(forwarded.body, /NEXT_REDIRECT|"ok":true/, `forwarded: ${forwarded.status} ${forwarded.body.slice(0, 200)}`);
    const fdb = new Database(fresh.db, { readonly: true });
    assert.equal(fdb.prepare('SELECT COUNT(*) FROM User').pluck().get(), 0, 'no administrator was created');
    fdb.close();
  } finally {
    await c.close();
    await fresh.stop();
  }
});
