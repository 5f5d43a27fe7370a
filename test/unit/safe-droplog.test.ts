// Issue 8: parsing nft set JSON (drop records with counters, bans with expiry) and turning
// successive snapshots into drop records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetJson, DropTracker } from '../../agent/droplog';
import { summarize } from '../../lib/store/drops';

const dropJson = (packets: number, expires: number) => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, { set: { family: 'inet', name: 'lw_drop_input', table: 'linkward', type: ['ifname', 'ipv4_addr', 'ipv4_addr', 'inet_proto', 'inet_service'], handle: 2, size: 4096, flags: ['timeout'], timeout: 3600, elem: [
  { elem: { val: { concat: ['wan1', '203.0.113.10', '100.64.1.2', 'tcp', 2300] }, expires, counter: { packets, bytes: 60 * packets } } },
  { elem: { val: { concat: ['wan1', '203.0.113.10', '100.64.1.2', 'icmp', 30963] }, expires: 3599, counter: { packets: 1, bytes: 84 } } },
] } }] });

test('parseSetJson: concat elements with counters, plain bans with expiry, empty sets', () => {
  const d = parseSetJson(dropJson(2, 3590));
  assert.equal(d.timeoutS, 3600);
  assert.deepEqual(d.elements[0], { key: ['wan1', '203.0.113.10', '100.64.1.2', 'tcp', 2300], expiresS: 3590, timeoutS: null, packets: 2 });
  const b = parseSetJson(JSON.stringify({ nftables: [{ metainfo: {} }, { set: { name: 'lw_banned', elem: [{ elem: { val: '203.0.113.11', timeout: 5, expires: 3 } }] } }] }));
  assert.deepEqual(b.elements, [{ key: '203.0.113.11', expiresS: 3, timeoutS: 5, packets: 0 }]);
  assert.deepEqual(parseSetJson(JSON.stringify({ nftables: [{ set: { name: 'x' } }] })).elements, []);
  assert.throws(() => parseSetJson('{"nope":1}'));
});

test('DropTracker: first snapshot records only hits since start; later snapshots record increases', () => {
  const now = 1_000_000_000;
  const t = new DropTracker(now - 5000);
  const up = new Map([['wan1', 'isp1']]);
  // tcp element last hit 10 s ago (before start) -> baseline; icmp hit 1 s ago -> recorded.
  const r1 = t.update('input', parseSetJson(dropJson(2, 3590)).elements, now, up);
  assert.deepEqual(r1.map((r) => [r.proto, r.dport, r.count, r.uplink]), [['icmp', null, 1, 'isp1']]);
  t.prime();
  const r2 = t.update('input', parseSetJson(dropJson(5, 3600)).elements, now + 3000, up);
  assert.deepEqual(r2.map((r) => [r.proto, r.dport, r.count, r.ts]), [['tcp', 2300, 3, now + 3000]]);
  assert.deepEqual(t.update('input', parseSetJson(dropJson(5, 3597)).elements, now + 6000, up), []);
});

test('summarize: totals by source, port, uplink, hour', () => {
  const h = 3600000 * 100;
  const s = summarize([
    { src: 'a', proto: 'tcp', dport: 22, uplink: 'isp1', chain: 'input', ts: h + 1, count: 5 },
    { src: 'b', proto: 'tcp', dport: 22, uplink: null, chain: 'forward', ts: h + 3600000, count: 1 },
    { src: 'a', proto: 'udp', dport: 53, uplink: 'isp1', chain: 'input', ts: h + 2, count: 2 },
  ], 0);
  assert.equal(s.total, 8);
  assert.deepEqual(s.topSources, [{ src: 'a', count: 7 }, { src: 'b', count: 1 }]);
  assert.deepEqual(s.topPorts[0], { proto: 'tcp', dport: 22, count: 6 });
  assert.deepEqual(s.perUplink, [{ uplink: 'isp1', count: 7 }, { uplink: '(lan/other)', count: 1 }]);
  assert.deepEqual(s.perHour, [{ hour: h, count: 7 }, { hour: h + 3600000, count: 1 }]);
});
