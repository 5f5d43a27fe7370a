import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMonitorLine } from '../../agent/system/ipmonitor';

test('ip monitor lines: links, addresses and main-table default routes wake the agent; its own tables do not', () => {
  assert.equal(classifyMonitorLine('3: wan1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default'), 'wan1');
  assert.equal(classifyMonitorLine('Deleted 3: wan1    inet 100.64.1.2/24 scope global wan1\\       valid_lft forever preferred_lft forever'), 'deleted wan1');
  assert.equal(classifyMonitorLine('default via 100.64.2.1 dev wan2 metric 102 '), 'default route via wan2');
  assert.equal(classifyMonitorLine('Deleted default via 100.64.2.1 dev wan2 metric 102 '), 'deleted default route via wan2');
  assert.equal(classifyMonitorLine('default via 100.64.1.1 dev wan1 table 201 '), null, 'our table');
  assert.equal(classifyMonitorLine('100.64.1.0/24 dev wan1 table 201 scope link src 100.64.1.2 '), null);
  assert.equal(classifyMonitorLine('local 100.64.1.2 dev wan1 table local proto kernel scope host src 100.64.1.2 '), null);
  assert.equal(classifyMonitorLine('broadcast 100.64.1.255 dev wan1 table local proto kernel scope link src 100.64.1.2 '), null);
  assert.equal(classifyMonitorLine('192.168.1.0/24 dev lan0 proto kernel scope link src 192.168.1.1 '), null);
});
