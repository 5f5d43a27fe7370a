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

/** The grammar parseIPv4 implements, written as the regular expression it replaced. */
function referenceIPv4(s: string): number | null {
  if (s.length > 15) return null;
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

test('parseIPv4 (by character) agrees with the regular-expression grammar on 400 000 strings', () => {
  const alphabet = '0123456789.....a -/:';
  // mulberry32: every bit usable (a bare LCG's low bits repeat with a short period)
  let seed = 12345;
  const rnd = (k: number) => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
  const cases = ['1.2.3.4', '255.255.255.255', '256.1.1.1', '00.1.1.1', '1.2.3.4.', '.1.2.3', '1.2.3.04', '1.2.3.1000', '9.9.9.9.9',
    '0.0.0.0', '0.0.0.00', '255.255.255.256', '1.2.3', '...', '1.2.3.', ' 1.2.3.4', '1.2.3.4\n', '\u0663.1.1.1', '１.2.3.4', '251.252.253.254', '1.2.3.4/32'];
  for (let i = 0; i < 200000; i++) {
    let s = '';
    const len = rnd(18);
    for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
    cases.push(s);
    // near-valid: four random parts of 1-4 digits
    cases.push([0, 1, 2, 3].map(() => String(rnd(2) ? rnd(300) : rnd(10000)).padStart(rnd(3) + 1, rnd(5) ? '' : '0')).join('.'));
  }
  let valid = 0;
  for (const c of cases) {
    const want = referenceIPv4(c);
    assert.equal(parseIPv4(c), want, JSON.stringify(c));
    if (want !== null) valid++;
  }
  assert.ok(valid > 1000, `the corpus holds valid addresses too (${valid})`);
  for (const notString of [undefined, null, 1234, {}, ['1.2.3.4']]) assert.equal(parseIPv4(notString as unknown as string), null);
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
