// Real kernel (root, private namespaces): partial sync of a 2 000-rule table. A one-rule change
// flushes and refills one rule-group chain only — every other chain keeps its rules (same kernel
// handles) and every counter keeps its value — and the table ends equal to a full apply of the
// same plan in a fresh namespace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withNetns, realRunner } from '../../agent/system/runner';
import { applyPlan, verifyApplied, stopVerify, DRIFT, type ApplyCtx } from '../../agent/system/apply';
import { compile } from '../../lib/compile/compile';
import { parseConfig, type Config } from '../../lib/validations/config';
import { FIXTURE_FACTS } from '../unit/system-fixtures';
import type { Plan } from '../../lib/compile/types';
import { DriftWatch } from '../../agent/system/driftwatch';

const NS = [`lwt${process.pid}ps1`, `lwt${process.pid}ps2`];
const isRoot = process.getuid?.() === 0;
const sh = (ns: string, argv: string[], input?: string) => withNetns(realRunner, ns).run(argv, { input, timeoutMs: 60000 });

function plan(port1000: number): Plan {
  const rules = Array.from({ length: 2000 }, (_, i) => ({
    name: `r-${i}`, chain: i % 5 === 0 ? 'input' : 'forward', action: i % 2 ? 'accept' : 'drop', protocol: 'tcp', port: i === 1001 ? port1000 : 1000 + i,
  }));
  const p = parseConfig({
    version: 1,
    lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
    uplinks: [
      { name: 'one', interface: 'u1', gateway: '10.1.0.1', weight: 3 },
      { name: 'two', interface: 'u2', gateway: '10.2.0.1', weight: 1 },
    ],
    // a set with elements too (the partial path compares the table without them, then reads them back)
    addressLists: [{ name: 'block', entries: ['203.0.113.0/25', '198.51.100.7', '192.0.2.0/24'] }],
    rules: [{ name: 'blocked', chain: 'forward', action: 'drop', destinationList: 'block' }, ...rules],
  });
  if (!p.ok) throw new Error(p.errors.join('; '));
  return compile(p.value as Config, FIXTURE_FACTS);
}

/** chain → the kernel handles of its rules; counter → packets. */
async function kernel(ns: string): Promise<{ handles: Map<string, string>; counters: Map<string, number>; text: string }> {
  const j = JSON.parse((await sh(ns, ['nft', '-j', '-a', 'list', 'table', 'inet', 'linkward'])).stdout) as { nftables: Record<string, Record<string, unknown>>[] };
  const handles = new Map<string, string[]>();
  const counters = new Map<string, number>();
  for (const it of j.nftables) {
    if (it.rule) (handles.get(String(it.rule.chain)) ?? handles.set(String(it.rule.chain), []).get(String(it.rule.chain))!).push(String(it.rule.handle));
    if (it.counter) counters.set(String(it.counter.name), Number(it.counter.packets));
  }
  const text = (await sh(ns, ['nft', 'list', 'table', 'inet', 'linkward'])).stdout.replace(/counter packets \d+ bytes \d+/g, '').replace(/packets \d+ bytes \d+/g, '');
  return { handles: new Map([...handles].map(([c, h]) => [c, h.join(',')])), counters, text };
}

before(async () => {
  if (!isRoot) return;
  for (const ns of NS) {
    await realRunner.run(['ip', 'netns', 'add', ns]);
    const cmds: string[][] = [
      ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1'],
      ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1'],
      ['ip', 'link', 'add', 'u1', 'type', 'veth', 'peer', 'name', 'p1'],
      ['ip', 'link', 'add', 'u2', 'type', 'veth', 'peer', 'name', 'p2'],
      ['ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'p3'],
      ...['lo', 'u1', 'p1', 'u2', 'p2', 'lan0', 'p3'].map((i) => ['ip', 'link', 'set', i, 'up']),
      ['ip', 'addr', 'add', '192.168.1.1/24', 'dev', 'lan0'],
      ['ip', 'addr', 'add', '10.1.0.2/24', 'dev', 'u1'],
      ['ip', 'addr', 'add', '10.2.0.2/24', 'dev', 'u2'],
    ];
    for (const c of cmds) await sh(ns, c);
  }
});

after(async () => {
  if (isRoot) for (const ns of NS) await realRunner.run(['ip', 'netns', 'del', ns], { allowFail: true });
});

test('a one-rule change with 2 000 rules refills one chain; other chains and all counters are untouched; equals a full apply', { skip: !isRoot }, async () => {
  const A = plan(2000);
  const B = plan(9);
  const ctx: ApplyCtx = { runner: withNetns(realRunner, NS[0]) };
  const a = await applyPlan(ctx, A);
  assert.doesNotMatch(a.nftReason, /partial/);
  // give the counters values: 7 packets through a rule in some group (input, r-5: tcp dport 1005 drop)
  await sh(NS[0], ['nft', 'insert', 'rule', 'inet', 'linkward', 'output', 'counter', 'name', 'lw_r_r_5']);
  for (let i = 0; i < 7; i++) await sh(NS[0], ['ping', '-c', '1', '-W', '0.2', '127.0.0.1'], undefined).catch(() => undefined);
  // (that rule was added behind our back: repair it first so A is what the kernel holds)
  const fix = await applyPlan(ctx, A);
  assert.equal(fix.nftReason, 'drift');
  const k1 = await kernel(NS[0]);
  assert.ok((k1.counters.get('lw_r_r_5') ?? 0) >= 7, `counter kept its value: ${k1.counters.get('lw_r_r_5')}`);
  const r = await applyPlan(ctx, B);
  assert.match(r.nftReason, /partial: 1 chain/);
  const k2 = await kernel(NS[0]);
  const moved = [...k1.handles.keys()].filter((c) => k1.handles.get(c) !== k2.handles.get(c) && c !== 'lw_meta');
  assert.equal(moved.length, 1, `chains refilled: ${moved.join(', ')}`);
  assert.match(moved[0], /^rules_forward_/);
  for (const [name, v] of k1.counters) assert.equal(k2.counters.get(name), v, `counter ${name}`);
  // a fresh full apply of B elsewhere: the same table
  const full = await applyPlan({ runner: withNetns(realRunner, NS[1]) }, B);
  assert.doesNotMatch(full.nftReason, /partial/);
  const k3 = await kernel(NS[1]);
  assert.equal(k2.text, k3.text);
  // the read-back (off the apply path; here at once) finds the kernel as our applies left it
  await stopVerify(ctx);
  await verifyApplied(ctx);
  assert.ok(ctx.cache?.fingerprint && ctx.cache.fingerprint !== DRIFT, 'read back: consistent');
  assert.equal((await applyPlan(ctx, B)).nftReason, 'unchanged');
  // a rule added behind our back in a chain the next partial apply does not touch: the read-back
  // after that apply finds it, the apply that follows repairs it
  const drifts: string[] = [];
  ctx.onDrift = (why) => drifts.push(why);
  await sh(NS[0], ['nft', 'add', 'rule', 'inet', 'linkward', 'rules_input_r-0', 'tcp', 'dport', '4444', 'accept']);
  const C = plan(10);
  assert.match((await applyPlan(ctx, C)).nftReason, /partial: 1 chain/);
  await stopVerify(ctx);
  await verifyApplied(ctx);
  assert.equal(drifts.length, 1);
  assert.equal((await applyPlan(ctx, C)).nftReason, 'drift');
  assert.doesNotMatch((await sh(NS[0], ['nft', 'list', 'chain', 'inet', 'linkward', 'rules_input_r-0'])).stdout, /4444/);
  await stopVerify(ctx);
});

test('nft monitor in the real kernel: our own partial apply (its nft pid) is not drift; a foreign rule is', { skip: !isRoot }, async () => {
  const runner = withNetns(realRunner, NS[1]);
  const d = new DriftWatch(runner, () => undefined);
  const ctx: ApplyCtx = { runner, verifyDelayMs: 60000, ownCommit: (pid) => d.ownCommit(pid) };
  try {
    await applyPlan(ctx, plan(2000));
    d.start();
    d.bump('ip monitor started'); // (no link watcher here)
    await new Promise((r) => setTimeout(r, 1500)); // the monitor listens ("settled")
    const g = d.generation;
    const r = await applyPlan(ctx, plan(7));
    assert.match(r.nftReason, /partial/);
    for (let i = 0; i < 50 && d.ownTransactions === 0; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 300)); // longer than the wait for a transaction line
    assert.equal(d.ownTransactions, 1, 'our transaction recognised by its pid');
    assert.equal(d.generation, g, 'no drift from our own apply');
    assert.equal(d.settled, true);
    await sh(NS[1], ['nft', 'add', 'rule', 'inet', 'linkward', 'forward', 'counter']);
    for (let i = 0; i < 50 && d.generation === g; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(d.generation, g + 1, 'a foreign rule is drift');
  } finally {
    d.stop();
    await stopVerify(ctx);
  }
});

/** The `nft monitor` processes running in a namespace (by their argv, from /proc). */
async function monitorsIn(ns: string): Promise<number[]> {
  const pids = (await realRunner.run(['ip', 'netns', 'pids', ns])).stdout.split('\n').filter(Boolean).map(Number);
  return pids.filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0]) === 'nft' && argv[1] === 'monitor';
    } catch {
      return false; // exited meanwhile
    }
  });
}

test('a large transaction with the drift watch unsubscribed (DriftWatch.quietDuring, real kernel): no nft monitor in the namespace while it commits; a new one afterwards sees a foreign rule again', { skip: !isRoot }, async () => {
  const runner = withNetns(realRunner, NS[1]);
  const d = new DriftWatch(runner, () => undefined);
  const ctx: ApplyCtx = { runner, verifyDelayMs: 60000, ownCommit: (pid) => d.ownCommit(pid) };
  try {
    d.start();
    d.bump('ip monitor started');
    await new Promise((r) => setTimeout(r, 1500)); // the monitor listens
    const before = await monitorsIn(NS[1]);
    assert.equal(before.length, 1, 'one nft monitor before');
    const g = d.generation;
    let during: number[] | null = null;
    await d.quietDuring(async () => {
      during = await monitorsIn(NS[1]);
      const r = await applyPlan(ctx, plan(11));
      assert.equal(r.nftChanged, true);
    });
    assert.deepEqual(during, [], 'no nft monitor subscribed while our transaction committed');
    const afterwards = await monitorsIn(NS[1]);
    assert.equal(afterwards.length, 1, 'a monitor again');
    assert.notEqual(afterwards[0], before[0], 'a new process');
    assert.ok(d.generation > g, 'the unwatched gap moved the generation (a verification follows)');
    assert.equal(d.watching, true);
    await new Promise((r) => setTimeout(r, 1500)); // the new monitor listens
    const g2 = d.generation;
    await sh(NS[1], ['nft', 'add', 'rule', 'inet', 'linkward', 'forward', 'counter']);
    for (let i = 0; i < 50 && d.generation === g2; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(d.generation, g2 + 1, 'the new monitor sees a foreign rule');
  } finally {
    d.stop();
    await stopVerify(ctx);
  }
});
