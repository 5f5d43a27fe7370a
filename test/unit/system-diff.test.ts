import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRoutes, diffRules, parseRoutes, parseRules, routeReplaceArgv } from '../../agent/system/routes';
import { factsFromJson } from '../../agent/system/facts';
import { countersFromJson, inventoryFromJson, normalizeTableJson, tableCommentFromText, markerFromChainJson } from '../../agent/system/nft';
import { parseConntrack } from '../../agent/system/conntrack';
import { isSysctlKey } from '../../agent/system/sysctl';
import { sysctlProcPath } from '../../lib/compile/sysctl';

// Real `ip -j` output captured from iproute2 6.1 (kernel decorations included).
const KERNEL_ROUTES = JSON.stringify([
  { dst: 'default', flags: [], table: '200', nexthops: [{ gateway: '10.2.0.1', dev: 'u2', weight: 1, flags: ['dead', 'linkdown'] }, { gateway: '10.1.0.1', dev: 'u1', weight: 3, flags: [] }] },
  { dst: 'default', gateway: '10.1.0.1', dev: 'u1', table: '201', flags: ['onlink'] },
  { dst: '10.1.0.0/24', dev: 'u1', table: '201', protocol: 'boot', scope: 'link', prefsrc: '10.1.0.2', flags: ['linkdown'] },
  { dst: '10.1.0.0/24', dev: 'u1', protocol: 'kernel', scope: 'link', prefsrc: '10.1.0.2', flags: [] },
  { type: 'local', dst: '10.1.0.2', dev: 'u1', table: 'local', protocol: 'kernel', scope: 'host', prefsrc: '10.1.0.2', flags: [] },
  { dst: '192.168.9.0/24', dev: 'u1', table: '100', scope: 'link', flags: [] },
]);

test('parseRoutes keeps only tables 200..250 and canonicalizes', () => {
  const r = parseRoutes(KERNEL_ROUTES);
  assert.equal(r.length, 3);
  assert.deepEqual(r.map((x) => x.table), [200, 201, 201]);
  assert.equal(r[0].nexthops?.length, 2);
});

test('diffRoutes: kernel decorations (flags, protocol, nexthop order, linkdown/dead) give zero ops', () => {
  const ops = diffRoutes(parseRoutes(KERNEL_ROUTES), [
    { table: 200, dst: 'default', dev: 'u1', nexthops: [{ via: '10.1.0.1', dev: 'u1', weight: 3 }, { via: '10.2.0.1', dev: 'u2', weight: 1 }] },
    { table: 201, dst: 'default', dev: 'u1', via: '10.1.0.1' },
    { table: 201, dst: '10.1.0.0/24', dev: 'u1', src: '10.1.0.2' }, // scope link implied
  ]);
  assert.deepEqual(ops, []);
});

test('diffRoutes: changed gateway → one replace, stale → precise delete, foreign tables untouched', () => {
  const ops = diffRoutes(parseRoutes(KERNEL_ROUTES), [
    { table: 200, dst: 'default', dev: 'u1', nexthops: [{ via: '10.1.0.1', dev: 'u1', weight: 1 }] },
    { table: 201, dst: 'default', dev: 'u1', via: '10.1.0.254' },
  ]);
  assert.deepEqual(
    ops.map((o) => o.argv.join(' ')),
    [
      'ip -4 route replace default table 200 nexthop via 10.1.0.1 dev u1 weight 1',
      'ip -4 route replace default table 201 via 10.1.0.254 dev u1',
      'ip -4 route del 10.1.0.0/24 table 201 dev u1',
    ],
  );
  assert.ok(ops.every((o) => !o.argv.includes('100') && !o.argv.includes('main')));
});

test('diffRoutes: a stale route with a metric is deleted with its metric; a replaced key is not deleted', () => {
  const cur = parseRoutes(JSON.stringify([
    { dst: '10.9.0.0/16', gateway: '10.1.0.1', dev: 'u1', table: '203', metric: 7, flags: [] },
    { dst: '10.8.0.0/16', gateway: '10.1.0.1', dev: 'u1', table: '203', flags: [] },
    { type: 'unreachable', dst: '10.7.0.0/16', table: '203', flags: [] },
  ]));
  const ops = diffRoutes(cur, [{ table: 203, dst: '10.8.0.0/16', dev: 'u2', via: '10.2.0.1' }]);
  assert.deepEqual(ops.map((o) => o.argv.join(' ')), [
    'ip -4 route replace 10.8.0.0/16 table 203 via 10.2.0.1 dev u2',
    'ip -4 route del 10.9.0.0/16 table 203 metric 7 via 10.1.0.1 dev u1',
    'ip -4 route del unreachable 10.7.0.0/16 table 203',
  ]);
});

test('route argv validation rejects hostile strings and foreign tables', () => {
  assert.throws(() => routeReplaceArgv({ table: 201, dst: 'default', dev: 'u1;rm', via: '10.1.0.1' }));
  assert.throws(() => routeReplaceArgv({ table: 201, dst: 'default', dev: 'u1', via: '10.1.0.1 x' }));
  assert.throws(() => routeReplaceArgv({ table: 254, dst: 'default', dev: 'u1' }));
  assert.throws(() => diffRoutes([], [{ table: 100, dst: 'default', dev: 'u1' }]));
});

const KERNEL_RULES = JSON.stringify([
  { priority: 0, src: 'all', table: 'local' },
  { priority: 9000, src: '10.0.0.0', srclen: 8, table: '100' },
  { priority: 10000, src: 'all', table: 'main', suppress_prefixlen: 0 },
  { priority: 10101, src: 'all', fwmark: '0x100', fwmask: '0xff00', table: '201' },
  { priority: 10201, src: '10.1.0.2', table: '201' },
  { priority: 10500, src: 'all', ipproto: 'tcp', dport: 80, table: '201' },
  { priority: 32766, src: 'all', table: 'main' },
]);

test('diffRules: unchanged → zero ops; stale and odd rules removed; foreign priorities untouched', () => {
  const cur = parseRules(KERNEL_RULES);
  assert.equal(cur.length, 4);
  const same = diffRules(cur.filter((r) => r.priority !== 10500), [
    { priority: 10000, table: 'main', suppressPrefixlength: 0 },
    { priority: 10101, table: 201, fwmark: { value: 0x100, mask: 0xff00 } },
    { priority: 10201, table: 201, from: '10.1.0.2/32' },
  ]);
  assert.deepEqual(same, []);
  const ops = diffRules(cur, [
    { priority: 10000, table: 'main', suppressPrefixlength: 0 },
    { priority: 10101, table: 202, fwmark: { value: 0x100, mask: 0xff00 } },
  ]);
  assert.deepEqual(ops.map((o) => o.argv.join(' ')), [
    'ip -4 rule del priority 10500 lookup 201',
    'ip -4 rule add priority 10101 fwmark 0x100/0xff00 lookup 202',
    'ip -4 rule del priority 10101 fwmark 0x100/0xff00 lookup 201',
    'ip -4 rule del priority 10201 from 10.1.0.2/32 lookup 201',
  ]);
  assert.ok(ops.every((o) => !o.argv.includes('9000') && !o.argv.includes('32766')));
});

test('diffRules: fwmark without mask equals mask 0xffffffff; duplicates are removed once', () => {
  const cur = parseRules(JSON.stringify([
    { priority: 10300, src: 'all', fwmark: '0x5', table: '205' },
    { priority: 10300, src: 'all', fwmark: '0x5', table: '205' },
  ]));
  const ops = diffRules(cur, [{ priority: 10300, table: 205, fwmark: { value: 5, mask: 0xffffffff } }]);
  assert.equal(ops.length, 1);
  assert.equal(ops[0].op, 'delete');
});

test('factsFromJson: flags, primary address first, lowest-metric gateway per dev, missing iface', () => {
  const links = JSON.stringify([
    { ifindex: 2, ifname: 'u1', flags: ['BROADCAST', 'UP', 'LOWER_UP'], mtu: 1500, extra: 1 },
    { ifindex: 3, ifname: 'u2', flags: ['NO-CARRIER', 'UP'] },
  ]);
  const addrs = JSON.stringify([
    { ifname: 'u1', addr_info: [{ family: 'inet', local: '10.1.0.9', prefixlen: 24, secondary: true }, { family: 'inet', local: '10.1.0.2', prefixlen: 24 }] },
  ]);
  const routes = JSON.stringify([
    { dst: 'default', gateway: '10.1.0.254', dev: 'u1', metric: 300 },
    { dst: 'default', gateway: '10.1.0.1', dev: 'u1', metric: 100 },
    { dst: 'default', gateway: '10.2.0.1', dev: 'u2', metric: 50 },
  ]);
  const f = factsFromJson(['u1', 'u2', 'lan0'], links, addrs, routes);
  assert.deepEqual(f.u1, { name: 'u1', exists: true, up: true, carrier: true, addresses: [{ address: '10.1.0.2', prefix: 24 }, { address: '10.1.0.9', prefix: 24 }], gateway: '10.1.0.1' });
  assert.equal(f.u2.carrier, false);
  assert.equal(f.u2.gateway, '10.2.0.1');
  assert.equal(f.lan0.exists, false);
});

const TABLE_JSON = (pk: number, elems: string[]) =>
  JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 'linkward', handle: 9 } },
      { counter: { family: 'inet', name: 'lw_r_a', table: 'linkward', handle: 2 + pk, packets: pk, bytes: pk * 60 } },
      { set: { family: 'inet', name: 'ban', table: 'linkward', type: 'ipv4_addr', handle: 4, flags: ['timeout'], elem: elems } },
      { set: { family: 'inet', name: 'allow', table: 'linkward', type: 'ipv4_addr', handle: 5, elem: ['1.2.3.4'] } },
      { chain: { family: 'inet', table: 'linkward', name: 'input', handle: 1 } },
      { rule: { family: 'inet', table: 'linkward', chain: 'input', handle: 7, expr: [{ counter: { packets: pk, bytes: 9 } }, { accept: null }] } },
    ],
  });

test('normalizeTableJson ignores handles, counter values and dynamic elements but not static ones', () => {
  assert.equal(normalizeTableJson(TABLE_JSON(0, [])), normalizeTableJson(TABLE_JSON(5, ['9.9.9.9'])));
  const changed = TABLE_JSON(0, []).replace('1.2.3.4', '1.2.3.5');
  assert.notEqual(normalizeTableJson(TABLE_JSON(0, [])), normalizeTableJson(changed));
});

test('inventory, counters, comments from nft JSON/text', () => {
  assert.deepEqual(inventoryFromJson(TABLE_JSON(0, [])), { chains: ['input'], sets: ['allow', 'ban'], maps: [], counters: ['lw_r_a'], ctHelpers: [] });
  assert.deepEqual(countersFromJson(TABLE_JSON(3, [])), [{ name: 'lw_r_a', packets: 3, bytes: 180 }]);
  assert.throws(() => countersFromJson('{"nftables":[{"counter":{"name":"x","packets":"no"}}]}'));
  assert.equal(tableCommentFromText('table inet linkward {\n\tcomment "lw:abc"\n\tchain x {\n\t\tcomment "no"\n\t}\n}\n'), 'lw:abc');
  assert.equal(tableCommentFromText('table inet linkward {\n\tchain x {\n\t\taccept comment "no"\n\t}\n}\n'), null);
  assert.equal(markerFromChainJson(JSON.stringify({ nftables: [{ rule: { chain: 'lw_meta', comment: 'lw:h1', expr: [] } }] })), 'lw:h1');
});

test('parseConntrack: extended format, accounting, reply direction, bounded', () => {
  const text = [
    'ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=203.0.113.5 sport=40000 dport=443 packets=5 bytes=300 src=203.0.113.5 dst=10.1.0.2 sport=443 dport=40000 packets=4 bytes=1000 [ASSURED] mark=256 use=1',
    'ipv4     2 icmp     1 29 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=9234 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=9234 mark=512 use=1',
    'ipv4     2 udp      17 20 src=192.168.1.10 dst=9.9.9.9 sport=5353 dport=53 [UNREPLIED] src=9.9.9.9 dst=10.2.0.2 sport=53 dport=5353 mark=0 use=1',
  ].join('\n');
  const c = parseConntrack(text);
  assert.equal(c.length, 3);
  assert.deepEqual(c[0], { proto: 'tcp', family: 4, src: '192.168.1.10', dst: '203.0.113.5', sport: 40000, dport: 443, state: 'ESTABLISHED', mark: 256, replySrc: '203.0.113.5', replyDst: '10.1.0.2', packets: 9, bytes: 1300, timeout: 431999, flags: ['ASSURED'] });
  assert.equal(c[1].proto, 'icmp');
  assert.equal(c[1].mark, 512);
  assert.deepEqual(c[2].flags, ['UNREPLIED']);
  assert.equal(parseConntrack(text, 2).length, 2);
});

test('sysctl keys: dotted ↔ path with / for dotted ifnames; hostile keys rejected', () => {
  assert.equal(sysctlProcPath('net.ipv4.conf.eth0/100.rp_filter'), '/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
  assert.equal(isSysctlKey('net.ipv4.ip_forward'), true);
  assert.equal(isSysctlKey('net.ipv4.conf.../x'), false);
  assert.equal(isSysctlKey('net.ipv4 -w x'), false);
  assert.equal(isSysctlKey('net.ipv4=1'), false);
});
