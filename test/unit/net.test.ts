import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIPv4, parseCidr, parsePortSpec, isIfname, hostBitsSet } from '../../lib/validations/net';

test('parseIPv4 accepts dotted quads only', () => {
  assert.equal(parseIPv4('192.168.1.1'), 0xc0a80101);
  assert.equal(parseIPv4('0.0.0.0'), 0);
  for (const bad of ['192.168.1', '192.168.1.256', '01.2.3.4', '1.2.3.4 ', '1.2.3.4;', 'a.b.c.d', '', '1..2.3']) {
    assert.equal(parseIPv4(bad), null, bad);
  }
});

test('parseCidr and host bits', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: 0x0a000000, prefix: 8 });
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0.0/08'), null);
  assert.equal(hostBitsSet(parseCidr('10.0.0.1/8')!), true);
  assert.equal(hostBitsSet(parseCidr('10.0.0.1')!), false);
});

test('ports and interfaces', () => {
  assert.deepEqual(parsePortSpec(22), [22, 22]);
  assert.deepEqual(parsePortSpec('1000-2000'), [1000, 2000]);
  for (const bad of [0, 65536, 1.5, '2000-1000', '22;', '-1', '']) assert.equal(parsePortSpec(bad), null, String(bad));
  assert.ok(isIfname('eth0') && isIfname('wwan0') && isIfname('br-lan.10'));
  for (const bad of ['', '.', '..', 'a/b', 'eth0;', 'x'.repeat(16), 'a b', 'eth"0', 'eth0}']) assert.equal(isIfname(bad), false, bad);
});
