// Config validation: the example imports, bad inputs give "path: message", and nothing that could
// break out of an nft string or statement gets through any string field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../lib/validations/config';
import { compile, renderTransaction } from '../../lib/compile/index';

const exampleDoc = () => JSON.parse(readFileSync(new URL('../../docs/example.json', import.meta.url), 'utf8')) as Record<string, any>;

test('docs/example.json imports as-is and normalizes (ids, defaults)', () => {
  const r = parseConfig(exampleDoc());
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.deepEqual(r.value.uplinks.map((u) => [u.name, u.id]), [['dsl', 1], ['cable', 2], ['lte', 3]]);
  assert.equal(r.value.firewall.dashboardPort, 3000);
  assert.equal(r.value.services[0].lan, true);
  // normalized output re-parses to the same value
  const again = parseConfig(JSON.parse(JSON.stringify(r.value)));
  assert.ok(again.ok);
  assert.equal(JSON.stringify(again.value), JSON.stringify(r.value));
});

test('bad inputs give "path: message" errors', () => {
  const doc = exampleDoc();
  doc.uplinks[0].weight = 0;
  doc.services[1].port = 70000;
  doc.rules[0].uplink = 'nope';
  doc.portForwards[0].to = '10.9.9.9';
  doc.lan[0].address = '192.168.1.0/24';
  const r = parseConfig(doc);
  assert.equal(r.ok, false);
  if (r.ok) return;
  const has = (re: RegExp) => assert.ok(r.errors.some((e) => re.test(e)), `${re} not in ${JSON.stringify(r.errors)}`);
  has(/^uplinks\[0\]\.weight: must be 1-100$/);
  has(/^services\[1\]\.port: /);
  has(/^rules\[0\]\.uplink: unknown uplink "nope"$/);
  has(/^portForwards\[0\]\.to: is not inside any LAN network$/);
  has(/^lan\[0\]\.address: is the network address/);
  assert.ok(r.fieldErrors['uplinks[0].weight']);
  const v = parseConfig({ version: 2 });
  assert.ok(!v.ok && v.errors.some((e) => e.startsWith('version: ')));
  const dup = parseConfig({ version: 1, uplinks: [{ name: 'a', interface: 'eth1' }, { name: 'a', interface: 'eth2' }] });
  assert.ok(!dup.ok && dup.errors.some((e) => /^uplinks\[1\]\.name: duplicate name/.test(e)));
});

const PAYLOADS = ['x;y', 'x"y', "x'y", 'x\ny', 'x}y', 'x{y', 'eth1" accept', '1.2.3.4; flush ruleset', '10.0.0.0/8 }', 'a b', '$x', 'x\\y'];

/** Every string field of the document, as [path, setter]. */
function stringFields(): [string, (d: Record<string, any>, v: string) => void][] {
  return [
    ['lan[0].name', (d, v) => { d.lan[0].name = v; }],
    ['lan[0].interface', (d, v) => { d.lan[0].interface = v; }],
    ['lan[0].address', (d, v) => { d.lan[0].address = v; }],
    ['uplinks[0].name', (d, v) => { d.uplinks[0].name = v; }],
    ['uplinks[0].interface', (d, v) => { d.uplinks[0].interface = v; }],
    ['uplinks[0].gateway', (d, v) => { d.uplinks[0].gateway = v; }],
    ['uplinks[0].health.targets[0]', (d, v) => { d.uplinks[0].health.targets[0] = v; }],
    ['services[0].name', (d, v) => { d.services[0].name = v; }],
    ['services[0].port', (d, v) => { d.services[0].port = v; }],
    ['services[0].uplinks[0]', (d, v) => { d.services[0].uplinks[0] = v; }],
    ['services[3].sources[0]', (d, v) => { d.services[3].sources[0] = v; }],
    ['rules[0].name', (d, v) => { d.rules[0].name = v; }],
    ['rules[0].destination', (d, v) => { d.rules[0].destination = v; }],
    ['rules[0].source', (d, v) => { d.rules[0].source = v; }],
    ['rules[0].port', (d, v) => { d.rules[0].port = v; }],
    ['rules[0].sourceList', (d, v) => { d.rules[0].sourceList = v; }],
    ['rules[0].uplink', (d, v) => { d.rules[0].uplink = v; }],
    ['addressLists[0].name', (d, v) => { d.addressLists[0].name = v; }],
    ['addressLists[0].entries[0]', (d, v) => { d.addressLists[0].entries[0] = v; }],
    ['portForwards[0].name', (d, v) => { d.portForwards[0].name = v; }],
    ['portForwards[0].to', (d, v) => { d.portForwards[0].to = v; }],
    ['portForwards[0].port', (d, v) => { d.portForwards[0].port = v; }],
    ['portForwards[0].sources[0]', (d, v) => { d.portForwards[0].sources = [v]; }],
    ['portForwards[0].uplinks[0]', (d, v) => { d.portForwards[0].uplinks[0] = v; }],
    ['policies[0].name', (d, v) => { d.policies[0].name = v; }],
    ['policies[0].source', (d, v) => { d.policies[0].source = v; }],
    ['policies[0].destination', (d, v) => { d.policies[0].destination = v; }],
    ['policies[0].uplink', (d, v) => { d.policies[0].uplink = v; }],
    ['policies[0].port', (d, v) => { d.policies[0].protocol = 'tcp'; d.policies[0].port = v; }],
    ['firewall.icmpIn[0]', (d, v) => { d.firewall.icmpIn = [v]; }],
    ['firewall.sticky', (d, v) => { d.firewall.sticky = v; }],
    ['sysctl.rpFilter', (d, v) => { d.sysctl.rpFilter = v; }],
    ['services[1].helper', (d, v) => { d.services[1].helper = v; }],
    ['rules[0].action', (d, v) => { d.rules[0].action = v; }],
  ];
}

test('smuggling ; quotes newlines braces into any string field is rejected at that path', () => {
  let checked = 0;
  for (const [path, set] of stringFields()) {
    for (const p of PAYLOADS) {
      const doc = exampleDoc();
      doc.addressLists = [{ name: 'lst', entries: ['10.0.0.0/8'] }];
      doc.rules[0].sourceList = 'lst';
      set(doc, p);
      const r = parseConfig(doc);
      assert.equal(r.ok, false, `${path} accepted ${JSON.stringify(p)}`);
      if (!r.ok) {
        // the error names the field (or, for references, the referencing field)
        assert.ok(r.errors.some((e) => e.startsWith(path.replace(/\[0\]$/, '')) || e.includes(path.split('.')[0])), `${path}: ${r.errors.join(' | ')}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 300);
});

test('description is free text but never appears in nft output', () => {
  const doc = exampleDoc();
  const evil = 'DESC"; } } table ip x { chain y { type filter hook input priority 0; policy drop; }\n#;';
  doc.rules[0].description = evil;
  const r = parseConfig(doc);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const facts = { interfaces: {}, health: {} };
  const plan = compile(r.value, facts);
  const all = plan.nftDeclaration + (plan.nftObjects ?? '') + renderTransaction(plan, null) + JSON.stringify(plan);
  assert.ok(!all.includes('DESC'));
  assert.ok(!all.includes('table ip x'));
  doc.rules[0].description = 'x'.repeat(201);
  const long = parseConfig(doc);
  assert.ok(!long.ok && long.errors.some((e) => /^rules\[0\]\.description: at most 200 characters$/.test(e)));
});

test('a conntrack helper only with a protocol the kernel has it for (found by the property tests)', () => {
  const withHelper = (helper: string, protocol: string) =>
    parseConfig({ version: 1, services: [{ name: 's', protocol, port: 21, helper }] });
  for (const [helper, protocol] of [['ftp', 'tcp'], ['tftp', 'udp'], ['sip', 'udp'], ['sip', 'tcp'], ['irc', 'tcp']]) {
    const r = withHelper(helper, protocol);
    assert.ok(r.ok, `${helper}/${protocol}: ${r.ok ? '' : r.errors.join('; ')}`);
  }
  for (const [helper, protocol, only] of [['ftp', 'udp', 'tcp'], ['tftp', 'tcp', 'udp'], ['irc', 'udp', 'tcp']]) {
    const r = withHelper(helper, protocol);
    assert.ok(!r.ok, `${helper}/${protocol} accepted (the kernel refuses a ct helper "${helper}" protocol ${protocol})`);
    assert.deepEqual(r.errors, [`services[0].helper: the ${helper} helper exists for ${only} only, not ${protocol}`]);
  }
});

test('a malformed value gets one short error at its own path, not a cross-field echo of it (found by the property tests)', () => {
  const junk = `${'a'.repeat(100000)};$(reboot)`;
  const base = () => ({
    version: 1, lan: [{ name: 'lan', interface: 'eth0', address: '192.168.1.1/24' }], uplinks: [{ name: 'dsl', interface: 'eth1' }],
    addressLists: [{ name: 'l', entries: [] }], policies: [{ name: 'p', uplink: 'dsl' }], rules: [{ name: 'r', chain: 'forward', action: 'drop', sourceList: 'l' }],
  }) as Record<string, any>;
  const cases: [string, (d: Record<string, any>) => void][] = [
    ['policies[0].uplink', (d) => { d.policies[0].uplink = junk; }],
    ['rules[0].sourceList', (d) => { d.rules[0].sourceList = junk; }],
    ['uplinks[1].name', (d) => { d.uplinks.push({ name: junk, interface: 'eth2' }, { name: junk, interface: 'eth3' }); }],
    ['lan[0].interface', (d) => { d.lan[0].interface = junk; d.uplinks[0].interface = junk; }],
    ['(document)', (d) => { d[junk] = 1; }],
  ];
  for (const [path, set] of cases) {
    const d = base();
    set(d);
    const r = parseConfig(d);
    assert.ok(!r.ok, path);
    assert.ok(r.errors.some((e) => e.startsWith(`${path}: `)), `${path}: ${r.errors.map((e) => e.slice(0, 80)).join(' | ')}`);
    for (const e of r.errors) assert.ok(e.length < 200, `${path}: an error of ${e.length} characters`);
    assert.equal(new Set(r.errors.map((e) => e.split(': ')[0])).size, r.errors.length, `${path}: two errors at one path: ${r.errors.map((e) => e.slice(0, 80)).join(' | ')}`);
  }
  // a well-formed dangling reference is still named
  const d = base();
  d.policies[0].uplink = 'nope';
  const r = parseConfig(d);
  assert.ok(!r.ok && r.errors.includes('policies[0].uplink: unknown uplink "nope"'));
});

test('an uplink given with id: undefined (a form, not JSON) still gets an id (found by the property tests)', () => {
  const r = parseConfig({
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [
      { name: 'a', interface: 'wan1', id: undefined },
      { name: 'b', interface: 'wan2', id: undefined },
    ],
  });
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.deepEqual(r.value.uplinks.map((u) => u.id), [1, 2]);
  assert.deepEqual(Object.keys(r.value.uplinks[0]).slice(0, 2), ['name', 'id']);
});

test('IPv6: special addresses are refused where a host or router is meant', () => {
  const base = {
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  };
  const bad: [unknown, string][] = [
    [{ ...base, uplinks: [{ name: 'a', interface: 'wan1', ipv6: { gateway: 'ff02::2' } }] }, 'uplinks[0].ipv6.gateway'],
    [{ ...base, uplinks: [{ name: 'a', interface: 'wan1', ipv6: { gateway: '::' } }] }, 'uplinks[0].ipv6.gateway'],
    [{ ...base, uplinks: [{ name: 'a', interface: 'wan1', health: { targets: ['::1'] } }] }, 'uplinks[0].health.targets[0]'],
    [{ ...base, uplinks: [{ name: 'a', interface: 'wan1' }], portForwards: [{ name: 'f', protocol: 'tcp', port: 22, to: '::ffff:192.168.1.5' }] }, 'portForwards[0].to'],
  ];
  for (const [doc, path] of bad) {
    const r = parseConfig(doc);
    assert.ok(!r.ok, `accepted: ${JSON.stringify(doc)}`);
    assert.ok(r.errors.some((e) => e.startsWith(`${path}: `)), `${path} not named: ${r.errors.join('; ')}`);
  }
  const ok = parseConfig({ ...base, uplinks: [{ name: 'a', interface: 'wan1', ipv6: { gateway: 'fe80::1' }, health: { targets: ['2001:db8::1'] } }] });
  assert.ok(ok.ok, ok.ok ? '' : ok.errors.join('\n'));
});

test('health quorum per family: ⌈n/2⌉ of that family by default, a set quorum capped at the family size', async () => {
  const { familyQuorum } = await import('../../lib/validations/config');
  const up = (health?: Record<string, unknown>) => ({ name: 'a', interface: 'eth1', gateway: 'auto', weight: 1, priority: 1, enabled: true, drain: false, failback: 'keep', ...(health ? { health } : {}) }) as never;
  const six = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '2001:db8::1', '2001:db8::2', '2001:db8::3'];
  assert.equal(familyQuorum(up({ targets: six }), 3), 2, '3 IPv4 + 3 IPv6 targets: 2 of 3 per family, not 3 of 3');
  assert.equal(familyQuorum(up({ targets: six }), 1), 1);
  assert.equal(familyQuorum(up({ targets: six, quorum: 3 }), 3), 3);
  assert.equal(familyQuorum(up({ targets: six, quorum: 5 }), 3), 3, 'capped at the family size');
  assert.equal(familyQuorum(up({ targets: six, quorum: 1 }), 3), 1);
  assert.equal(familyQuorum(up(), 4), 2);
});

test('references are reported together with schema errors, even when zod stops before its cross-field checks', () => {
  const doc = exampleDoc();
  const uplink = doc.uplinks[0].name as string;
  // A type error (zod then skips the document's refinements) plus two dangling references.
  doc.uplinks[0].weight = 'heavy';
  doc.policies = [{ name: 'p-ghost', uplink: 'ghost', source: '192.168.1.0/24' }];
  doc.rules = [...(doc.rules ?? []), { name: 'r-list', chain: 'forward', action: 'drop', sourceList: 'nolist' }];
  const r = parseConfig(doc);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.errors.some((e) => e.startsWith('uplinks[0].weight:')), r.errors.join('\n'));
  assert.ok(r.errors.includes('policies[0].uplink: unknown uplink "ghost"'), r.errors.join('\n'));
  assert.ok(r.errors.some((e) => /^rules\[\d+\]\.sourceList: unknown address list "nolist"$/.test(e)), r.errors.join('\n'));
  // A reference to an uplink that exists is not reported, and nothing is reported twice.
  doc.uplinks[0].weight = 1;
  doc.policies = [{ name: 'p-ok', uplink, source: '192.168.1.0/24' }, { name: 'p-ghost', uplink: 'ghost', source: '192.168.1.0/24' }];
  const r2 = parseConfig(doc);
  assert.equal(r2.ok, false);
  if (r2.ok) return;
  assert.deepEqual(r2.errors.filter((e) => e.includes('unknown uplink')), ['policies[1].uplink: unknown uplink "ghost"']);
  assert.equal(new Set(r2.errors).size, r2.errors.length);
});

test('the health profiles validate (the fast profile is a config an admin can write)', async () => {
  const { HEALTH_DEFAULTS, HEALTH_FAST } = await import('../../lib/validations/config');
  for (const h of [HEALTH_DEFAULTS, HEALTH_FAST]) {
    const r = parseConfig({ version: 1, uplinks: [{ name: 'isp1', interface: 'wan1', health: { targets: ['192.0.2.1'], ...h } }] });
    assert.ok(r.ok, r.ok ? '' : r.errors.join('; '));
  }
  const bad = parseConfig({ version: 1, uplinks: [{ name: 'isp1', interface: 'wan1', health: { targets: ['192.0.2.1'], intervalMs: 40 } }] });
  assert.ok(!bad.ok && bad.errors.some((e) => /^uplinks\[0\]\.health\.intervalMs: must be ≥ 50/.test(e)), JSON.stringify(bad));
});
