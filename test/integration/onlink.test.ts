// Real kernel: a /32 uplink (LTE/PPP style: the gateway is outside the interface's prefix) gets
// its default routes with `onlink`, in its own table and in the multipath fallback, and a
// re-apply changes nothing. Private namespace lwt<pid>ol, deleted in `finally`; no traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withNetns, realRunner } from '../../agent/system/runner';
import { applyPlan } from '../../agent/system/apply';
import { gatherFacts } from '../../agent/system/facts';
import { compile } from '../../lib/compile/compile';
import { parseConfig } from '../../lib/validations/config';

const isRoot = process.getuid?.() === 0;
const NS = `lwt${process.pid}ol`;

test('a /32 uplink with a peer gateway gets onlink default routes; re-apply is a no-op', { skip: !isRoot && 'needs root' }, async () => {
  const R = withNetns(realRunner, NS);
  await realRunner.run(['ip', 'netns', 'add', NS]);
  try {
    for (const c of [
      ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1'],
      ['ip', 'link', 'add', 'lte0', 'type', 'veth', 'peer', 'name', 'lte0p'],
      ['ip', 'link', 'add', 'wan1', 'type', 'veth', 'peer', 'name', 'wan1p'],
      ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p'],
      ...['lo', 'lte0', 'lte0p', 'wan1', 'wan1p', 'lan0', 'lan0p'].map((i) => ['ip', 'link', 'set', i, 'up']),
      ['ip', 'addr', 'add', '100.80.1.7/32', 'dev', 'lte0'], // PPP/LTE: a /32, gateway 10.64.64.64
      ['ip', 'addr', 'add', '10.1.0.2/24', 'dev', 'wan1'],
      ['ip', 'addr', 'add', '192.168.9.1/24', 'dev', 'lan0'],
    ]) await R.run(c);
    const doc = {
      version: 1,
      lan: [{ name: 'lan', interface: 'lan0', address: '192.168.9.1/24' }],
      uplinks: [
        { name: 'lte', interface: 'lte0', gateway: '10.64.64.64', weight: 1 },
        { name: 'dsl', interface: 'wan1', gateway: '10.1.0.1', weight: 2 },
      ],
    };
    const parsed = parseConfig(doc);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const facts = { interfaces: await gatherFacts(R, ['lan0', 'lte0', 'wan1']), health: {} };
    const plan = compile(parsed.value, facts);
    const lte = plan.uplinks.find((u) => u.name === 'lte')!;
    assert.equal(lte.active, true, JSON.stringify(lte));
    const ctx = { runner: R };
    const r1 = await applyPlan(ctx, plan); // before the fix: "Nexthop has invalid gateway"
    assert.ok(r1.routeOps.length > 0);
    const own = JSON.parse((await R.run(['ip', '-j', '-4', 'route', 'show', 'table', String(lte.table)])).stdout) as { dst: string; gateway?: string; flags?: string[] }[];
    const def = own.find((r) => r.dst === 'default');
    assert.ok(def, `no default route in table ${lte.table}: ${JSON.stringify(own)}`);
    assert.equal(def.gateway, '10.64.64.64');
    assert.ok(def.flags?.includes('onlink'), `flags ${JSON.stringify(def.flags)}`);
    const fb = JSON.parse((await R.run(['ip', '-j', '-4', 'route', 'show', 'table', '200'])).stdout) as { nexthops?: { gateway: string; dev: string; flags?: string[] }[] }[];
    const nh = fb[0]?.nexthops?.find((n) => n.dev === 'lte0');
    assert.ok(nh, `fallback multipath without lte0: ${JSON.stringify(fb)}`);
    assert.ok(nh.flags?.includes('onlink'), `nexthop flags ${JSON.stringify(nh.flags)}`);
    const r2 = await applyPlan(ctx, plan);
    assert.deepEqual([r2.nftChanged, r2.routeOps.length, r2.ruleOps.length], [false, 0, 0], 'second apply changes nothing');
  } finally {
    await realRunner.run(['ip', 'netns', 'del', NS], { allowFail: true });
  }
});
