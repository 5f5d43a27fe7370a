import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-web-auth-'));
process.env.LINKWARD_DB = path.join(dir, 'test.db');

const { hashPassword, verifyPassword, passwordProblem, needsRehash, SCRYPT_PARAMS, hashComputations } = await import('../../lib/auth/password');
const net = await import('../../lib/auth/net');
const session = await import('../../lib/auth/session');
const users = await import('../../lib/auth/users');
const throttle = await import('../../lib/auth/throttle');
const { prisma, disconnect } = await import('../../lib/db/prisma');

after(async () => {
  await disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('scrypt hashing at N=2^17: verifies, rejects wrong password, salted, parameters stored; old N=2^15 hashes still verify', async () => {
  const t0 = process.hrtime.bigint();
  const h = await hashPassword('correct horse battery');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`# scrypt N=2^17 r=8 p=1: one hash took ${ms.toFixed(0)} ms here`);
  assert.equal(SCRYPT_PARAMS.N, 2 ** 17);
  assert.match(h, /^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.notEqual(await hashPassword('correct horse battery'), h, 'salt must differ');
  assert.equal(await verifyPassword('x', 'garbage'), false);
  assert.equal(await verifyPassword('x', 'scrypt$99999999$8$1$AAAA$AAAA'), false, 'absurd N refused');
  assert.equal(needsRehash(h), false);
  const old = await hashPassword('correct horse battery', { N: 2 ** 15, r: 8, p: 1, keyLen: 64 });
  assert.match(old, /^scrypt\$32768\$/);
  assert.equal(await verifyPassword('correct horse battery', old), true, 'the format carries its parameters');
  assert.equal(needsRehash(old), true);
  assert.ok(passwordProblem('short'));
  assert.equal(passwordProblem('long enough pw'), null);
  const n = hashComputations();
  assert.equal(await verifyPassword('x'.repeat(513), h), false, 'an oversized password is refused without hashing');
  assert.equal(hashComputations(), n);
});

test('address classes: loopback; private = RFC 1918 and ULA only (not CGNAT, not link-local)', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(net.isLoopbackAddress(a), true, a);
  for (const a of ['10.0.0.1', '::2', '', 'localhost', '::ffff:10.0.0.1']) assert.equal(net.isLoopbackAddress(a), false, a);
  for (const a of ['::ffff:192.168.1.5', '10.1.2.3', '172.31.0.1', 'fd00::1', 'fc12:3456::7']) assert.equal(net.isPrivateAddress(a), true, a);
  for (const a of ['127.0.0.1', '::1', '100.64.0.1', '100.127.255.254', '169.254.1.1', 'fe80::1%eth0', 'febf::1', '8.8.8.8', '172.32.0.1', '2001:db8::1', '', 'garbage', '::ffff:8.8.8.8']) {
    assert.equal(net.isPrivateAddress(a), false, a);
  }
  assert.equal(net.normalizeAddress('::FFFF:10.0.0.1'), '10.0.0.1');
  assert.deepEqual(net.ipv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(net.ipv6Groups('64:ff9b::192.0.2.1'), [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x201]);
  assert.equal(net.ipv6Groups('1::2::3'), null);
});

test('rate-limit keys: IPv4 per address, IPv6 per /64', () => {
  assert.equal(net.sourceKey('192.0.2.7'), '192.0.2.7');
  assert.equal(net.sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(net.sourceKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(net.sourceKey('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64', 'same /64, written differently');
  assert.notEqual(net.sourceKey('2001:db8:1:3::1'), net.sourceKey('2001:db8:1:2::1'));
  assert.equal(net.sourceKey(''), 'unknown');
  assert.equal(net.sourceKey('garbage'), 'unknown');
});

test('X-Forwarded-For is believed only from configured proxies', () => {
  const none = net.addressList('', 'x');
  const proxies = net.addressList('127.0.0.1, 10.0.0.0/30 fd00::5', 'x');
  // No proxies configured (the default): the socket address, whatever the header says.
  assert.equal(net.clientFrom('203.0.113.9', '192.168.1.10', none), '203.0.113.9');
  assert.equal(net.clientFrom('127.0.0.1', '203.0.113.5', none), '127.0.0.1');
  // From a trusted proxy: the right-most address that is not a proxy.
  assert.equal(net.clientFrom('127.0.0.1', '203.0.113.5', proxies), '203.0.113.5');
  assert.equal(net.clientFrom('127.0.0.1', '1.1.1.1, 203.0.113.5, 10.0.0.2', proxies), '203.0.113.5', 'a client-written left part is ignored');
  assert.equal(net.clientFrom('::ffff:10.0.0.1', '198.51.100.1', proxies), '198.51.100.1');
  assert.equal(net.clientFrom('fd00::5', '2001:db8::9', proxies), '2001:db8::9');
  // Not from a proxy: the header is ignored even if it names a proxy.
  assert.equal(net.clientFrom('198.51.100.7', '127.0.0.1', proxies), '198.51.100.7');
  // A trusted proxy without a header, or with garbage: the last believable address.
  assert.equal(net.clientFrom('127.0.0.1', null, proxies), '127.0.0.1');
  assert.equal(net.clientFrom('127.0.0.1', 'evil, 10.0.0.2', proxies), '10.0.0.2');
  assert.throws(() => net.addressList('10.0.0.0/33', 'LINKWARD_TRUSTED_PROXIES'), /LINKWARD_TRUSTED_PROXIES: "10.0.0.0\/33" is not an IP address or CIDR/);
  assert.throws(() => net.addressList('router.lan', 'LINKWARD_TRUSTED_PROXIES'), /not an IP address/);
});

test('Host allow-list (DNS rebinding): localhost, loopback, the bind address, configured names', () => {
  const lan = { bind: '192.168.1.1', names: net.parseHostNames('router.lan, Router.Example.NET.'), localAddresses: () => ['192.168.1.1', '10.9.9.9'] };
  for (const h of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000', '192.168.1.1:3000', '192.168.1.1', 'router.lan', 'ROUTER.LAN:3000', 'router.example.net', 'router.lan.'])
    assert.equal(net.hostAllowed(h, lan), true, h);
  for (const h of ['evil.example', 'evil.example:3000', 'router.lan.evil.example', '10.9.9.9:3000', '192.168.1.2', '', null, '[fe80::1]', 'localhost.evil.example'])
    assert.equal(net.hostAllowed(h, lan), false, String(h));
  // Bound to every address: any address of this machine, still no foreign name.
  const all = { ...lan, bind: '0.0.0.0', names: [] };
  assert.equal(net.hostAllowed('10.9.9.9:3000', all), true);
  assert.equal(net.hostAllowed('192.0.2.1:3000', all), false);
  assert.equal(net.hostAllowed('router.lan', all), false);
  assert.throws(() => net.parseHostNames('ok.lan, bad_name!'), /LINKWARD_HOSTNAMES: "bad_name!" is not a host name/);
  assert.deepEqual(net.parseHostNames('fd00::1 [fd00::2] 192.0.2.1'), ['fd00::1', 'fd00::2', '192.0.2.1']);
});

test('sign-in throttle: a parallel burst gets exactly the limit; per username across sources; aggregated audit row; window', async () => {
  const now = 1_800_000_000_000;
  const audits = () => prisma().auditLog.count({ where: { action: 'login.blocked' } });
  const before = await audits();
  const keys = (src: string, user = 'admin') => [{ kind: 'src' as const, id: net.sourceKey(src) }, { kind: 'all' as const, id: '' }, { kind: 'user' as const, id: user }];
  // 50 attempts at once from one source: exactly LIMITS.src admitted.
  const burst = await Promise.all(Array.from({ length: 50 }, () => throttle.admit(keys('198.51.100.1'), { action: 'login.blocked', actor: 'admin', now })));
  assert.equal(burst.filter((a) => a.ok).length, throttle.LIMITS.src);
  const refused = burst.filter((a) => !a.ok);
  assert.ok(refused.every((a) => !a.ok && a.by === 'src' && a.retryMs === throttle.WINDOW_MS));
  // Refused attempts are one audit row with a count, not 45 rows.
  assert.equal((await audits()) - before, 1);
  const row = await prisma().auditLog.findFirst({ where: { action: 'login.blocked' }, orderBy: { id: 'desc' } });
  assert.match(row!.detail, /^45 attempts refused from 198\.51\.100\.1: limit 5 per 5 min/);
  // Same /64: the same bucket; another /64: its own.
  const v6 = (a: string) => throttle.admit(keys(a, 'other'), { action: 'login.blocked', actor: 'other', now });
  for (let i = 1; i <= 5; i++) assert.ok((await v6(`2001:db8:7:7::${i}`)).ok);
  assert.equal((await v6('2001:db8:7:7:ffff::1')).ok, false, 'same /64');
  assert.ok((await v6('2001:db8:7:8::1')).ok, 'another /64');
  // Per username: 10 attempts from many sources, then that username is refused from anywhere,
  // while another username from a fresh source still gets through.
  let ok = 0;
  for (let i = 0; i < 20; i++) if ((await throttle.admit(keys(`203.0.113.${i}`, 'root'), { action: 'login.blocked', actor: 'root', now })).ok) ok++;
  assert.equal(ok, throttle.LIMITS.user);
  const r = await throttle.admit(keys('203.0.113.200', 'root'), { action: 'login.blocked', actor: 'root', now });
  assert.ok(!r.ok && r.by === 'user');
  assert.ok((await throttle.admit(keys('203.0.113.201', 'alice'), { action: 'login.blocked', actor: 'alice', now })).ok);
  // A refused attempt counts against no key: the source of the refused 'root' attempt is unused.
  assert.equal((await prisma().authThrottle.findUnique({ where: { key: 'src:203.0.113.200' } })), null);
  // The window passes: admitted again; old rows are gone.
  const later = now + throttle.WINDOW_MS + 1;
  assert.ok((await throttle.admit(keys('198.51.100.1'), { action: 'login.blocked', actor: 'admin', now: later })).ok);
  assert.equal(await prisma().authThrottle.count({ where: { windowStart: { lte: now } } }), 0);
  // A successful sign-in clears its source and username.
  await throttle.clearKeys(keys('198.51.100.1'));
  assert.equal(await prisma().authThrottle.count({ where: { key: { in: ['src:198.51.100.1', 'user:admin'] } } }), 0);
});

test('audit log capped in rows and bytes, oldest pruned, whatever writes it', async () => {
  const { openDb } = await import('../../lib/db/sqlite');
  const db = openDb(process.env.LINKWARD_DB!);
  const cap = () => db.prepare('SELECT rows, bytes FROM AuditLogCap WHERE id = 1').get() as { rows: number; bytes: number };
  const real = () => db.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(length(CAST(actor AS BLOB)) + length(CAST(action AS BLOB)) + length(CAST(detail AS BLOB))), 0) AS bytes FROM AuditLog').get() as { rows: number; bytes: number };
  assert.deepEqual(cap(), real(), 'running totals match');
  const saved = db.prepare('SELECT maxRows, maxBytes FROM AuditLogCap').get() as { maxRows: number; maxBytes: number };
  db.prepare('UPDATE AuditLogCap SET maxRows = 200, maxBytes = 20000').run();
  try {
    const ins = db.prepare("INSERT INTO AuditLog (ts, actor, action, detail) VALUES (?, 'admin', 'login.fail', ?)");
    for (let i = 0; i < 1000; i++) ins.run(i, `from 198.51.100.${i % 250} #${i}`);
    let t = real();
    assert.ok(t.rows <= 200 && t.bytes <= 20000, JSON.stringify(t));
    assert.deepEqual(cap(), t);
    assert.match((db.prepare('SELECT detail FROM AuditLog ORDER BY id DESC LIMIT 1').get() as { detail: string }).detail, /#999$/, 'the newest is kept');
    // Bytes: big rows push the old ones out; a single huge row is cut down and cannot wipe the log.
    for (let i = 0; i < 30; i++) ins.run(i, 'x'.repeat(1500));
    t = real();
    assert.ok(t.bytes <= 20000 && t.rows > 5, JSON.stringify(t));
    ins.run(0, 'y'.repeat(1_000_000));
    t = real();
    assert.ok(t.bytes <= 20000 && t.rows > 5, JSON.stringify(t));
    assert.equal((db.prepare('SELECT length(detail) AS n FROM AuditLog ORDER BY id DESC LIMIT 1').get() as { n: number }).n, 2000);
    assert.deepEqual(cap(), real());
    // Writes through Prisma (the web) and updates are counted too.
    await users.audit('admin', 'test', 'via prisma');
    await prisma().auditLog.updateMany({ where: { action: 'test' }, data: { detail: 'changed detail' } });
    assert.deepEqual(cap(), real());
  } finally {
    db.prepare('UPDATE AuditLogCap SET maxRows = ?, maxBytes = ?').run(saved.maxRows, saved.maxBytes);
    db.close();
  }
});

test('sessions: only the hash is stored, sliding expiry, expired and destroyed sessions are refused', async () => {
  const u = await users.createFirstUser('admin', 'a long password');
  assert.equal(u.ok, true);
  if (!u.ok) return;
  const second = await users.createFirstUser('other', 'a long password');
  assert.equal(second.ok, false, 'setup only while no user exists');

  const t0 = 1_700_000_000_000;
  const { token } = await session.createSession(u.id, '127.0.0.1', t0);
  const row = await prisma().session.findFirst({ where: { userId: u.id } });
  assert.ok(row);
  assert.notEqual(row.id, token);
  assert.equal(row.id, session.sha256hex(token));

  assert.equal((await session.validateSession(token, t0 + 1000))?.username, 'admin');
  // Active use slides the expiry: at 11 h the session is extended to 23 h.
  assert.ok(await session.validateSession(token, t0 + 11 * 3600_000));
  assert.ok(await session.validateSession(token, t0 + 22 * 3600_000), 'sliding expiry keeps an active session');
  // Idle for more than 12 h: refused and deleted.
  assert.equal(await session.validateSession(token, t0 + 35 * 3600_000), null);
  assert.equal(await prisma().session.count({ where: { id: session.sha256hex(token) } }), 0);

  const s2 = await session.createSession(u.id, '127.0.0.1');
  assert.ok(await session.validateSession(s2.token));
  await session.destroySession(s2.token);
  assert.equal(await session.validateSession(s2.token), null);
  assert.equal(await session.validateSession('not-a-token'), null);
  assert.equal(await session.validateSession(undefined), null);
});

test('login check, password reset revokes sessions, setup token is one-time-ish and expires', async () => {
  assert.ok(await users.checkLogin('admin', 'a long password'));
  assert.equal(await users.checkLogin('admin', 'wrong password!'), null);
  assert.equal(await users.checkLogin('nobody', 'a long password'), null);
  const u = (await prisma().user.findUnique({ where: { username: 'admin' } }))!;
  const s = await session.createSession(u.id, '');
  const r = await users.resetPassword('admin', 'another long password');
  assert.equal(r.ok, true);
  assert.equal(await session.validateSession(s.token), null, 'reset signs out');
  assert.ok(await users.checkLogin('admin', 'another long password'));
  assert.equal((await users.resetPassword('admin', 'short')).ok, false);

  const now = Date.now();
  const tok = await users.issueSetupToken(now);
  assert.equal(await users.checkSetupToken(tok, now + 1000), true);
  assert.equal(await users.checkSetupToken(tok + 'x', now + 1000), false);
  assert.equal(await users.checkSetupToken(tok, now + 2 * 3600_000), false, 'expired');
  const row = await prisma().setting.findFirst({ where: { key: { contains: 'setupToken' } } });
  assert.ok(row && !row.value.includes(tok), 'only the hash is stored');
});

test('sessions end 7 days after sign-in however active they are (absolute lifetime besides the 12 h idle one)', async () => {
  const u = (await prisma().user.findUnique({ where: { username: 'admin' } }))!;
  const t0 = 1_750_000_000_000;
  const { token } = await session.createSession(u.id, '127.0.0.1', t0);
  // Used every 6 hours: the idle timeout never hits...
  let t = t0;
  for (; t < t0 + session.SESSION_ABSOLUTE_MS - 6 * 3600_000; t += 6 * 3600_000) assert.ok(await session.validateSession(token, t), `alive at ${(t - t0) / 3600_000} h`);
  const last = await session.validateSession(token, t0 + session.SESSION_ABSOLUTE_MS - 60_000);
  assert.ok(last, 'alive a minute before the end');
  assert.ok(last.expiresAt <= t0 + session.SESSION_ABSOLUTE_MS, 'the expiry never slides past the absolute end');
  // ...but 7 days after sign-in it is over, and the row is gone.
  assert.equal(await session.validateSession(token, t0 + session.SESSION_ABSOLUTE_MS), null);
  assert.equal(await prisma().session.count({ where: { id: session.sha256hex(token) } }), 0);
});

test('a sign-in with a hash of the old cost re-hashes it at N=2^17 (only after the password was right)', async () => {
  const db = prisma();
  const old = await hashPassword('the old-cost password', { N: 2 ** 15, r: 8, p: 1, keyLen: 64 });
  await db.user.create({ data: { username: 'legacy', passwordHash: old, createdAt: Date.now() } });
  assert.equal(await users.checkLogin('legacy', 'wrong password here'), null);
  assert.equal((await db.user.findUnique({ where: { username: 'legacy' } }))!.passwordHash, old, 'a wrong password changes nothing');
  assert.ok(await users.checkLogin('legacy', 'the old-cost password'));
  const now = (await db.user.findUnique({ where: { username: 'legacy' } }))!.passwordHash;
  assert.match(now, /^scrypt\$131072\$8\$1\$/);
  assert.ok(await users.checkLogin('legacy', 'the old-cost password'), 'still the same password');
});
