// What proxy.ts enforces (lib/web/policy.ts): the CSP of a response and the body limits per path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, bodyLimit, AUTH_BODY_LIMIT, IMPORT_BODY_LIMIT, BODY_LIMIT } from '../../lib/web/policy';
import { MAX_IMPORT_BYTES } from '../../lib/web/actions/schemas';

test('CSP: scripts only from our origin or with the nonce; no unsafe-inline, no unsafe-eval, no framing', () => {
  const csp = contentSecurityPolicy('bm9uY2Vub25jZQ==');
  const d = Object.fromEntries(csp.split('; ').map((x) => [x.split(' ')[0], x.split(' ').slice(1)]));
  assert.deepEqual(d['script-src'], ["'self'", "'nonce-bm9uY2Vub25jZQ=='", "'strict-dynamic'"]);
  assert.deepEqual(d['style-src'], ["'self'", "'nonce-bm9uY2Vub25jZQ=='"]);
  assert.deepEqual(d['frame-ancestors'], ["'none'"]);
  assert.deepEqual(d['object-src'], ["'none'"]);
  assert.doesNotMatch(csp, /unsafe/);
});

test('body limits: small on the sign-in pages, the import size on /settings, 1 MiB elsewhere', () => {
  assert.equal(bodyLimit('/login'), AUTH_BODY_LIMIT);
  assert.equal(bodyLimit('/setup'), AUTH_BODY_LIMIT);
  assert.equal(AUTH_BODY_LIMIT, 8192);
  assert.equal(bodyLimit('/settings'), IMPORT_BODY_LIMIT);
  assert.equal(bodyLimit('/address-lists'), IMPORT_BODY_LIMIT, 'pasted or uploaded blocklists');
  assert.ok(IMPORT_BODY_LIMIT > MAX_IMPORT_BYTES, 'an 8 MiB import still fits with its multipart overhead');
  for (const p of ['/', '/rules', '/settings/x', '/loginx', '/api/status']) assert.equal(bodyLimit(p), BODY_LIMIT, p);
});
