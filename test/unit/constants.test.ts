// The kernel-facing constants of lib/compile/constants.ts (the agent imports them instead of
// re-declaring them): ranges, mark layout, names, and that every compiled sysctl key is valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../lib/validations/config';
import {
  compile, isOurPriority, isOurTable, isSysctlKey, KERNEL_TABLES, markOf, MARK_MASK, RULE_PRIO_MAX, RULE_PRIO_MIN,
  sysctlProcPath, TABLE_FALLBACK, TABLE_MAX, TABLE_MIN, tableOf, UPLINK_ID_MAX, UPLINK_ID_MIN, uplinkIdOfMark,
  counterUplinkIn, counterUplinkOut, planMarkerOf, NFT_TABLE_REF, CHAIN_TABLE, CHAIN_HOOKS, CHAIN,
} from '../../lib/compile/index';

test('uplink ids 1..50 map to tables 201..250 (never a kernel table) and marks that round-trip', () => {
  const uplink = (id: number) => ({ version: 1, uplinks: [{ name: 'a', interface: 'eth1', id }] });
  assert.equal(parseConfig(uplink(UPLINK_ID_MAX)).ok, true);
  assert.equal(parseConfig(uplink(UPLINK_ID_MAX + 1)).ok, false, 'the schema enforces UPLINK_ID_MAX');
  assert.equal(parseConfig(uplink(UPLINK_ID_MIN - 1)).ok, false);
  assert.equal(TABLE_MIN, TABLE_FALLBACK);
  assert.equal(tableOf(UPLINK_ID_MAX), TABLE_MAX);
  assert.ok(TABLE_MAX < Math.min(...Object.values(KERNEL_TABLES)));
  for (let id = UPLINK_ID_MIN; id <= UPLINK_ID_MAX; id++) {
    assert.ok(isOurTable(tableOf(id)));
    assert.equal(uplinkIdOfMark(markOf(id)), id);
    assert.equal(markOf(id) & ~MARK_MASK, 0);
  }
  assert.equal(uplinkIdOfMark(0x1234_0300), 3, 'bits outside the mask are ignored');
  assert.equal(uplinkIdOfMark(0), 0);
  for (const t of [199, 251, 253, 254, 255, 200.5]) assert.equal(isOurTable(t), false, String(t));
  assert.ok(isOurPriority(RULE_PRIO_MIN) && isOurPriority(RULE_PRIO_MAX));
  assert.ok(!isOurPriority(RULE_PRIO_MIN - 1) && !isOurPriority(RULE_PRIO_MAX + 1) && !isOurPriority(32766));
});

test('names: counters, marker, table, chain table', () => {
  assert.equal(counterUplinkIn(7), 'lw_u_7_in');
  assert.equal(counterUplinkOut(7), 'lw_u_7_out');
  assert.equal(planMarkerOf('0123456789abcdef'), 'lw:0123456789abcdef');
  assert.equal(NFT_TABLE_REF, 'inet linkward');
  assert.deepEqual(CHAIN_TABLE.map((c) => c.name), Object.values(CHAIN));
  assert.equal(CHAIN_HOOKS.input, 'type filter hook input priority filter; policy drop;');
  assert.equal(CHAIN_HOOKS.select, undefined, 'select is a regular chain');
});

test('sysctl keys: every compiled key is valid and maps into /proc/sys; odd keys throw', () => {
  const r = parseConfig({ version: 1, lan: [{ name: 'lan', interface: 'eth0.10', address: '192.168.1.1/24' }], uplinks: [{ name: 'a', interface: 'wan_1-x' }] });
  assert.ok(r.ok);
  for (const k of Object.keys(compile(r.value, { interfaces: {}, health: {} }).sysctls)) {
    assert.ok(isSysctlKey(k), k);
    assert.match(sysctlProcPath(k), /^\/proc\/sys\/net\/(ipv4|ipv6|netfilter)\/[A-Za-z0-9_./-]+$/);
  }
  for (const bad of ['', 'net', 'net..x', 'net.ipv4/../x.y', 'net.ipv4.conf.eth0 x.rp_filter', 'net.ipv4.a/.b']) {
    assert.equal(isSysctlKey(bad), false, bad);
    assert.throws(() => sysctlProcPath(bad));
  }
});
