// The dashboard's LAN listeners (lib/web/listen.mjs): which local addresses they answer on, the
// HTTP → HTTPS redirect, systemd socket activation, flag parsing. The real listeners on a booted
// router: test/integration/boot-container.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lanAddressPolicy, redirectLocation, listenFds, parseHostPort, isLanCandidate } from '../../lib/web/listen.mjs';

const IFS = {
  lan0: [{ address: '192.168.1.1' }, { address: 'fd00:1::1' }],
  wan1: [{ address: '192.168.0.23' }],
  lo: [{ address: '127.0.0.1' }],
};

test('LAN listeners answer on loopback and the configured LAN addresses only', async () => {
  const p = lanAddressPolicy({ dbFile: 'x', interfaces: () => IFS, lanOf: async () => ['lan0'] });
  await p.refresh();
  assert.equal(p.allows('192.168.1.1'), true);
  assert.equal(p.allows('::ffff:192.168.1.1'), true);
  assert.equal(p.allows('fd00:1::1'), true);
  assert.equal(p.allows('127.0.0.1'), true);
  assert.equal(p.allows('::1'), true);
  assert.equal(p.allows('192.168.0.23'), false, 'a private address on an uplink (modem NAT) is not the LAN');
  assert.equal(p.allows('198.51.100.2'), false);
});

test('before any configuration: private addresses only', async () => {
  const p = lanAddressPolicy({ dbFile: 'x', interfaces: () => IFS, lanOf: async () => null });
  await p.refresh();
  assert.equal(p.allows('192.168.0.23'), true);
  assert.equal(p.allows('10.1.2.3'), true);
  assert.equal(p.allows('100.64.1.2'), false, 'carrier-grade NAT is an uplink, not a LAN');
  assert.equal(p.allows('203.0.113.5'), false);
  assert.equal(isLanCandidate('172.32.0.1'), false);
});

test('redirect: same host and path over HTTPS; a bad Host falls back to the local address', () => {
  assert.equal(redirectLocation('192.168.1.1', '192.168.1.1', 443, '/uplinks?x=1'), 'https://192.168.1.1/uplinks?x=1');
  assert.equal(redirectLocation('router.lan:80', '192.168.1.1', 8443, '/'), 'https://router.lan:8443/');
  assert.equal(redirectLocation('evil.example/x\r\nSet-Cookie: a', '::ffff:192.168.1.1', 443, '/'), 'https://192.168.1.1/');
  assert.equal(redirectLocation(undefined, 'fd00::1', 443, '//evil.example/'), 'https://[fd00::1]/', 'no protocol-relative path');
  assert.equal(redirectLocation('[fd00::1]:80', 'fd00::1', 443, '/a'), 'https://[fd00::1]/a');
});

test('socket activation: fds named by systemd, only for this pid', () => {
  assert.deepEqual(listenFds({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'https:http' }, 42), [{ fd: 3, name: 'https' }, { fd: 4, name: 'http' }]);
  assert.deepEqual(listenFds({ LISTEN_PID: '41', LISTEN_FDS: '2' }, 42), []);
  assert.deepEqual(listenFds({}, 42), []);
  assert.deepEqual(parseHostPort('192.168.1.1:443', 'https'), { host: '192.168.1.1', port: 443 });
  assert.deepEqual(parseHostPort('[::1]:8443', 'https'), { host: '::1', port: 8443 });
  assert.throws(() => parseHostPort('443', 'https'), /--https: expected ADDR:PORT/);
  assert.throws(() => parseHostPort('a b:1', 'https'), /bad address/);
});
