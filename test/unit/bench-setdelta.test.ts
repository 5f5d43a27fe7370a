// Set element deltas (found by the bench: a one-entry change to a 10 000-entry list re-sent all
// 10 000 elements): renderTransaction's keepSets and applyPlan's use of it, on the stateful fake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSystem } from '../../agent/system/fake';
import { applyPlan, verifyApplied, stopVerify, DRIFT, type ApplyCtx } from '../../agent/system/apply';
import { compile, renderTransaction } from '../../lib/compile/compile';
import { stripSetElements } from '../../lib/compile/transaction';
import { parseConfig } from '../../lib/validations/config';
import { labConfig } from '../../lab/plan';
import type { Facts, Plan } from '../../lib/compile/types';
import { benchConfig, blocklistEntries } from '../../bench/stats';

const facts: Facts = {
  interfaces: {
    lan0: { name: 'lan0', exists: true, up: true, carrier: true, addresses: [{ address: '192.168.1.1', prefix: 24 }] },
    wan1: { name: 'wan1', exists: true, up: true, carrier: true, addresses: [{ address: '100.64.1.2', prefix: 24 }], gateway: '100.64.1.1' },
    wan2: { name: 'wan2', exists: true, up: true, carrier: true, addresses: [{ address: '100.64.2.2', prefix: 24 }], gateway: '100.64.2.1' },
  },
  health: {},
};

function plan(entries: string[]): Plan {
  const p = parseConfig(benchConfig(labConfig(2), { blocklist: entries }));
  assert.ok(p.ok);
  return compile(p.value, facts);
}

function newFake(): FakeSystem {
  const f = new FakeSystem();
  for (const [name, x] of Object.entries(facts.interfaces)) f.addLink(name, { addresses: x.addresses });
  for (const k of Object.keys(plan([]).sysctls)) f.sysctls[k] = '0';
  return f;
}

const BIG = blocklistEntries(2000);
const changed = (i: number) => [`10.255.0.${i}/32`, ...BIG.slice(1)];
const SET = 'lw_l_blocklist';

test('compile exposes static sets with their elements', () => {
  const p = plan(BIG);
  const name = Object.keys(p.staticSets ?? {}).find((n) => n.includes('blocklist'));
  assert.ok(name, `a static set for the blocklist: ${Object.keys(p.staticSets ?? {})}`);
  assert.equal(p.staticSets![name].elements.length, 2000);
});

test('keepSets: no flush, no refill, only the element difference', () => {
  const a = plan(BIG);
  const b = plan(changed(7));
  const name = Object.keys(b.staticSets!).find((n) => n.includes('blocklist'))!;
  const full = renderTransaction(b, a.inventory);
  const delta = renderTransaction(b, a.inventory, { keepSets: a.staticSets });
  assert.match(full, new RegExp(`flush set inet linkward ${name}\\n`));
  assert.doesNotMatch(delta, new RegExp(`flush set inet linkward ${name}\\n`));
  assert.match(delta, new RegExp(`delete element inet linkward ${name} \\{ 10\\.0\\.0\\.0 \\}`));
  assert.match(delta, new RegExp(`add element inet linkward ${name} \\{ 10\\.255\\.0\\.7 \\}`));
  // the delta carries none of the set's 2000 unchanged elements (the full one carries them all)
  const elementBytes = b.staticSets![name].elements.reduce((n, e) => n + e.length, 0);
  assert.ok(full.length - delta.length >= elementBytes, `delta ${delta.length} B vs full ${full.length} B (elements ${elementBytes} B)`);
  assert.doesNotMatch(delta, /10\.0\.0\.1[,\n ]/);
  // same marker either way
  assert.equal(delta.split('\n').at(-2), full.split('\n').at(-2));
  // a changed set definition (props) is never delta-updated
  const props = { [name]: { ...a.staticSets![name], props: ['type ipv4_addr'] } };
  assert.match(renderTransaction(b, a.inventory, { keepSets: props }), new RegExp(`flush set inet linkward ${name}\\n`));
});

test('stripSetElements removes only the named set\'s elements', () => {
  const d = '\tset a {\n\t\ttype ipv4_addr\n\t\telements = { 1.1.1.1,\n\t\t\t     2.2.2.2 }\n\t}\n\tset b {\n\t\ttype ipv4_addr\n\t\telements = { 3.3.3.3 }\n\t}\n';
  assert.equal(stripSetElements(d, ['a']), '\tset a {\n\t\ttype ipv4_addr\n\t}\n\tset b {\n\t\ttype ipv4_addr\n\t\telements = { 3.3.3.3 }\n\t}\n');
});

test('applyPlan sends deltas after its own apply; the kernel ends equal to a fresh apply; drift is refilled', async () => {
  const f = newFake();
  const ctx: ApplyCtx = { runner: f.runner };
  const a = plan(BIG);
  const name = Object.keys(a.staticSets!).find((n) => n.includes('blocklist'))!;
  await applyPlan(ctx, a);
  assert.equal(f.state().nft.linkward.sets[name].elements.length, 2000);
  const r = await applyPlan(ctx, plan(changed(1)));
  assert.match(r.nftReason, /set deltas/);
  assert.ok((f.lastNftScript ?? '').length < 30000, `delta script is small (${(f.lastNftScript ?? '').length} B)`);
  assert.deepEqual([...f.state().nft.linkward.sets[name].elements].sort(), [...plan(changed(1)).staticSets![name].elements].sort());
  // fresh apply of the same plan on a new fake = same set content
  const g = newFake();
  await applyPlan({ runner: g.runner }, plan(changed(1)));
  assert.deepEqual([...f.state().nft.linkward.sets[name].elements].sort(), [...g.state().nft.linkward.sets[name].elements].sort());
  // someone adds an element behind our back; the read-back after the next delta apply (off the
  // apply path, here run at once) notices, and the apply that follows refills
  f.nft.linkward.sets[name].elements.push('10.254.254.254');
  const r3 = await applyPlan(ctx, plan(changed(2)));
  assert.match(r3.nftReason, /set deltas/);
  await stopVerify(ctx);
  await verifyApplied(ctx);
  assert.equal(ctx.cache?.fingerprint, DRIFT);
  assert.equal((await applyPlan(ctx, plan(changed(2)))).nftReason, 'drift');
  assert.ok(!f.state().nft.linkward.sets[name].elements.includes('10.254.254.254'), 'foreign element removed');
  assert.equal(f.state().nft.linkward.sets[name].elements.length, 2000);
  // an element we would delete was removed behind our back: nft refuses the delta (nothing
  // applied), the checked full transaction follows
  const els = f.nft.linkward.sets[name].elements;
  els.splice(els.indexOf('10.255.0.2'), 1);
  await applyPlan(ctx, plan(changed(3)));
  assert.deepEqual([...f.state().nft.linkward.sets[name].elements].sort(), [...plan(changed(3)).staticSets![name].elements].sort());
  assert.match(f.lastNftScript ?? '', new RegExp(`flush set inet linkward ${name}\n`), 'full refill after the refused delta');
  void SET;
});
