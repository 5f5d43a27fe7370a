// Partial sync of the nft table (issue 16): big admin rule sets live in rule-group chains with
// content-defined boundaries; a one-rule change flushes and refills only the changed group chain,
// and the result equals a full apply of the same plan (compared as dumped state of the fake).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../lib/compile/compile';
import { parseConfig, type Config } from '../../lib/validations/config';
import { renderPartialTransaction, changedChains, blocks } from '../../lib/compile/transaction';
import { ruleGroups, RULE_GROUP_INLINE, RULE_GROUP_MAX } from '../../lib/compile/firewall/rules';
import { applyPlan, verifyApplied, stopVerify, prefetchMarker, DRIFT, BULK_SCRIPT_BYTES, type ApplyCtx } from '../../agent/system/apply';
import { FakeSystem } from '../../agent/system/fake';
import { FIXTURE_FACTS } from './system-fixtures';
import type { Plan } from '../../lib/compile/types';

function config(rules: { name: string; port: number }[], extra: Record<string, unknown> = {}): Config {
  const doc = {
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [
      { name: 'one', interface: 'u1', gateway: '10.1.0.1', weight: 3 },
      { name: 'two', interface: 'u2', gateway: '10.2.0.1', weight: 1 },
    ],
    rules: rules.map((r) => ({ name: r.name, chain: r.port % 7 === 0 ? 'input' : 'forward', action: r.port % 2 ? 'accept' : 'drop', protocol: 'tcp', port: r.port })),
    ...extra,
  };
  const p = parseConfig(doc);
  if (!p.ok) throw new Error(p.errors.join('; '));
  return p.value;
}

const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `r-${i}`, port: 1000 + i }));
const plan = (c: Config): Plan => compile(c, FIXTURE_FACTS);

function fake(): FakeSystem {
  const f = new FakeSystem();
  f.addLink('u1', { addresses: [{ address: '10.1.0.2', prefix: 24 }] });
  f.addLink('u2', { addresses: [{ address: '10.2.0.2', prefix: 24 }] });
  f.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  return f;
}

test('ruleGroups: boundaries follow the names, so an insertion changes one group', () => {
  const rules = many(2000);
  const g = ruleGroups(rules);
  assert.ok(g.length > 20 && g.every((x) => x.length <= RULE_GROUP_MAX), `${g.length} groups`);
  assert.deepEqual(g.flat().map((r) => r.name), rules.map((r) => r.name), 'order kept');
  const ins = [...rules.slice(0, 1000), { name: 'new-one', port: 1 }, ...rules.slice(1000)];
  const h = ruleGroups(ins);
  const key = (x: { name: string }[][]) => x.map((grp) => grp.map((r) => r.name).join(','));
  const before = new Set(key(g));
  const changed = key(h).filter((k) => !before.has(k));
  assert.ok(changed.length >= 1 && changed.length <= 2, `${changed.length} groups changed`);
});

test('small rule sets stay inline; big ones are jumps to group chains', () => {
  const small = plan(config(many(RULE_GROUP_INLINE)));
  assert.ok(!/jump rules_/.test(small.nftDeclaration));
  const big = plan(config(many(1000)));
  const chains = [...blocks(big.nftDeclaration, 'chain').keys()].filter((c) => c.startsWith('rules_'));
  assert.ok(chains.length > 10);
  assert.deepEqual([...blocks(big.nftDeclaration, 'chain').keys()].sort(), [...big.inventory.chains].sort());
  for (const c of chains) assert.match(big.nftDeclaration, new RegExp(`jump ${c}\\n`));
});

test('a one-rule change: the partial transaction flushes and refills one chain; the result equals a full apply', async () => {
  const rulesA = many(3000);
  const rulesB = rulesA.map((r) => (r.name === 'r-1500' ? { ...r, port: 9 } : r));
  const A = plan(config(rulesA));
  const B = plan(config(rulesB));
  assert.deepEqual(changedChains(B, A).length, 1);
  const p = renderPartialTransaction(B, A);
  assert.ok(p, 'partial possible');
  assert.equal(p.chains.length, 1);
  assert.equal((p.script.match(/^flush chain /gm) ?? []).length, 2, 'the group chain and lw_meta');
  assert.ok(p.script.length < B.nftDeclaration.length / 20, `partial ${p.script.length} bytes vs declaration ${B.nftDeclaration.length}`);
  // through applyPlan: A full, then B partial; against a fresh full apply of B
  const f1 = fake();
  const ctx: ApplyCtx = { runner: f1.runner };
  await applyPlan(ctx, A);
  const r = await applyPlan(ctx, B);
  assert.match(r.nftReason, /partial: 1 chain/);
  const f2 = fake();
  await applyPlan({ runner: f2.runner }, B);
  assert.equal(f1.dump({ tables: ['linkward'] }), f2.dump({ tables: ['linkward'] }));
  // idempotent: the same plan again changes nothing
  const again = await applyPlan(ctx, B);
  assert.equal(again.nftChanged, false);
});

test('insert and delete rules: new group chains and counters are added, gone ones deleted; equals a full apply', async () => {
  const rulesA = many(1500);
  const rulesB = [...rulesA.slice(0, 300), ...rulesA.slice(400, 1000), { name: 'added-x', port: 7 }, ...rulesA.slice(1000)];
  const A = plan(config(rulesA));
  const B = plan(config(rulesB));
  const p = renderPartialTransaction(B, A);
  assert.ok(p);
  assert.match(p.script, /counter lw_r_added_x \{ \}/);
  assert.match(p.script, /delete counter inet linkward lw_r_r_350\n/);
  assert.ok(p.chains.length <= 6, `${p.chains.length} chains changed: ${p.chains.join(' ')}`);
  const f1 = fake();
  const ctx: ApplyCtx = { runner: f1.runner };
  await applyPlan(ctx, A);
  const r = await applyPlan(ctx, B);
  assert.match(r.nftReason, /partial/);
  const f2 = fake();
  await applyPlan({ runner: f2.runner }, B);
  assert.equal(f1.dump({ tables: ['linkward'] }), f2.dump({ tables: ['linkward'] }));
});

test('a new address list (a new set) or a drifted kernel table takes the full path', async () => {
  const A = plan(config(many(200)));
  const withList = (n: number) => {
    const c = config(many(n), { addressLists: [{ name: 'bad', entries: ['203.0.113.0/24'] }] });
    return plan({ ...c, rules: [{ ...c.rules[0], name: 'uses-bad', sourceList: 'bad', port: undefined, protocol: undefined }, ...c.rules] } as Config);
  };
  const B = withList(200);
  assert.equal(renderPartialTransaction(B, A), null);
  const f = fake();
  const ctx: ApplyCtx = { runner: f.runner };
  await applyPlan(ctx, A);
  const r = await applyPlan(ctx, B);
  assert.doesNotMatch(r.nftReason, /partial/);
  // someone replaced our marker: no partial sync on top of an unknown table
  const C = withList(201);
  f.nft.linkward.chains.lw_meta = ['return comment "lw:someone-else"'];
  const r2 = await applyPlan(ctx, C);
  assert.doesNotMatch(r2.nftReason, /partial/);
  const f2 = fake();
  await applyPlan({ runner: f2.runner }, C);
  assert.equal(f.dump({ tables: ['linkward'] }), f2.dump({ tables: ['linkward'] }));
});

test('drift in an unchanged chain (someone edited it) is not carried over: the read-back after a partial sync finds it, a full apply refills', async () => {
  const rules = many(1000);
  const A = plan(config(rules));
  const B = plan(config(rules.map((r) => (r.name === 'r-10' ? { ...r, port: 5 } : r))));
  const f = fake();
  const drifts: string[] = [];
  const ctx: ApplyCtx = { runner: f.runner, onDrift: (why) => drifts.push(why), verifyDelayMs: 60000 };
  await applyPlan(ctx, A);
  const other = Object.keys(f.nft.linkward.chains).find((c) => c.startsWith('rules_forward_') && !c.endsWith('r-0') && !changedChains(B, A).includes(c))!;
  f.nft.linkward.chains[other].push('tcp dport 22 accept');
  const r = await applyPlan(ctx, B);
  assert.match(r.nftReason, /partial: 1 chain/);
  // the read-back runs off the apply path (here: at once instead of after the quiet time)
  await stopVerify(ctx);
  await verifyApplied(ctx);
  assert.equal(drifts.length, 1, 'the agent is told to reconcile');
  assert.equal(ctx.cache?.fingerprint, DRIFT);
  const again = await applyPlan(ctx, B);
  assert.equal(again.nftReason, 'drift');
  assert.ok(!f.nft.linkward.chains[other].includes('tcp dport 22 accept'), 'the foreign rule is gone');
  const g = fake();
  await applyPlan({ runner: g.runner }, B);
  assert.equal(f.dump({ tables: ['linkward'] }), g.dump({ tables: ['linkward'] }));
  // consistent now: a read-back finds nothing, the same plan again changes nothing
  assert.equal((await applyPlan(ctx, B)).nftChanged, false);
  assert.equal(drifts.length, 1);
});

test('several partial applies before one read-back: every refilled chain is accepted, an untouched one is still checked', async () => {
  const rules = many(1000);
  const P = (port: number, name = 'r-10') => plan(config(rules.map((r) => (r.name === name ? { ...r, port } : r))));
  const f = fake();
  const drifts: string[] = [];
  const ctx: ApplyCtx = { runner: f.runner, onDrift: (why) => drifts.push(why), verifyDelayMs: 60000 };
  await applyPlan(ctx, P(5));
  for (const [port, name] of [[6, 'r-10'], [7, 'r-500'], [8, 'r-900']] as const) assert.match((await applyPlan(ctx, P(port, name))).nftReason, /partial/);
  assert.equal(ctx.cache?.fingerprint, null, 'not read back yet');
  assert.ok((ctx.cache?.refilled ?? []).length >= 3);
  await stopVerify(ctx);
  await verifyApplied(ctx);
  assert.equal(drifts.length, 0);
  assert.ok(ctx.cache?.fingerprint && ctx.cache.fingerprint !== DRIFT, 'verified: a new baseline');
  assert.deepEqual(ctx.cache?.refilled, []);
  // the periodic resync (same plan) of a verified table: unchanged, no apply
  assert.equal((await applyPlan(ctx, P(8, 'r-900'))).nftReason, 'unchanged');
  // a partial apply, then the resync comes before the read-back: it checks the table itself
  await applyPlan(ctx, P(9, 'r-900'));
  const last = P(9, 'r-900');
  assert.equal((await applyPlan(ctx, last)).nftReason, 'unchanged');
  // foreign edit after a partial apply, found by the resync's own check → full apply at once
  await applyPlan(ctx, P(10, 'r-900'));
  const victim = Object.keys(f.nft.linkward.chains).find((c) => c.startsWith('rules_input_'))!;
  f.nft.linkward.chains[victim].push('tcp dport 23 accept');
  assert.equal((await applyPlan(ctx, P(10, 'r-900'))).nftReason, 'drift');
  assert.ok(!f.nft.linkward.chains[victim].includes('tcp dport 23 accept'));
  await stopVerify(ctx);
});

test('a marker read prefetched for this apply is used (no second read); a stale one is not', async () => {
  const rules = many(300);
  const P = (port: number) => plan(config(rules.map((r) => (r.name === 'r-10' ? { ...r, port } : r))));
  const f = fake();
  const ctx: ApplyCtx = { runner: f.runner, verifyDelayMs: 60000 };
  await applyPlan(ctx, P(5));
  const metaReads = () => f.calls.filter((c) => c.argv.join(' ') === 'nft -j list chain inet linkward lw_meta').length;
  prefetchMarker(ctx);
  const n0 = metaReads();
  assert.equal(n0, 1, 'the prefetch reads the marker');
  assert.match((await applyPlan(ctx, P(6))).nftReason, /partial/);
  assert.equal(metaReads(), n0, 'no second read');
  // prefetched before an apply that came in between: read again
  prefetchMarker(ctx);
  ctx.applies = (ctx.applies ?? 0) + 1;
  assert.match((await applyPlan(ctx, P(7))).nftReason, /partial/);
  assert.equal(metaReads(), n0 + 2);
  // a prefetched read of a foreign marker: the full path
  f.nft.linkward.chains.lw_meta = ['return comment "lw:someone-else"'];
  prefetchMarker(ctx);
  assert.doesNotMatch((await applyPlan(ctx, P(8))).nftReason, /partial/);
  await stopVerify(ctx);
});

test('a partial apply while the kernel is as we left it skips the route/rule/sysctl reads when those parts are unchanged; a changed route, a resync of the same plan or a watch that saw something reads them', async () => {
  const rules = many(300);
  const P = (port: number, extra: Record<string, unknown> = {}) => plan(config(rules.map((r) => (r.name === 'r-10' ? { ...r, port } : r)), extra));
  const f = fake();
  let asLeft = true;
  const ctx: ApplyCtx = { runner: f.runner, verifyDelayMs: 60000, kernelAsLeft: () => asLeft };
  const restReads = () => f.calls.filter((c) => c.argv[0] === 'sysctl' || (c.argv[0] === 'ip' && /route|rule|addr/.test(c.argv.join(' ')))).length;
  await applyPlan(ctx, P(5)); // full apply: reads and syncs everything
  let n = restReads();
  assert.ok(n > 0, 'the first apply reads routes, rules and sysctls');
  const r6 = await applyPlan(ctx, P(6));
  assert.match(r6.nftReason, /partial/);
  assert.equal(restReads(), n, 'a one-rule change with the kernel as left: no route/rule/sysctl read');
  assert.deepEqual([r6.routeOps, r6.ruleOps, r6.sysctlsChanged], [[], [], []]);
  // the same plan again (a resync): everything is read and checked
  await applyPlan(ctx, P(6));
  assert.ok(restReads() > n, 'a resync of the same plan reads them');
  n = restReads();
  // the watch saw something: read
  asLeft = false;
  await applyPlan(ctx, P(7));
  assert.ok(restReads() > n, 'not as left: read');
  n = restReads();
  asLeft = true;
  await applyPlan(ctx, P(8)); // sets the key again after the complete apply above
  assert.equal(restReads(), n);
  // a route change (another gateway for uplink two): read and synced
  const other = plan(config(rules, { uplinks: [{ name: 'one', interface: 'u1', gateway: '10.1.0.1', weight: 3 }, { name: 'two', interface: 'u2', gateway: '10.2.0.9', weight: 1 }] }));
  const rr = await applyPlan(ctx, other);
  assert.ok(restReads() > n, 'changed routes: read');
  assert.ok(rr.routeOps.length > 0, 'and the route changed');
  await stopVerify(ctx);
});

test('an apply aborts a read-back in progress (the kill reaches the nft read); the read-back after that apply verifies', async () => {
  const rules = many(300);
  const P = (port: number) => plan(config(rules.map((r) => (r.name === 'r-10' ? { ...r, port } : r))));
  const f = fake();
  let aborted = 0;
  let slow = false;
  const runner = {
    ...f.runner,
    run: async (argv: string[], opts: import('../../agent/system/runner').RunOptions = {}) => {
      if (slow && argv.join(' ') === 'nft -j list table inet linkward') {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, 300);
          opts.signal?.addEventListener('abort', () => { clearTimeout(t); aborted++; reject(new Error('killed')); });
        });
      }
      return f.runner.run(argv, opts);
    },
  };
  let verified = 0;
  const ctx: ApplyCtx = { runner, verifyDelayMs: 20, onVerified: () => verified++ };
  await applyPlan(ctx, P(5));
  slow = true;
  assert.match((await applyPlan(ctx, P(6))).nftReason, /partial/);
  await new Promise((r) => setTimeout(r, 80)); // the read-back started and waits on nft
  assert.ok(ctx.verify?.running, 'read-back running');
  assert.match((await applyPlan(ctx, P(7))).nftReason, /partial/);
  assert.equal(aborted, 1, 'the apply killed the read');
  slow = false;
  for (let i = 0; i < 100 && verified === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(verified, 1, 'the next read-back verified');
  assert.notEqual(ctx.cache?.fingerprint, null);
  await stopVerify(ctx);
});

test('large transactions (a full load, thousands of new rules) are committed through ctx.bulk (the drift watch unsubscribed); one-rule changes and the nft -c check are not', async () => {
  const f = fake();
  const calls: string[][] = [];
  const runner = { ...f.runner, run: (argv: string[], o?: Parameters<typeof f.runner.run>[1]) => { calls.push(argv); return f.runner.run(argv, o); } } as typeof f.runner;
  const inBulk: string[][] = [];
  const ctx: ApplyCtx = {
    runner,
    bulk: async (commit) => {
      const before = calls.length;
      await commit();
      inBulk.push(...calls.slice(before).map((a) => a.slice(0, 3)));
    },
  };
  const big = many(3000);
  await applyPlan(ctx, plan(config(big)));
  assert.ok(plan(config(big)).nftDeclaration.length >= BULK_SCRIPT_BYTES, 'the fixture is a large transaction');
  assert.deepEqual(inBulk, [['nft', '-f', '-']], 'the full load: only its nft -f (the nft -c check runs outside)');
  // a one-rule change: a small partial transaction, watched as usual
  const one = big.map((r) => (r.name === 'r-10' ? { ...r, port: 9 } : r));
  const r1 = await applyPlan(ctx, plan(config(one)));
  assert.match(r1.nftReason, /partial: 1 chain/);
  assert.equal(inBulk.length, 1);
  // 3 000 more rules by the partial path: large again
  const r2 = await applyPlan(ctx, plan(config([...one, ...many(6000).slice(3000)])));
  assert.match(r2.nftReason, /partial/);
  assert.deepEqual(inBulk, [['nft', '-f', '-'], ['nft', '-f', '-']]);
});
