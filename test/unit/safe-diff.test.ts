// Issue 8: line diff (Myers) and revision diff (config JSON + compiled plan with the same facts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffLines, unified, countChanges, diffRevisions } from '../../lib/config/diff';
import { parseConfig, type Config } from '../../lib/validations/config';

const apply = (lines: ReturnType<typeof diffLines>) => ({
  a: lines.filter((l) => l.op !== '+').map((l) => l.text),
  b: lines.filter((l) => l.op !== '-').map((l) => l.text),
});

test('diffLines reproduces both inputs and is minimal on small cases', () => {
  const a = ['a', 'b', 'c', 'd', 'e'];
  const b = ['a', 'c', 'd', 'x', 'e', 'f'];
  const d = diffLines(a, b);
  assert.deepEqual(apply(d), { a, b });
  assert.deepEqual(countChanges(d), { added: 2, removed: 1 });
  assert.equal(unified(d, 0), '@@\n-b\n@@\n+x\n@@\n+f');
});

test('diffLines: random inputs round-trip; identical inputs have no changes', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 5);
  for (let i = 0; i < 200; i++) {
    const a = Array.from({ length: rnd() * 3 }, () => String(rnd()));
    const b = Array.from({ length: rnd() * 3 }, () => String(rnd()));
    const d = diffLines(a, b);
    assert.deepEqual(apply(d), { a, b });
    const lcsBound = Math.abs(a.length - b.length);
    assert.ok(countChanges(d).added + countChanges(d).removed >= lcsBound);
  }
  assert.deepEqual(countChanges(diffLines(['x', 'y'], ['x', 'y'])), { added: 0, removed: 0 });
});

test('diffRevisions shows the rule in both the config and the nft text', () => {
  const p = (d: unknown) => {
    const r = parseConfig(d);
    assert.ok(r.ok);
    return r.value as Config;
  };
  const base = { version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'isp1', interface: 'wan1' }] };
  const a = p(base);
  const b = p({ ...base, rules: [{ name: 'no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23 }] });
  const facts = { interfaces: { wan1: { name: 'wan1', exists: true, up: true, carrier: true, addresses: [{ address: '100.64.1.2', prefix: 24 }], gateway: '100.64.1.1' }, lan0: { name: 'lan0', exists: true, up: true, carrier: true, addresses: [{ address: '192.168.1.1', prefix: 24 }] } }, health: {} };
  const d = diffRevisions(a, b, facts);
  assert.equal(d.planError, null);
  assert.ok(d.config.some((l) => l.op === '+' && l.text.includes('"no-telnet"')));
  assert.ok(d.plan.some((l) => l.op === '+' && /tcp dport 23 counter name "lw_r_no_telnet" drop/.test(l.text)), unified(d.plan));
  assert.ok(d.plan.some((l) => l.op === ' ' && l.text.startsWith('route table 201 default via 100.64.1.1')));
});
