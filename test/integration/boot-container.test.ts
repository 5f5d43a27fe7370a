// The package on a real (container) router, end to end (issue 13):
//   a fresh Debian 13 (debootstrap, cached: scripts/boot-root.sh) booted with systemd-nspawn; its
//   NICs lan0, wan1, wan2 are the lab's router links (lab/lab.ts: LAN host, two ISPs, "Internet"),
//   moved in before init starts and configured by systemd-networkd like a real router's.
//   1. `apt install ./linkward_N.deb` inside the running system: user, units started, HTTPS on the
//      LAN with the certificate made at install (curl trusts exactly that file), HTTP → HTTPS,
//      the web runs as linkward and cannot write the code, nothing forwarded before a config.
//   2. `linkward init --apply` + `linkward confirm`; the admin account is created in Chromium over
//      HTTPS trusting the generated certificate (an NSS database, not ignoreHTTPSErrors); LAN
//      traffic balanced over both uplinks.
//   3. reboot: with no manual step the ruleset is the saved one, loaded while the uplinks were
//      down and before the agent started; dashboard and balancing again.
//   4. upgrade to N+1: a backup was taken, config, counter history and accounts are still there
//      and applied.  5. `apt remove`: linkward's table, rules and routes gone, forwarding off,
//      the machine's own default routes untouched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { labUp, labDown, tcpWhoAmIMany } from '../../lab/lab';
import { SERVER_ADDR, PROBE_TARGETS } from '../../lab/plan';
import { uniquePrefix } from '../helpers/lab';
import { ROOT } from '../helpers/cli';
import { bootRoot, overlay, boot, waitBooted, sh, type Container, type Overlay } from '../helpers/container';
import { waitUntil } from '../helpers/wait';

const PREFIX = uniquePrefix('bt');
const STAGE = `${PREFIX}-stg`;
const NICS = ['lan0', 'wan1', 'wan2'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-boot-'));
let ov: Overlay | null = null;
let container: Container | null = null;
const t0 = Date.now();
const mark = (t: { diagnostic: (s: string) => void }, what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

after(async () => {
  await container?.stop().catch(() => undefined);
  ov?.cleanup();
  sh(['ip', 'netns', 'del', STAGE], { allowFail: true });
  await labDown(PREFIX).catch(() => undefined);
  fs.rmSync(work, { recursive: true, force: true });
});

const NETWORKD: Record<string, string> = {
  lan0: '[Match]\nName=lan0\n\n[Network]\nAddress=192.168.1.1/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
  wan1: '[Match]\nName=wan1\n\n[Network]\nAddress=100.64.1.2/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n[Route]\nGateway=100.64.1.1\nMetric=100\n',
  wan2: '[Match]\nName=wan2\n\n[Network]\nAddress=100.64.2.2/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n[Route]\nGateway=100.64.2.1\nMetric=200\n',
};

/** The lab without its router: the router's links go to the staging namespace nspawn takes them from. */
async function network(): Promise<void> {
  const lab = await labUp({ prefix: PREFIX, uplinks: 2 });
  // the lab's "Internet" also answers on the addresses the first-run proposal probes (public
  // resolvers; they exist only inside this namespace)
  for (const a of ['1.1.1.1', '9.9.9.9', '8.8.8.8']) sh(['ip', '-n', `${PREFIX}-net`, 'addr', 'replace', `${a}/32`, 'dev', lab.targetsDevice]);
  sh(['ip', 'netns', 'add', STAGE], { allowFail: true });
  for (const i of NICS) sh(['ip', '-n', `${PREFIX}-rtr`, 'link', 'set', i, 'netns', STAGE]);
}

function pkg(version: string): string {
  const out = sh(['env', `LINKWARD_PKG_VERSION=${version}`, 'LINKWARD_PKG_COMPRESS=gzip', `LINKWARD_PKG_OUT=${work}`, 'bash', path.join(ROOT, 'scripts', 'package.sh')], { timeoutMs: 900000 });
  return out.stdout.trim().split('\n').pop()!;
}

const lanCurl = (...args: string[]) => sh(['ip', 'netns', 'exec', `${PREFIX}-lan`, 'curl', '-sS', '--max-time', '10', ...args], { allowFail: true });

function uplinkShares(seen: ({ ip: string } | null)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of seen) if (s) m.set(s.ip, (m.get(s.ip) ?? 0) + 1);
  return m;
}

async function assertBalanced(what: string): Promise<void> {
  // 40 new connections from one LAN host: both uplink addresses seen by the server
  const seen = await tcpWhoAmIMany(PREFIX, 'lan', SERVER_ADDR, 80, 40, { timeoutMs: 3000 });
  const shares = uplinkShares(seen);
  assert.deepEqual([...shares.keys()].sort(), ['100.64.1.2', '100.64.2.2'], `${what}: connections left through both uplinks (${JSON.stringify([...shares])})`);
  for (const [, n] of shares) assert.ok(n >= 6, `${what}: each uplink takes a fair share (${JSON.stringify([...shares])})`);
}

function journal(c: Container, unit: string): string {
  return c.exec(['journalctl', '-u', unit, '--no-pager', '-n', '40'], { allowFail: true }).stdout;
}

function unitProp(c: Container, unit: string, prop: string): string {
  return c.exec(['systemctl', 'show', '-P', prop, unit]).stdout.trim();
}

function webUser(c: Container): { uid: string; linkward: string } {
  const pid = unitProp(c, 'linkward-web.service', 'MainPID');
  assert.notEqual(pid, '0', 'linkward-web.service runs');
  const uid = /^Uid:\s+(\d+)/m.exec(c.exec(['cat', `/proc/${pid}/status`]).stdout)?.[1] ?? '?';
  return { uid, linkward: c.exec(['id', '-u', 'linkward']).stdout.trim() };
}

/** Wait until an agent running since `sinceMs` reports (its heartbeat is newer: the revision a
 *  previous boot or version recorded does not count) and the desired revision is applied with no
 *  apply error; returns the revision. The container shares the host's clock. */
async function agentApplied(c: Container, sinceMs: number, timeoutMs = 60000): Promise<number> {
  let last = '';
  return waitUntil('an agent started since then reports the desired revision applied', () => {
    const r = c.exec(['linkward', 'status', '--json'], { allowFail: true });
    last = r.stdout + r.stderr;
    if (r.code !== 0) return null;
    const st = JSON.parse(r.stdout) as { desiredRevision: number | null; appliedRevision: number | null; applyError: string | null; agentHeartbeat: string | null };
    const fresh = st.agentHeartbeat !== null && Date.parse(st.agentHeartbeat) >= sinceMs;
    return fresh && st.applyError === null && st.appliedRevision !== null && st.appliedRevision === st.desiredRevision ? st.appliedRevision : null;
  }, timeoutMs, 250, () => last);
}

/** Row counts in the container's database (read with the package's own better-sqlite3). */
function counts(c: Container): { users: number; samples: number; revisions: number } {
  const js = "const D=require('better-sqlite3');const d=new D('/var/lib/linkward/linkward.db',{readonly:true});" +
    "const n=(t)=>d.prepare('SELECT COUNT(*) AS n FROM '+t).get().n;console.log(JSON.stringify({users:n('User'),samples:n('CounterSample'),revisions:n('Revision')}))";
  return JSON.parse(c.exec(['sh', '-c', `cd /usr/lib/linkward && exec node -e "${js}"`]).stdout);
}

test('the Debian package on a booted Debian 13 router: install, first run, reboot, upgrade, remove', { timeout: 900000 }, async (t) => {
  const root = bootRoot();
  mark(t, 'boot root ready');
  const deb1 = pkg('0.1.0');
  mark(t, `package ${path.basename(deb1)} (${(fs.statSync(deb1).size / 1048576).toFixed(1)} MiB)`);

  ov = overlay(root, path.join(work, 'ov'));
  const m = ov.merged;
  fs.mkdirSync(path.join(m, 'etc/systemd/network'), { recursive: true });
  for (const [i, text] of Object.entries(NETWORKD)) fs.writeFileSync(path.join(m, `etc/systemd/network/10-${i}.network`), text);
  sh(['chroot', m, 'systemctl', 'enable', 'systemd-networkd.service'], { allowFail: true });
  fs.copyFileSync(deb1, path.join(m, 'root', path.basename(deb1)));

  // ---- boot 1: a fresh Debian router, then the package ----
  await network();
  container = await boot(m, STAGE, NICS, path.join(work, 'boot1.log'));
  const state1 = await waitBooted(container);
  mark(t, `boot 1: ${state1}`);
  let c = container;
  const inst = c.exec(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', `/root/${path.basename(deb1)}`], { allowFail: true, timeoutMs: 300000 });
  assert.equal(inst.code, 0, `apt install: ${inst.stdout.slice(-2000)}${inst.stderr}`);
  mark(t, 'apt install done');
  assert.equal(c.exec(['systemctl', 'is-active', 'linkward-agent.service', 'linkward-web.service', 'linkward-web.socket']).stdout.trim().split('\n').join(','), 'active,active,active');
  assert.equal(c.exec(['systemctl', 'is-enabled', 'linkward-restore.service']).stdout.trim(), 'enabled');
  const units = ['linkward-restore.service', 'linkward-agent.service', 'linkward-web.service', 'linkward-web.socket', 'linkward-web-http.socket'].map((x) => `/usr/lib/systemd/system/${x}`);
  const verify = c.exec(['systemd-analyze', 'verify', ...units], { allowFail: true });
  assert.equal(verify.code, 0, `systemd-analyze verify: ${verify.stderr}`);
  assert.equal(verify.stderr.trim(), '', `systemd-analyze verify warns: ${verify.stderr}`);
  const u = webUser(c);
  assert.equal(u.uid, u.linkward, 'the dashboard runs as user linkward');
  assert.equal(c.exec(['find', '/usr/lib/linkward', '/usr/bin/linkward', '!', '-type', 'l', '(', '!', '-user', 'root', '-o', '-perm', '/022', ')']).stdout.trim(), '', 'code is root-owned, writable by nobody else');
  const w = c.exec(['setpriv', '--reuid=linkward', '--regid=linkward', '--clear-groups', 'touch', '/usr/lib/linkward/cli/linkward.mjs'], { allowFail: true });
  assert.notEqual(w.code, 0, 'user linkward cannot write the code');
  const db = c.exec(['stat', '-c', '%U:%G %a', '/var/lib/linkward/linkward.db']).stdout.trim();
  assert.equal(db, 'root:linkward 660');
  assert.equal(c.exec(['stat', '-c', '%U:%G %a', '/var/lib/linkward/boot']).stdout.trim(), 'root:root 700');
  // nothing forwarded, nothing applied before a configuration exists
  assert.equal(c.exec(['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '0');
  assert.equal((await tcpWhoAmIMany(PREFIX, 'lan', SERVER_ADDR, 80, 1, { timeoutMs: 1500 }))[0], null, 'no forwarding before a configuration');

  // HTTPS on the LAN with the certificate made at install
  const certPem = c.exec(['cat', '/etc/linkward/tls/cert.pem']).stdout;
  const x509 = new crypto.X509Certificate(certPem);
  assert.match(x509.subjectAltName ?? '', /IP Address:192\.168\.1\.1/);
  assert.doesNotMatch(x509.subjectAltName ?? '', /100\.64\./, 'uplink addresses are not in the certificate');
  assert.match(String(x509.publicKey.asymmetricKeyDetails?.namedCurve), /prime256v1|P-256/);
  const certFile = path.join(work, 'cert.pem');
  fs.writeFileSync(certFile, certPem);
  let page = '';
  let curlErr = '';
  await waitUntil('the dashboard over HTTPS from the LAN', () => {
    const r = lanCurl('--cacert', certFile, '-D', '-', '-o', '/dev/null', 'https://192.168.1.1/setup');
    page = r.stdout;
    curlErr = r.stderr;
    return /^HTTP\/\S+ 200/m.test(r.stdout);
  }, 30000, 250, () => `curl: ${curlErr}\n${journal(c, 'linkward-web.service')}\n${c.exec(['ip', '-br', 'addr'], { allowFail: true }).stdout}\n${c.exec(['nft', 'list', 'ruleset'], { allowFail: true }).stdout}`);
  assert.match(page, /strict-transport-security: max-age=31536000/i);
  const redirect = lanCurl('-D', '-', '-o', '/dev/null', 'http://192.168.1.1/uplinks?x=1').stdout;
  assert.match(redirect, /^HTTP\/\S+ 308/m);
  assert.match(redirect, /^location: https:\/\/192\.168\.1\.1\/uplinks\?x=1\r?$/im);
  assert.equal(lanCurl('-o', '/dev/null', '-w', '%{http_code}', '--cacert', certFile, '--resolve', 'wrong.example:443:192.168.1.1', 'https://wrong.example/login').stdout, '000', 'a name not in the certificate is refused');
  // loopback stays plain HTTP for the CLI (with a Host header: one missing gets 421, as any name
  // not ours — DNS rebinding protection, proxy.ts)
  assert.match(c.exec(['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/3000; printf "GET /login HTTP/1.0\\r\\nHost: 127.0.0.1:3000\\r\\n\\r\\n" >&3; head -1 <&3'], { allowFail: true }).stdout, /HTTP\/1\.[01] (200|307)/);
  mark(t, 'HTTPS checks done');

  // ---- first run: the CLI's proposal, then the dashboard's in Chromium over HTTPS ----
  const init = c.exec(['linkward', 'init']);
  assert.match(init.stdout, /Your local network \(LAN\) is lan0 \(192\.168\.1\.1\/24\)/);
  assert.match(init.stdout, /shared evenly between 2 uplinks/);
  assert.match(init.stdout, /Nothing stored/);
  const proposed = JSON.parse(c.exec(['linkward', 'init', '--json']).stdout);
  assert.deepEqual(proposed.firewall, { dashboardPort: 443 }, 'the package proposes the HTTPS port for the anti-lockout rule');
  await browserFirstRun(t, c, certFile, x509, proposed);
  mark(t, 'admin created and the first-run proposal applied in Chromium over HTTPS');
  const revs = JSON.parse(c.exec(['linkward', 'history', '--json']).stdout) as { id: number; confirmWithin: number | null; confirmedAt: number | null }[];
  assert.equal(revs.length, 1);
  assert.equal(revs[0].confirmWithin, 300, 'the first apply was commit-confirmed');
  assert.ok(revs[0].confirmedAt, 'and confirmed by the browser that still reached the dashboard');
  await agentApplied(c, Date.now());
  await waitUntil('LAN traffic forwarded', async () => uplinkShares(await tcpWhoAmIMany(PREFIX, 'lan', SERVER_ADDR, 80, 4, { timeoutMs: 2000 })).size > 0, 30000, 500);
  await assertBalanced('boot 1');
  mark(t, 'configured and balanced');
  const marker1 = JSON.parse(c.exec(['cat', '/var/lib/linkward/boot/plan.json']).stdout).marker as string;
  assert.match(marker1, /^lw:[0-9a-f]{16}$/);

  // ---- reboot ----
  c.exec(['systemctl', 'reboot'], { allowFail: true });
  const code = await c.exited(60000);
  assert.equal(code, 133, 'nspawn reports a reboot request');
  container = null;
  await network(); // the links went away with the container's network namespace: new cables
  container = await boot(m, STAGE, NICS, path.join(work, 'boot2.log'));
  c = container;
  mark(t, `boot 2: ${await waitBooted(c)}`);
  const booted2 = Date.now(); // a heartbeat after this is the new boot's agent
  const restore = JSON.parse(c.exec(['cat', '/run/linkward/restore.json']).stdout) as { loaded: string; uptime: number; links: { ifname: string; flags: string[] }[] };
  assert.equal(restore.loaded, 'saved', 'the restore unit loaded the saved ruleset');
  for (const nic of ['wan1', 'wan2', 'lan0']) {
    const l = restore.links.find((x) => x.ifname === nic);
    assert.ok(l, `${nic} existed when the ruleset was loaded`);
    assert.ok(!l.flags.includes('UP'), `${nic} was still down when the ruleset was loaded (${l.flags.join(',')})`);
  }
  const restoredAt = Number(unitProp(c, 'linkward-restore.service', 'ExecMainExitTimestampMonotonic'));
  const agentAt = Number(unitProp(c, 'linkward-agent.service', 'ExecMainStartTimestampMonotonic'));
  const networkdAt = Number(unitProp(c, 'systemd-networkd.service', 'ExecMainStartTimestampMonotonic'));
  assert.ok(restoredAt > 0 && restoredAt < agentAt, `ruleset loaded (${restoredAt} µs) before the agent's node process started (${agentAt} µs)`);
  assert.ok(restoredAt < networkdAt, `ruleset loaded (${restoredAt} µs) before systemd-networkd started (${networkdAt} µs)`);
  const initAt = Number(c.exec(['systemctl', 'show', '-P', 'UserspaceTimestampMonotonic']).stdout.trim());
  const upAt = (nic: string) => {
    // when systemd-networkd had the link configured (journal, monotonic µs)
    const j = c.exec(['journalctl', '-b', '0', '-o', 'json', '--no-pager', '-u', 'systemd-networkd.service', '-g', `${nic}: (Link UP|Gained carrier)`], { allowFail: true }).stdout.trim().split('\n').filter(Boolean);
    return j.length ? Number(JSON.parse(j[0]).__MONOTONIC_TIMESTAMP) : NaN;
  };
  const wanUp = Math.min(upAt('wan1'), upAt('wan2'));
  assert.ok(wanUp > restoredAt, `uplinks came up (${wanUp} µs) after the ruleset was loaded (${restoredAt} µs)`);
  const ms = (x: number) => ((x - initAt) / 1000).toFixed(0);
  t.diagnostic(`boot 2, ms after init started: ruleset loaded ${ms(restoredAt)}, agent started ${ms(agentAt)}, systemd-networkd started ${ms(networkdAt)}, first uplink up ${ms(wanUp)}`);
  const nftNow = c.exec(['nft', 'list', 'table', 'inet', 'linkward']).stdout;
  assert.ok(nftNow.includes(marker1), 'the kernel carries the saved plan');
  await agentApplied(c, booted2);
  assert.equal(webUser(c).uid, webUser(c).linkward);
  assert.match(lanCurl('--cacert', certFile, '-o', '/dev/null', '-w', '%{http_code}', 'https://192.168.1.1/login').stdout, /^200$/);
  await assertBalanced('boot 2');
  mark(t, 'after reboot: ruleset, dashboard, balancing');

  // ---- upgrade N → N+1 ----
  await waitUntil('counter samples recorded', () => counts(c).samples > 0, 30000, 1000);
  const before = counts(c);
  assert.equal(before.users, 1, 'the admin account exists');
  const deb2 = pkg('0.1.1');
  fs.copyFileSync(deb2, path.join(m, 'root', path.basename(deb2)));
  const up = c.exec(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', `/root/${path.basename(deb2)}`], { allowFail: true, timeoutMs: 300000 });
  assert.equal(up.code, 0, `upgrade: ${up.stdout.slice(-2000)}${up.stderr}`);
  const upgraded = Date.now(); // the package stopped the old agent before apt-get returned
  assert.equal(c.exec(['cat', '/usr/lib/linkward/VERSION']).stdout.trim(), '0.1.1');
  assert.match(c.exec(['ls', '/var/lib/linkward/backups']).stdout, /^pre-upgrade-0\.1\.0-\d{8}T\d{6}Z\.lwbackup$/m, 'a backup was taken before migrating');
  await agentApplied(c, upgraded);
  const afterUp = counts(c);
  assert.equal(afterUp.users, before.users, 'admin account kept');
  assert.ok(afterUp.samples >= before.samples, `counter history kept (${before.samples} → ${afterUp.samples})`);
  assert.equal(afterUp.revisions, before.revisions, 'revisions kept');
  await assertBalanced('after the upgrade');
  assert.match(lanCurl('--cacert', certFile, '-o', '/dev/null', '-w', '%{http_code}', 'https://192.168.1.1/login').stdout, /^200$/);
  mark(t, 'upgraded');

  // ---- remove ----
  const routesBefore = c.exec(['ip', 'route', 'show', 'default']).stdout;
  const rm = c.exec(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'remove', '-y', 'linkward'], { allowFail: true, timeoutMs: 120000 });
  assert.equal(rm.code, 0, `remove: ${rm.stdout.slice(-2000)}${rm.stderr}`);
  assert.notEqual(c.exec(['nft', 'list', 'table', 'inet', 'linkward'], { allowFail: true }).code, 0, 'table inet linkward is gone');
  assert.doesNotMatch(c.exec(['ip', 'rule', 'show']).stdout, /^10\d{3}:/m, 'no linkward ip rule left');
  assert.equal(c.exec(['ip', 'route', 'show', 'table', '201']).stdout.trim(), '', 'no linkward route left');
  assert.equal(c.exec(['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '0', 'forwarding put back off');
  assert.equal(c.exec(['ip', 'route', 'show', 'default']).stdout, routesBefore, 'the machine\'s own default routes are untouched');
  mark(t, 'removed');
});

/** In Chromium (in the LAN host's namespace) over HTTPS, trusting the certificate through an NSS
 *  database (a real chain check: name, key usage; no error bypass): create the admin account, then
 *  the first-run proposal (/first-run): read the interfaces, review, apply commit-confirmed. */
async function browserFirstRun(t: { diagnostic: (s: string) => void }, c: Container, certFile: string, x509: crypto.X509Certificate, proposed: unknown): Promise<void> {
  const home = path.join(work, 'chrome-home');
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  sh(['certutil', '-d', `sql:${home}/.pki/nssdb`, '-N', '--empty-password']);
  sh(['certutil', '-d', `sql:${home}/.pki/nssdb`, '-A', '-t', 'P,,', '-n', 'linkward', '-i', certFile]);
  const wrapper = path.join(work, 'chromium-lan');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexport HOME=${home}\nexec ip netns exec ${PREFIX}-lan /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  try {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const res = await p.goto('https://192.168.1.1/setup');
    assert.equal(res?.status(), 200);
    const sec = await res!.securityDetails();
    assert.ok(sec, 'the page came over TLS');
    t.diagnostic(`TLS: ${sec.protocol}, certificate ${sec.subjectName} (SHA-256 ${x509.fingerprint256.slice(0, 23)}…)`);
    // from the LAN the first admin needs the one-time token printed on the router (issue 12)
    const setupToken = c.exec(['linkward', 'admin', 'setup-token']).stdout.trim();
    assert.match(setupToken, /^\S{16,}$/, 'linkward admin setup-token prints a token');
    await p.fill('input[name="token"]', setupToken);
    await p.fill('input[name="username"]', 'admin');
    await p.fill('input[name="password"]', 'correct horse battery');
    await p.fill('input[name="confirm"]', 'correct horse battery');
    await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/setup'), { timeout: 30000 }), p.click('button[type="submit"]')]);
    const cookies = await ctx.cookies('https://192.168.1.1/');
    const session = cookies.find((k) => k.httpOnly);
    assert.ok(session, 'a session cookie was set');
    assert.equal(session.secure, true, 'the session cookie is Secure over HTTPS');
    const shots = path.join(ROOT, 'test-results', 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    await p.getByTestId('first-run').getByRole('link').click();
    await p.waitForURL('**/first-run');
    await p.getByRole('button', { name: "Read this router's interfaces" }).click();
    await p.getByTestId('first-run-summary').waitFor({ timeout: 30000 });
    const summary = await p.getByTestId('first-run-summary').innerText();
    assert.match(summary, /Your local network \(LAN\) is lan0 \(192\.168\.1\.1\/24\)/);
    assert.match(summary, /wan1\s+uplink \(gateway 100\.64\.1\.1\)/);
    assert.deepEqual(JSON.parse(await p.locator('#fr-json').inputValue()), proposed, 'the dashboard proposes the same document as linkward init --json');
    assert.equal(await p.locator('#first-run-confirm').isChecked(), true, 'commit-confirmed is on by default');
    await p.getByRole('button', { name: 'Review change' }).click();
    await p.getByTestId('review-result').waitFor();
    assert.equal(await p.getByTestId('review-summary').innerText(), 'initial configuration');
    assert.match(await p.getByTestId('review-plan').innerText(), /ip rule add .*fwmark 0x100\/0xff00.*lookup 201|table inet linkward/, 'the review shows the kernel changes');
    await p.screenshot({ path: path.join(shots, 'boot-first-run-review.png'), fullPage: true });
    // auto-confirm is off by default (issue 12): this browser confirms what it submitted only when asked
    const auto = p.getByLabel('Confirm automatically if this browser can still reach the dashboard');
    assert.equal(await auto.isChecked(), false, 'auto-confirm is off by default');
    await auto.check();
    await p.getByRole('button', { name: 'Apply this configuration' }).click();
    await p.getByText(/Imported as revision 1/).waitFor({ timeout: 30000 });
    await p.getByText(/automatically: this browser still reaches the dashboard/).waitFor({ timeout: 60000 }).catch(async (e: Error) => {
      await p.screenshot({ path: path.join(shots, 'boot-first-run-confirm-failed.png'), fullPage: true }).catch(() => undefined);
      throw new Error(`${e.message}\nstatus: ${c.exec(['linkward', 'status'], { allowFail: true }).stdout}\n${journal(c, 'linkward-agent.service')}\n${journal(c, 'linkward-web.service')}`);
    });
    // the control: the same browser without that trust refuses the page (so trust is what made it work)
    const bare = path.join(work, 'chrome-bare');
    fs.mkdirSync(bare, { recursive: true });
    fs.writeFileSync(wrapper, `#!/bin/sh\nexport HOME=${bare}\nexec ip netns exec ${PREFIX}-lan /usr/bin/chromium "$@"\n`, { mode: 0o755 });
    await p.goto('https://192.168.1.1/');
    await p.getByText('wan2').first().waitFor();
    await p.screenshot({ path: path.join(shots, 'boot-https-overview.png') });
  } finally {
    await browser.close();
  }
  const untrusting = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  try {
    const p = await (await untrusting.newContext()).newPage();
    await assert.rejects(p.goto('https://192.168.1.1/login'), /ERR_CERT_AUTHORITY_INVALID/, 'without the NSS trust the certificate is refused');
  } finally {
    await untrusting.close();
  }
}
