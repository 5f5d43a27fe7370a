// Real kernel: applies compiled plans (test/unit/system-fixtures.ts) inside a private network namespace (root only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withNetns, realRunner } from '../../agent/system/runner';
import { applyPlan, type ApplyCtx } from '../../agent/system/apply';
import { NftError, readCounters, readInventory, readTableComment, tableFingerprint } from '../../agent/system/nft';
import { gatherFacts } from '../../agent/system/facts';
import { deleteByMark, listConnections } from '../../agent/system/conntrack';
import { readSysctls } from '../../agent/system/sysctl';
import { makePlan, withRule, ruleCounters } from '../unit/system-fixtures';

const NS = `lwt${process.pid}sys`;
const isRoot = process.getuid?.() === 0;
const sh = (argv: string[], input?: string) => withNetns(realRunner, NS).run(argv, { input });

async function snapshot(): Promise<{ nft: string; rules: string; routes: string }> {
  const [nft, rules, routes] = await Promise.all([
    sh(['nft', '-j', 'list', 'table', 'inet', 'linkward']),
    sh(['ip', '-j', 'rule', 'show']),
    sh(['ip', '-j', 'route', 'show', 'table', 'all']),
  ]);
  return { nft: nft.stdout, rules: rules.stdout, routes: routes.stdout };
}

async function foreign(): Promise<string> {
  const [t, r, ru] = await Promise.all([
    sh(['nft', '-j', 'list', 'table', 'inet', 'foreign']),
    sh(['ip', '-j', '-4', 'route', 'show', 'table', '100']),
    sh(['ip', '-j', '-4', 'rule', 'show', 'priority', '9000']),
  ]);
  return t.stdout + r.stdout + ru.stdout;
}

before(async () => {
  if (!isRoot) return;
  await realRunner.run(['ip', 'netns', 'add', NS]);
  const cmds: string[][] = [
    // IPv4-only box: no IPv6 link-local routes popping up asynchronously in `route show table all`
    ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1'],
    ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1'],
    ['ip', 'link', 'add', 'u1', 'type', 'veth', 'peer', 'name', 'p1'],
    ['ip', 'link', 'add', 'u2', 'type', 'veth', 'peer', 'name', 'p2'],
    ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'p3'],
    ...['lo', 'u1', 'p1', 'u2', 'p2', 'lan0', 'p3'].map((i) => ['ip', 'link', 'set', i, 'up']),
    ['ip', 'addr', 'add', '192.168.1.1/24', 'dev', 'lan0'],
    ['ip', 'addr', 'add', '10.1.0.2/24', 'dev', 'u1'],
    ['ip', 'addr', 'add', '10.2.0.2/24', 'dev', 'u2'],
    ['ip', 'route', 'add', 'default', 'via', '10.1.0.1', 'dev', 'u1', 'metric', '100'],
    ['ip', 'route', 'add', 'default', 'via', '10.2.0.1', 'dev', 'u2', 'metric', '200'],
    // foreign state that must never be touched
    ['ip', 'route', 'add', 'default', 'via', '10.2.0.1', 'dev', 'u2', 'table', '100'],
    ['ip', 'rule', 'add', 'priority', '9000', 'from', '192.168.5.0/24', 'lookup', '100'],
  ];
  for (const c of cmds) await sh(c);
  await sh(['nft', '-f', '-'], 'table inet foreign {\n\tcounter keep {\n\t}\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9 counter name "keep"\n\t}\n}\n');
});

after(async () => {
  if (isRoot) await realRunner.run(['ip', 'netns', 'del', NS], { allowFail: true });
});

test('real kernel: apply, idempotent re-apply, delta, foreign state, failing nft', { skip: !isRoot && 'needs root' }, async () => {
  const ctx: ApplyCtx = { runner: withNetns(realRunner, NS) };
  const R = ctx.runner;
  const facts = await gatherFacts(R, ['u1', 'u2']);
  assert.equal(facts.u1.gateway, '10.1.0.1');
  assert.equal(facts.u2.gateway, '10.2.0.1');
  assert.deepEqual(facts.u1.addresses, [{ address: '10.1.0.2', prefix: 24 }]);
  const foreignBefore = await foreign();

  const A = makePlan();
  const r1 = await applyPlan(ctx, A);
  assert.equal(r1.nftChanged, true);
  assert.equal(r1.routeOps.length, 5);
  assert.equal(r1.ruleOps.length, 6);
  const mp = JSON.parse((await sh(['ip', '-j', '-4', 'route', 'show', 'table', '200'])).stdout);
  assert.equal(mp[0].nexthops.length, 2);
  const sys = await readSysctls(R, ['net.ipv4.ip_forward', 'net.ipv4.conf.u1.rp_filter']);
  assert.deepEqual(sys, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.u1.rp_filter': '2' });
  assert.match((await readTableComment(R)) ?? '', /^lw:/);

  // traffic hits the named counter (rule a accepts ICMP in output)
  await sh(['ping', '-c', '2', '-i', '0.2', '-W', '1', '127.0.0.1']);
  const c1 = (await readCounters(R)).find((c) => c.name === 'lw_r_a');
  assert.ok(c1 && c1.packets >= 2, `counter lw_r_a counted ${c1?.packets}`);

  const s1 = await snapshot();
  const r2 = await applyPlan(ctx, A);
  assert.deepEqual([r2.nftChanged, r2.routeOps.length, r2.ruleOps.length, r2.sysctlsChanged.length], [false, 0, 0, 0]);
  assert.deepEqual(await snapshot(), s1);

  // restart: a fresh ctx trusts the marker, still zero changes
  const r2b = await applyPlan({ runner: withNetns(realRunner, NS) }, A);
  assert.deepEqual([r2b.nftChanged, r2b.routeOps.length, r2b.ruleOps.length], [false, 0, 0]);

  // link down on u2 → kernel flags nexthop linkdown; still zero route ops
  await sh(['ip', 'link', 'set', 'p2', 'down']);
  const r2c = await applyPlan(ctx, A);
  assert.equal(r2c.routeOps.length, 0);
  await sh(['ip', 'link', 'set', 'p2', 'up']);

  // changed plan → only the delta; counters survive the nft transaction
  const B = makePlan({}, ['lw_r_a', 'lw_r_c']);
  B.routes = B.routes.map((r) => (r.table === 202 && r.dst === 'default' ? { ...r, via: '10.2.0.254' } : r));
  B.rules = B.rules.filter((r) => r.priority !== 10202);
  const r3 = await applyPlan(ctx, B);
  assert.equal(r3.nftChanged, true);
  assert.deepEqual(r3.routeOps.map((o) => o.argv.join(' ')), ['ip -4 route replace default table 202 via 10.2.0.254 dev u2']);
  assert.deepEqual(r3.ruleOps.map((o) => `${o.op} ${o.rule.priority}`), ['delete 10202']);
  const c3 = (await readCounters(R)).find((c) => c.name === 'lw_r_a');
  assert.ok(c3 && c3.packets >= c1.packets, 'named counter kept its value across flush+redeclare');
  assert.deepEqual(ruleCounters((await readInventory(R))?.counters), ['lw_r_a', 'lw_r_c']);

  // a fresh apply of B in a new namespace state equals A→B (transition)
  const afterB = await snapshot();
  await applyPlan(ctx, A);
  await applyPlan(ctx, B);
  const againB = await snapshot();
  assert.deepEqual(JSON.parse(againB.rules), JSON.parse(afterB.rules));
  assert.deepEqual(JSON.parse(againB.routes), JSON.parse(afterB.routes));

  // stale entries in our ranges are removed
  await sh(['ip', 'route', 'add', '10.99.0.0/16', 'via', '10.1.0.1', 'dev', 'u1', 'table', '230']);
  await sh(['ip', 'rule', 'add', 'priority', '10555', 'fwmark', '0x500/0xff00', 'lookup', '230']);
  const r4 = await applyPlan(ctx, B);
  assert.deepEqual(r4.routeOps.map((o) => o.op), ['delete']);
  assert.deepEqual(r4.ruleOps.map((o) => o.op), ['delete']);

  // 100 applies alternating A/B (each one a real nft transaction + route/rule delta)
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) await applyPlan(ctx, i % 2 === 0 ? A : B);
  const perApply = (performance.now() - t0) / 100;
  assert.equal(await foreign(), foreignBefore);
  console.log(`# 100 alternating applies: ${perApply.toFixed(1)} ms/apply`);

  // failing nft script: NftError with nft's stderr, previous table intact, no route/rule change
  const fpBefore = await tableFingerprint(R);
  const sBefore = await snapshot();
  const bad = makePlan({ nftDeclaration: withRule(makePlan({}, ['lw_r_a']), 'ip saddr 10.0.0.0/33 drop') });
  bad.routes = [];
  await assert.rejects(applyPlan(ctx, bad), (e: unknown) => e instanceof NftError && e.stage === 'check' && /Error/.test(e.stderr));
  assert.equal(await tableFingerprint(R), fpBefore);
  assert.deepEqual(await snapshot(), sBefore);
  assert.equal(await foreign(), foreignBefore);

  // conntrack in the namespace: delete by mark with nothing to delete is not an error
  assert.equal(await deleteByMark(R, 0x100, 0xff00), 0);
  assert.ok(Array.isArray(await listConnections(R)));
});
