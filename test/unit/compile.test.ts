import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig, type Config, type ConfigInput } from '../../lib/validations/config';
import { compile, renderTransaction, planHash, weightRanges, MARK_MASK, sysctlProcPath } from '../../lib/compile/index';
import type { Facts, IfaceFacts } from '../../lib/compile/types';

const iface = (name: string, address?: string, prefix = 24, gateway?: string): IfaceFacts => ({
  name, exists: true, up: true, carrier: true, addresses: address ? [{ address, prefix }] : [], ...(gateway ? { gateway } : {}),
});
function cfg(doc: ConfigInput): Config {
  const r = parseConfig(doc);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}
const example = () => cfg(JSON.parse(readFileSync(new URL('../../docs/example.json', import.meta.url), 'utf8')));
const exampleFacts = (health: Facts['health'] = {}): Facts => ({
  interfaces: {
    eth0: iface('eth0', '192.168.1.1'), eth1: iface('eth1', '198.51.100.2'),
    eth2: iface('eth2', '100.64.0.2', 24, '100.64.0.1'), wwan0: iface('wwan0', '10.64.1.2', 30, '10.64.1.1'),
  },
  health,
});
const twoUp = (wa: number, wb: number, extra: Partial<ConfigInput> = {}) => cfg({
  version: 1, lan: [{ name: 'lan', interface: 'eth0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'a', interface: 'eth1', weight: wa }, { name: 'b', interface: 'eth2', weight: wb }], ...extra,
});
const twoFacts = (health: Facts['health'] = {}): Facts => ({
  interfaces: { eth0: iface('eth0', '192.168.1.1'), eth1: iface('eth1', '10.0.1.2', 24, '10.0.1.1'), eth2: iface('eth2', '10.0.2.2', 24, '10.0.2.1') },
  health,
});
const selectChain = (nft: string) => (/chain select \{\n([\s\S]*?)\t\}/.exec(nft)?.[1] ?? 'MISSING').trimEnd();

test('compile is deterministic (same input → byte-identical plan), also after a JSON round trip', () => {
  const a = compile(example(), exampleFacts());
  const b = compile(example(), exampleFacts());
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  const c = compile(cfg(JSON.parse(JSON.stringify(example()))), exampleFacts());
  assert.equal(c.nftDeclaration, a.nftDeclaration);
  assert.equal(renderTransaction(a, null), renderTransaction(c, null));
  assert.equal(planHash(a), planHash(c));
  assert.match(planHash(a), /^[0-9a-f]{16}$/);
});

test('weights 3:1 give numgen map ranges 0-2 and 3', () => {
  assert.deepEqual(weightRanges([{ id: 2, weight: 1 }, { id: 1, weight: 3 }]), { total: 4, ranges: [[0, 2, 0x100], [3, 3, 0x200]] });
  const p = compile(twoUp(3, 1), twoFacts());
  assert.match(selectChain(p.nftDeclaration), /ct mark set numgen random mod 4 map \{ 0-2 : 0x00000100, 3 : 0x00000200 \}/);
  const p2 = compile(twoUp(1, 1), twoFacts());
  assert.match(selectChain(p2.nftDeclaration), /numgen random mod 2 map \{ 0 : 0x00000100, 1 : 0x00000200 \}/);
});

test('tier selection: lowest usable priority wins, backups get a reason', () => {
  const c = example();
  const p = compile(c, exampleFacts());
  assert.deepEqual(p.uplinks.map((u) => [u.name, u.active, u.reason]), [['dsl', true, null], ['cable', true, null], ['lte', false, { code: 'backup', detail: 'backup (priority 2)' }]]);
  // both tier-1 uplinks down → lte takes over alone
  const q = compile(c, exampleFacts({ dsl: 'down', cable: 'down' }));
  const down = { code: 'health-down', detail: 'down' };
  assert.deepEqual(q.uplinks.map((u) => [u.name, u.active, u.reason]), [['dsl', false, down], ['cable', false, down], ['lte', true, null]]);
  assert.match(selectChain(q.nftDeclaration), /^\t\tct mark set 0x00000300 comment "lw:select:weighted"$/m);
  assert.doesNotMatch(selectChain(q.nftDeclaration), /numgen/);
  // disabled / draining
  const d = cfg({ ...JSON.parse(JSON.stringify(c)), uplinks: c.uplinks.map((u, i) => (i === 0 ? { ...u, enabled: false } : i === 1 ? { ...u, drain: true } : u)) });
  assert.deepEqual(compile(d, exampleFacts()).uplinks.map((u) => u.reason), [{ code: 'disabled', detail: 'disabled' }, { code: 'draining', detail: 'draining' }, null]);
});

test('health down removes an uplink from selection but keeps its routes, rules, marks and NAT', () => {
  const up = compile(twoUp(3, 1), twoFacts());
  const down = compile(twoUp(3, 1), twoFacts({ a: 'down' }));
  assert.equal(down.uplinks[0].active, false);
  assert.deepEqual(down.uplinks[0].reason, { code: 'health-down', detail: 'down' });
  const perUplink = (p: typeof up) => p.routes.filter((r) => r.table !== 200);
  assert.deepEqual(perUplink(down), perUplink(up));
  assert.ok(down.routes.some((r) => r.table === 201 && r.dst === 'default' && r.via === '10.0.1.1'));
  assert.deepEqual(down.rules, up.rules);
  // fallback table 200 only has b; selection only b
  assert.deepEqual(down.routes.filter((r) => r.table === 200), [{ table: 200, dst: 'default', via: '10.0.2.1', dev: 'eth2' }]);
  assert.match(selectChain(down.nftDeclaration), /ct mark set 0x00000200/);
  assert.doesNotMatch(selectChain(down.nftDeclaration), /0x00000100/);
  assert.match(down.nftDeclaration, /ct state new iifname "eth1" ct mark set 0x00000100/);
  assert.match(down.nftDeclaration, /oifname "eth1" masquerade/);
});

test('no active uplink: no selection, a warning, traffic falls to main', () => {
  const p = compile(twoUp(1, 1), twoFacts({ a: 'down', b: 'down' }));
  assert.equal(selectChain(p.nftDeclaration), '');
  assert.doesNotMatch(p.nftDeclaration, /jump select/);
  assert.ok(p.warnings.some((w) => /no uplink is active/.test(w)));
  assert.ok(!p.routes.some((r) => r.table === 200));
});

test('gateway auto without facts and missing addresses go to unresolved', () => {
  const p = compile(example(), { interfaces: { eth0: iface('eth0', '192.168.1.1'), eth1: iface('eth1', '198.51.100.2'), eth2: iface('eth2', '100.64.0.2') }, health: {} });
  assert.deepEqual(p.uplinks.map((u) => u.reason), [null, { code: 'no-gateway', detail: 'no gateway' }, { code: 'no-interface', detail: 'interface wwan0 does not exist' }]);
  assert.equal(p.unresolved.length, 2);
  assert.ok(p.unresolved[0].includes('cable'));
  // connected route of cable still emitted, but no default
  assert.ok(p.routes.some((r) => r.table === 202 && r.dst === '100.64.0.0/24'));
  assert.ok(!p.routes.some((r) => r.table === 202 && r.dst === 'default'));
});

test('ip rules and marks follow the documented layout', () => {
  const p = compile(example(), exampleFacts());
  assert.deepEqual(p.rules.map((r) => r.priority), [10000, 10101, 10102, 10103, 10201, 10202, 10203, 10900]);
  assert.deepEqual(p.rules[0], { priority: 10000, table: 'main', suppressPrefixlength: 0 });
  assert.deepEqual(p.rules[4], { priority: 10201, table: 201, fwmark: { value: 0x100, mask: MARK_MASK } });
  assert.deepEqual(p.rules[1], { priority: 10101, table: 201, from: '198.51.100.2' });
  const mp = p.routes.find((r) => r.table === 200)!;
  assert.deepEqual(mp.nexthops, [{ via: '198.51.100.1', dev: 'eth1', weight: 3 }, { via: '100.64.0.1', dev: 'eth2', weight: 1 }]);
});

test('counters: one per rule/service/forward/policy/uplink plus built-ins, all declared', () => {
  const p = compile(example(), exampleFacts());
  const names = p.counters.map((c) => c.name);
  for (const n of ['lw_r_no_telnet', 'lw_s_ssh', 'lw_s_ntp', 'lw_p_web', 'lw_pol_voip_on_cable', 'lw_u_1_in', 'lw_u_3_out', 'lw_b_drop_input', 'lw_b_antilockout', 'lw_b_icmp_out_drop']) {
    assert.ok(names.includes(n), n);
    assert.match(p.nftDeclaration, new RegExp(`counter ${n} \\{ \\}`));
  }
  assert.equal(new Set(names).size, names.length);
  assert.ok(p.counters.filter((c) => c.kind === 'builtin').every((c) => c.description));
  assert.deepEqual(p.inventory.counters, names);
  // every counter reference points to a declared counter
  for (const m of p.nftDeclaration.matchAll(/counter name "([^"]+)"/g)) assert.ok(names.includes(m[1]), m[1]);
});

test('sysctls: loose rp_filter everywhere, VLAN dots become slashes', () => {
  const c = cfg({ version: 1, lan: [{ name: 'lan', interface: 'eth0.10', address: '192.168.1.1/24' }], uplinks: [{ name: 'a', interface: 'eth1' }], sysctl: { rpFilter: 'loose', syncookies: false } });
  const present = (name: string) => ({ name, exists: true, up: true, carrier: true, addresses: [] });
  const s = compile(c, { interfaces: { 'eth0.10': present('eth0.10'), eth1: present('eth1') }, health: {} }).sysctls;
  assert.equal(s['net.ipv4.conf.eth0/10.rp_filter'], '2');
  assert.equal(s['net.ipv6.conf.eth1.accept_ra'], '2', 'uplinks keep accepting router advertisements with forwarding on');
  assert.equal(s['net.ipv6.conf.all.forwarding'], '1');
  // an interface that does not exist gets no per-interface key (it could not be written)
  assert.equal(compile(c, { interfaces: {}, health: {} }).sysctls['net.ipv4.conf.eth1.rp_filter'], undefined);
  assert.equal(compile(c, { interfaces: {}, health: {}, ipv6: false }).sysctls['net.ipv6.conf.all.forwarding'], undefined, 'no IPv6 keys without IPv6');
  assert.equal(s['net.ipv4.conf.eth1.rp_filter'], '2');
  assert.equal(s['net.ipv4.conf.all.rp_filter'], '2');
  assert.equal(s['net.ipv4.ip_forward'], '1');
  assert.equal(s['net.ipv4.tcp_syncookies'], '0');
  assert.equal(s['net.ipv4.conf.all.accept_redirects'], '0');
  assert.equal(sysctlProcPath('net.ipv4.conf.eth0/10.rp_filter'), '/proc/sys/net/ipv4/conf/eth0.10/rp_filter');
});

test('anti-lockout: dashboard port (+22 with an ssh service) from LAN unless allowLockout', () => {
  const p = compile(example(), exampleFacts());
  assert.match(p.nftDeclaration, /iifname "eth0" tcp dport \{ 3000, 22 \} counter name "lw_b_antilockout" accept/);
  const q = compile(twoUp(1, 1, { firewall: { allowLockout: true } }), twoFacts());
  assert.doesNotMatch(q.nftDeclaration, /antilockout" accept/);
  const r = compile(twoUp(1, 1), twoFacts());
  assert.match(r.nftDeclaration, /iifname "eth0" tcp dport 3000 counter name "lw_b_antilockout" accept/);
});

test('sticky source: pin sets for usable uplinks, dynamic, refreshed after the weighted pick', () => {
  const p = compile(twoUp(1, 1, { firewall: { sticky: 'source', stickySeconds: 120 } }), twoFacts());
  assert.deepEqual(p.dynamicSets, ['lw_pin_1', 'lw_pin_2', 'lw_drop_input', 'lw_drop_forward', 'lw_drop_input6', 'lw_drop_forward6', 'lw_banned', 'lw_scan', 'lw_scan_ports', 'lw_banned6', 'lw_scan6', 'lw_scan_ports6']);
  const sel = selectChain(p.nftDeclaration);
  assert.match(sel, /ip saddr @lw_pin_1 ct mark set 0x00000100 update @lw_pin_1 \{ ip saddr timeout 120s \} return/);
  assert.match(sel, /ct mark and 0xff00 == 0x00000200 update @lw_pin_2 \{ ip saddr timeout 120s \}/);
  const t = renderTransaction(p, null);
  assert.doesNotMatch(t, /flush set inet linkward lw_pin_/);
  assert.doesNotMatch(t, /flush set inet linkward lw_banned/);
});

test('rule description (free text) never reaches nft output', () => {
  const marker = 'SECRET"; } flush ruleset; #';
  const c = twoUp(1, 1, { rules: [{ name: 'r1', chain: 'input', action: 'drop', source: '203.0.113.0/24', description: marker }] });
  const p = compile(c, twoFacts());
  assert.ok(!p.nftDeclaration.includes('SECRET'));
  assert.ok(!renderTransaction(p, null).includes('SECRET'));
  assert.match(p.nftDeclaration, /counter name "lw_r_r1" drop comment "lw:rule:r1"/);
});

test('rules: uplink restriction, lists, ranges, log, reject with tcp reset', () => {
  const c = twoUp(1, 1, {
    addressLists: [{ name: 'bad', entries: ['10.0.0.0/8', '10.1.0.0/16', '11.0.0.0/8', '192.0.2.7'] }],
    rules: [
      { name: 'f1', chain: 'forward', action: 'reject', protocol: 'tcp', port: '1000-2000', uplink: 'b', sourceList: 'bad', log: true },
      { name: 'o1', chain: 'output', action: 'reject', protocol: 'udp', uplink: 'a' },
      { name: 'off', chain: 'input', action: 'accept', enabled: false },
    ],
  });
  const d = compile(c, twoFacts()).nftDeclaration;
  assert.match(d, /iifname "eth2" ip saddr @lw_l_bad tcp dport 1000-2000 counter name "lw_r_f1" log prefix "lw:f1 " reject with tcp reset comment "lw:rule:f1"/);
  assert.match(d, /oifname "eth2" ip saddr @lw_l_bad tcp dport 1000-2000 counter name "lw_r_f1" log prefix "lw:f1 " reject with tcp reset/);
  assert.match(d, /oifname "eth1" meta l4proto udp counter name "lw_r_o1" reject comment/);
  assert.doesNotMatch(d, /lw:rule:off/);
  // merged: 10/8 ⊇ 10.1/16, 10/8 + 11/8 adjacent → 10/7
  assert.match(d, /elements = \{ 10\.0\.0\.0\/7,\n\t\t\t     192\.0\.2\.7 \}/);
});

test('renderTransaction: ensures, flushes, fills, then deletes stale objects; never deletes the table', () => {
  const p = compile(twoUp(1, 1, { addressLists: [{ name: 'x', entries: ['10.0.0.0/8'] }], rules: [{ name: 'r', chain: 'input', action: 'drop', sourceList: 'x' }] }), twoFacts());
  const existing = {
    chains: [...p.inventory.chains, 'old_chain', 'lw_meta'], sets: [...p.inventory.sets, 'lw_l_gone'], maps: [],
    counters: [...p.inventory.counters, 'lw_r_gone'], ctHelpers: ['lw_h_ftp'],
  };
  const t = renderTransaction(p, existing);
  const idx = (s: string) => { const i = t.indexOf(s); assert.ok(i >= 0, `missing: ${s}`); return i; };
  assert.ok(idx('table inet linkward\n') === 0);
  assert.ok(idx('flush chain inet linkward input') < idx('iif "lo" accept'));
  assert.ok(idx('flush chain inet linkward old_chain') < idx('delete chain inet linkward old_chain'));
  assert.ok(idx('flush set inet linkward lw_l_x') < idx('elements = { 10.0.0.0/8 }'));
  assert.ok(idx('iif "lo" accept') < idx('delete set inet linkward lw_l_gone'));
  assert.ok(idx('delete chain inet linkward old_chain') < idx('delete set inet linkward lw_l_gone'));
  idx('delete counter inet linkward lw_r_gone');
  idx('delete ct helper inet linkward lw_h_ftp');
  assert.ok(idx(`add rule inet linkward lw_meta return comment "lw:${planHash(p)}"`) > idx('delete counter'));
  assert.doesNotMatch(t, /delete table|flush table|delete chain inet linkward lw_meta/);
  assert.doesNotMatch(t, /flush set inet linkward lw_(banned|scan)/);
});

test('10 000+ entry address lists merge and render (timing is in bench/, not asserted here)', () => {
  const mk = (n: number) => Array.from({ length: n }, (_, i) => `${1 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`);
  const c = twoUp(1, 1, { addressLists: [{ name: 'big', entries: mk(100000) }], rules: [{ name: 'r', chain: 'forward', action: 'drop', destinationList: 'big' }] });
  const p = compile(c, twoFacts());
  const t = renderTransaction(p, null);
  // 100 000 adjacent /24s merge into one range
  assert.match(t, /elements = \{ 1\.0\.0\.0-2\.134\.159\.255 \}/);
  // non-mergeable: every other /24
  const c2 = twoUp(1, 1, { addressLists: [{ name: 'big', entries: mk(40000).filter((_, i) => i % 2 === 0) }], rules: [{ name: 'r', chain: 'forward', action: 'drop', destinationList: 'big' }] });
  const p2 = compile(c2, twoFacts());
  assert.ok(renderTransaction(p2, null).includes('set lw_l_big {'));
  assert.equal(p2.staticSets.lw_l_big.elements.filter((e) => e.endsWith('/24')).length, 20000);
});

test('a gateway outside the connected network (PPP /32) gets onlink', () => {
  const c = cfg({ version: 1, uplinks: [{ name: 'ppp', interface: 'ppp0' }, { name: 'eth', interface: 'eth1' }] });
  const p = compile(c, { interfaces: { ppp0: iface('ppp0', '100.72.3.4', 32, '100.72.0.1'), eth1: iface('eth1', '10.0.1.2', 24, '10.0.1.1') }, health: { eth: 'down' } });
  assert.deepEqual(p.routes.find((r) => r.table === 201 && r.dst === 'default'), { table: 201, dst: 'default', via: '100.72.0.1', dev: 'ppp0', onlink: true });
  assert.deepEqual(p.routes.find((r) => r.table === 202 && r.dst === 'default'), { table: 202, dst: 'default', via: '10.0.1.1', dev: 'eth1' });
  assert.deepEqual(p.routes.find((r) => r.table === 200), { table: 200, dst: 'default', via: '100.72.0.1', dev: 'ppp0', onlink: true });
});
