import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-web-auth-'));
process.env.LINKWARD_DB = path.join(dir, 'test.db');

const { hashPassword, verifyPassword, passwordProblem } = await import('../../lib/auth/password');
const { FailureLimiter } = await import('../../lib/auth/ratelimit');
const { isPrivateAddress, normalizeAddress } = await import('../../lib/auth/net');
const session = await import('../../lib/auth/session');
const users = await import('../../lib/auth/users');
const { prisma, disconnect } = await import('../../lib/db/prisma');

after(async () => {
  await disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('scrypt hashing: verifies, rejects wrong password, salted, parameters stored', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.notEqual(await hashPassword('correct horse battery'), h, 'salt must differ');
  assert.equal(await verifyPassword('x', 'garbage'), false);
  assert.equal(await verifyPassword('x', 'scrypt$99999999$8$1$AAAA$AAAA'), false, 'absurd N refused');
  assert.ok(passwordProblem('short'));
  assert.equal(passwordProblem('long enough pw'), null);
});

test('rate limiter: 5 failures per window per key, then blocked until the window passes', () => {
  let now = 1_000_000;
  const l = new FailureLimiter({ max: 5, windowMs: 300_000, now: () => now });
  for (let i = 0; i < 5; i++) {
    assert.equal(l.blockedFor('1.2.3.4'), 0);
    l.fail('1.2.3.4');
    now += 1000;
  }
  assert.ok(l.blockedFor('1.2.3.4') > 0);
  assert.equal(l.blockedFor('5.6.7.8'), 0, 'other addresses unaffected');
  now += 300_000;
  assert.equal(l.blockedFor('1.2.3.4'), 0, 'window passed');
  l.fail('9.9.9.9');
  l.reset('9.9.9.9');
  assert.equal(l.blockedFor('9.9.9.9'), 0);
});

test('private address classification', () => {
  for (const a of ['127.0.0.1', '::1', '::ffff:192.168.1.5', '10.1.2.3', '172.31.0.1', '100.64.0.1', 'fd00::1', 'fe80::1%eth0']) assert.equal(isPrivateAddress(a), true, a);
  for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1', '', 'garbage', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  assert.equal(normalizeAddress('::FFFF:10.0.0.1'), '10.0.0.1');
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
