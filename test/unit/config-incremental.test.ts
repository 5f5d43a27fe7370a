// parseConfigIncremental (the agent's re-validation of every revision): the same answer as
// parseConfig for valid and invalid documents, and a one-rule change re-validates one rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, parseConfigIncremental, type RuleParseCache } from '../../lib/validations/config';

const base = () => ({
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'one', interface: 'u1', gateway: '10.1.0.1' }],
  addressLists: [{ name: 'bad', entries: ['203.0.113.0/24'] }],
  rules: Array.from({ length: 50 }, (_, i) => ({ name: `r-${i}`, chain: 'forward', action: 'drop', protocol: 'tcp', port: 1000 + i })) as Record<string, unknown>[],
});

const same = (doc: unknown, cache: RuleParseCache) => {
  const a = parseConfig(structuredClone(doc));
  const b = parseConfigIncremental(structuredClone(doc), cache);
  assert.deepEqual(b, a);
  return b;
};

test('parseConfigIncremental answers as parseConfig, valid or not', () => {
  const cache: RuleParseCache = new Map();
  assert.equal(same(base(), cache).ok, true);
  const variants: ((d: ReturnType<typeof base>) => void)[] = [
    (d) => (d.rules[3].port = 70000), // a rule of its own invalid
    (d) => (d.rules[3].extra = 1), // unknown key in a rule (strict)
    (d) => (d.rules[4].name = 'r-5'), // duplicate names: a cross-section check
    (d) => (d.rules[4].sourceList = 'nope'), // unknown list reference
    (d) => (d.rules[4].uplink = 'nope'),
    (d) => Object.assign(d, { unknownSection: [] }), // strict document
    (d) => (d.rules[7] = { name: 'x', chain: 'forward', action: 'drop', protocol: 'icmp', source: '2001:db8::1' }),
    (d) => Object.assign(d, { rules: 'not a list' }),
    (d) => (d.uplinks[0].interface = 'lan0'), // another section's cross check
    (d) => (d.rules[9] = { name: 'uses-bad', chain: 'input', action: 'drop', sourceList: 'bad', uplink: 'one', log: true }),
  ];
  for (const v of variants) {
    const d = base();
    v(d);
    same(d, cache);
  }
  assert.equal(same(null, cache).ok, false);
  assert.equal(same({ version: 1 }, cache).ok, true);
});

test('a one-rule change reuses the validated rules of the last valid document', () => {
  const cache: RuleParseCache = new Map();
  const a = parseConfigIncremental(base(), cache);
  assert.ok(a.ok);
  const d = base();
  d.rules[10].port = 9;
  const b = parseConfigIncremental(d, cache);
  assert.ok(b.ok);
  assert.equal(b.value.rules[11], a.value.rules[11], 'the same validated object');
  assert.notEqual(b.value.rules[10], a.value.rules[10]);
  assert.equal(b.value.rules[10].port, 9);
  assert.ok(Object.isFrozen(b.value.rules[11]));
  // an invalid document leaves the cache as it was
  const bad = base();
  bad.rules[0].port = -1;
  assert.equal(parseConfigIncremental(bad, cache).ok, false);
  assert.equal(cache.size, 50);
});

test('compile of incrementally validated rules equals a compile from scratch, when lists, uplinks or the log mode change under unchanged rules', async () => {
  const { compile } = await import('../../lib/compile/compile');
  const { FIXTURE_FACTS } = await import('./system-fixtures');
  const cache: RuleParseCache = new Map();
  const doc = (entries: string[], iface: string) => ({
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [{ name: 'one', interface: iface, gateway: '10.1.0.1' }, { name: 'two', interface: 'u2', gateway: '10.2.0.1' }],
    addressLists: [{ name: 'bad', entries }],
    rules: [
      ...Array.from({ length: 100 }, (_, i) => ({ name: `r-${i}`, chain: 'forward', action: 'drop', protocol: 'tcp', port: 1000 + i })),
      { name: 'from-bad', chain: 'forward', action: 'drop', sourceList: 'bad', log: true },
      { name: 'on-one', chain: 'input', action: 'accept', protocol: 'tcp', port: 22, uplink: 'one' },
      { name: 'v6-only', chain: 'forward', action: 'drop', source: '2001:db8::/32', sourceList: 'bad' },
    ],
  });
  const steps: [string[], string, boolean][] = [
    [['203.0.113.0/24'], 'u1', false], // v6-only shares no family with the list: a warning
    [['203.0.113.0/24', '2001:db8:1::/48'], 'u1', false], // the list gains IPv6
    [['2001:db8:1::/48'], 'u1', true], // IPv6 only; NFLOG log statements
    [['2001:db8:1::/48'], 'u9', true], // the uplink's interface
    [[], 'u9', false], // empty list
  ];
  for (const [entries, iface, nflog] of steps) {
    const a = parseConfigIncremental(doc(entries, iface), cache);
    const b = parseConfig(doc(entries, iface));
    assert.ok(a.ok && b.ok);
    const facts = { ...FIXTURE_FACTS, nflog, interfaces: { ...FIXTURE_FACTS.interfaces, u9: { ...FIXTURE_FACTS.interfaces.u1, name: 'u9' } } };
    const pa = compile(a.value, facts);
    const pb = compile(b.value, facts);
    assert.equal(pa.nftDeclaration, pb.nftDeclaration, `${entries.join(',')} ${iface} nflog=${nflog}`);
    assert.deepEqual(pa.warnings, pb.warnings);
  }
});
