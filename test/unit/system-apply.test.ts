import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSystem } from '../../agent/system/fake';
import { applyPlan, ApplyError, type ApplyCtx } from '../../agent/system/apply';
import { NftError, readCounters, readInventory, readTableComment, tableFingerprint } from '../../agent/system/nft';
import { gatherFacts } from '../../agent/system/facts';
import { deleteByMark, listConnections } from '../../agent/system/conntrack';
import { applySysctls } from '../../agent/system/sysctl';
import { makePlan, withRule, ruleCounters } from './system-fixtures';

function lab(): FakeSystem {
  const f = new FakeSystem();
  f.addLink('u1', { addresses: [{ address: '10.1.0.2', prefix: 24 }] });
  f.addLink('u2', { addresses: [{ address: '10.2.0.2', prefix: 24 }] });
  f.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  f.addRoute({ table: 254, dst: 'default', via: '10.1.0.1', dev: 'u1', metric: 100 });
  f.sysctls['net.ipv4.conf.u1.rp_filter'] = '1';
  f.sysctls['net.ipv4.conf.u2.rp_filter'] = '1';
  // foreign state that must survive
  f.addRoute({ table: 100, dst: 'default', via: '10.2.0.1', dev: 'u2' });
  f.addRule({ priority: 9000, from: '192.168.5.0/24', table: '100' });
  f.nft.docker = { chains: { x: ['accept'] }, chainHeads: { x: '' }, sets: {}, counters: {}, ctHelpers: {} };
  return f;
}

test('first apply builds state; second apply makes zero kernel changes', async () => {
  const f = lab();
  const ctx: ApplyCtx = { runner: f.runner };
  const plan = makePlan();
  const sysBefore = { ...f.sysctls };
  const r1 = await applyPlan(ctx, plan);
  assert.equal(r1.nftChanged, true);
  assert.equal(r1.routeOps.length, 5);
  assert.equal(r1.ruleOps.length, 6);
  // exactly the plan's sysctls whose (kernel default) value differed were written
  assert.deepEqual(r1.sysctlsChanged.map((c) => c.key), Object.keys(plan.sysctls).filter((k) => sysBefore[k] !== plan.sysctls[k]).sort());
  assert.ok(r1.sysctlsChanged.length >= 3);
  const d1 = f.state();
  assert.deepEqual(ruleCounters(Object.keys(d1.nft.linkward.counters)), ['lw_r_a', 'lw_r_b']);
  assert.equal(d1.routes.filter((r) => r.table >= 200 && r.table <= 252).length, 5);
  assert.equal(d1.sysctls['net.ipv4.ip_forward'], '1');

  const text1 = f.dump();
  assert.match(text1, /^\tcounter lw_r_a \{\n\t\tpackets 0 bytes 0\n\t\}$/m);
  assert.match(text1, /^default table 200\n\tnexthop via 10\.1\.0\.1 dev u1 weight 3\n\tnexthop via 10\.2\.0\.1 dev u2 weight 1$/m);
  assert.match(text1, /^10000: from all lookup main suppress_prefixlength 0$/m);
  f.clearCalls();
  const r2 = await applyPlan(ctx, plan);
  assert.deepEqual({ n: r2.nftChanged, r: r2.routeOps.length, u: r2.ruleOps.length, s: r2.sysctlsChanged.length }, { n: false, r: 0, u: 0, s: 0 });
  assert.equal(r2.nftReason, 'unchanged');
  assert.deepEqual(f.mutations(), []);
  assert.equal(f.dump(), text1, 'the whole state is unchanged');
});

test('a restarted agent (fresh ctx) trusts the marker: zero changes', async () => {
  const f = lab();
  await applyPlan({ runner: f.runner }, makePlan());
  f.clearCalls();
  const r = await applyPlan({ runner: f.runner }, makePlan());
  assert.equal(r.nftReason, 'first-trust');
  assert.deepEqual(f.mutations(), []);
});

test('counters keep their values across a plan change; changed plan → only the delta', async () => {
  const f = lab();
  const ctx: ApplyCtx = { runner: f.runner };
  await applyPlan(ctx, makePlan());
  f.setCounter('lw_r_a', 10, 600);
  const p2 = makePlan({}, ['lw_r_a', 'lw_r_c']);
  p2.routes = p2.routes.map((r) => (r.table === 202 && r.dst === 'default' ? { ...r, via: '10.2.0.254' } : r));
  p2.rules = p2.rules.filter((r) => r.priority !== 10202);
  f.clearCalls();
  const r = await applyPlan(ctx, p2);
  assert.equal(r.nftChanged, true);
  assert.deepEqual(r.routeOps.map((o) => o.argv.join(' ')), ['ip -4 route replace default table 202 via 10.2.0.254 dev u2']);
  assert.deepEqual(r.ruleOps.map((o) => o.op), ['delete']);
  assert.deepEqual((await readCounters(f.runner)).filter((c) => c.name.startsWith('lw_r_')), [
    { name: 'lw_r_a', packets: 10, bytes: 600 },
    { name: 'lw_r_c', packets: 0, bytes: 0 },
  ]);
  assert.deepEqual(ruleCounters((await readInventory(f.runner))?.counters), ['lw_r_a', 'lw_r_c']);
});

test('stale routes/rules in our ranges are removed, foreign ones untouched', async () => {
  const f = lab();
  f.addRoute({ table: 230, dst: '10.99.0.0/16', via: '10.1.0.1', dev: 'u1' });
  f.addRule({ priority: 10555, fwmark: '1280/65280', table: '230' });
  const foreignBefore = JSON.stringify([f.state().routes.filter((r) => r.table === 100 || r.table === 254), f.rules.filter((r) => r.priority === 9000), f.nft.docker]);
  await applyPlan({ runner: f.runner }, makePlan());
  const d = f.state();
  assert.equal(d.routes.some((r) => r.table === 230), false);
  assert.equal(d.rules.some((r) => r.priority === 10555), false);
  const foreignAfter = JSON.stringify([d.routes.filter((r) => r.table === 100 || r.table === 254), d.rules.filter((r) => r.priority === 9000), d.nft.docker]);
  assert.equal(foreignAfter, foreignBefore);
});

test('nft check failure: nothing applied (no nft, no routes, no rules, no sysctls)', async () => {
  const f = lab();
  const before = f.state();
  f.nftRejects = (s) => (s.includes('BROKEN') ? 'syntax error, unexpected BROKEN' : null);
  const bad = makePlan({ nftDeclaration: withRule(makePlan({}, ['lw_r_a']), 'BROKEN') });
  await assert.rejects(applyPlan({ runner: f.runner }, bad), (e: unknown) => e instanceof NftError && e.stage === 'check' && /BROKEN/.test(e.stderr));
  assert.deepEqual(f.state(), before);
  assert.deepEqual(f.mutations(), []);
});

test('nft check failure after a good apply leaves the previous table intact', async () => {
  const f = lab();
  const ctx: ApplyCtx = { runner: f.runner };
  await applyPlan(ctx, makePlan());
  const before = f.state();
  const fp = await tableFingerprint(f.runner);
  await assert.rejects(applyPlan(ctx, makePlan({ nftDeclaration: 'table inet linkward {\n\tbogus\n}\n' })), NftError);
  assert.deepEqual(f.state(), before);
  assert.equal(await tableFingerprint(f.runner), fp);
});

test('drift in the nft table (someone edited it) is repaired on the next apply', async () => {
  const f = lab();
  const ctx: ApplyCtx = { runner: f.runner };
  await applyPlan(ctx, makePlan());
  f.nft.linkward.chains.input.push('tcp dport 22 drop');
  assert.ok(f.state().nft.linkward.chains.input.includes('tcp dport 22 drop'));
  const r = await applyPlan(ctx, makePlan());
  assert.equal(r.nftReason, 'drift');
  assert.equal(f.nft.linkward.chains.input.includes('tcp dport 22 drop'), false);
  assert.match((await readTableComment(f.runner)) ?? '', /^lw:[0-9a-f]{16,64}$/);
});

test('route failure is reported after nft/rules/sysctls were still applied', async () => {
  const f = lab();
  const plan = makePlan();
  plan.routes.push({ table: 205, dst: 'default', dev: 'nosuchdev', via: '10.5.0.1' });
  await assert.rejects(applyPlan({ runner: f.runner }, plan), (e: unknown) => {
    assert.ok(e instanceof ApplyError);
    assert.equal(e.partial.ruleOps.length, 6);
    assert.match(e.message, /nosuchdev/);
    return true;
  });
  assert.equal(f.state().routes.filter((r) => r.table === 201).length, 2);
});

test('gatherFacts, sysctl only-differing writes, conntrack delete/list via the fake', async () => {
  const f = lab();
  f.links.u2.carrier = false;
  const facts = await gatherFacts(f.runner, ['u1', 'u2', 'nope']);
  assert.equal(facts.u1.gateway, '10.1.0.1');
  assert.equal(facts.u2.carrier, false);
  assert.equal(facts.u2.gateway, undefined);
  assert.equal(facts.nope.exists, false);

  const ch = await applySysctls(f.runner, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.u1.rp_filter': '1' });
  assert.deepEqual(ch, [{ key: 'net.ipv4.ip_forward', from: '0', to: '1' }]);

  f.conns.push({ proto: 'tcp', src: '192.168.1.10', dst: '203.0.113.5', sport: 4000, dport: 443, state: 'ESTABLISHED', mark: 0x100, replyDst: '10.1.0.2' });
  f.conns.push({ proto: 'udp', src: '192.168.1.10', dst: '9.9.9.9', sport: 5000, dport: 53, mark: 0x200 });
  const list = await listConnections(f.runner);
  assert.deepEqual(list.map((c) => [c.proto, c.mark, c.replyDst]), [['tcp', 256, '10.1.0.2'], ['udp', 512, '192.168.1.10']]);
  assert.equal(await deleteByMark(f.runner, 0x100, 0xff00), 1);
  assert.equal(await deleteByMark(f.runner, 0x100, 0xff00), 0);
  assert.equal(f.state().conns.length, 1);
});

test('transitions: any order of A/B/C ends in the same state as a fresh apply of the target', async () => {
  const A = makePlan();
  const B = makePlan({}, ['lw_r_a', 'lw_r_c']);
  B.routes = B.routes.filter((r) => r.table !== 202);
  B.rules = B.rules.filter((r) => r.priority !== 10102 && r.priority !== 10202);
  const C = makePlan({}, ['lw_r_z']);
  C.routes = C.routes.map((r) => (r.table === 200 ? { ...r, nexthops: [{ via: '10.2.0.1', dev: 'u2', weight: 1 }] } : r));
  const plans = [A, B, C];
  const ours = (f: FakeSystem) => f.dump();
  const fresh = await Promise.all(plans.map(async (p) => {
    const f = lab();
    await applyPlan({ runner: f.runner }, p);
    return ours(f);
  }));
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 20; round++) {
    const f = lab();
    const ctx: ApplyCtx = { runner: f.runner };
    const seq = Array.from({ length: 5 }, () => Math.floor(rnd() * 3));
    for (const i of seq) await applyPlan(ctx, plans[i]);
    assert.equal(ours(f), fresh[seq[seq.length - 1]], `sequence ${seq.join(',')}`);
  }
});

test('a /32 uplink (gateway outside its prefix) gets onlink routes, as the kernel requires', async () => {
  const { compile } = await import('../../lib/compile/compile');
  const { parseConfig } = await import('../../lib/validations/config');
  const f = new FakeSystem();
  f.addLink('lte0', { addresses: [{ address: '100.80.1.7', prefix: 32 }] });
  f.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  // the fake refuses an off-prefix gateway without onlink, like the kernel
  const bare = await f.runner.run(['ip', 'route', 'replace', 'default', 'table', '201', 'via', '10.64.64.64', 'dev', 'lte0'], { allowFail: true });
  assert.match(bare.stderr, /Nexthop has invalid gateway/);
  const parsed = parseConfig({ version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'lte', interface: 'lte0', gateway: '10.64.64.64' }] });
  assert.ok(parsed.ok);
  const plan = compile(parsed.value, { interfaces: await gatherFacts(f.runner, ['lte0', 'lan0']), health: {} });
  await applyPlan({ runner: f.runner }, plan);
  const text = f.dump();
  assert.match(text, /^default via 10\.64\.64\.64 dev lte0 table 201 onlink$/m);
  assert.match(text, /^default via 10\.64\.64\.64 dev lte0 table 200 onlink$/m);
});

test('changing portScan.seconds re-declares lw_scan with the new timeout (accepted, as by the kernel)', async () => {
  const { compile } = await import('../../lib/compile/compile');
  const { parseConfig } = await import('../../lib/validations/config');
  const { fixtureConfig, FIXTURE_FACTS } = await import('./system-fixtures');
  const f = lab();
  const ctx: ApplyCtx = { runner: f.runner };
  const planWith = (seconds: number) => {
    const doc = fixtureConfig(['a']) as Record<string, unknown>;
    doc.firewall = { portScan: { enabled: true, ports: 10, seconds, banSeconds: 60 } };
    const p = parseConfig(doc);
    assert.ok(p.ok, JSON.stringify(p));
    return compile(p.value, FIXTURE_FACTS);
  };
  await applyPlan(ctx, planWith(30));
  assert.match(f.dump(), /set lw_scan \{[^}]*timeout 30s/);
  f.addSetElement('lw_banned', '203.0.113.9');
  await applyPlan(ctx, planWith(90));
  const text = f.dump();
  assert.match(text, /set lw_scan \{[^}]*timeout 90s/);
  assert.match(text, /set lw_banned \{[^}]*elements = \{ 203\.0\.113\.9 \}/, 'bans survive the change');
  // a change of the key type is still refused, as by the kernel
  const r = await f.runner.run(['nft', '-f', '-'], { input: 'table inet linkward {\n\tset lw_scan {\n\t\ttype ipv6_addr\n\t}\n}\n', allowFail: true });
  assert.notEqual(r.exitCode, 0);
});
