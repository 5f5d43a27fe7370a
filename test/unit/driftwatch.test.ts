// Event-driven drift detection (agent/system/driftwatch.ts, agent/agent.ts resyncDue): the
// periodic resync runs only after an event that could be drift, when a monitor is not running,
// or when the backstop is due.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DriftWatch } from '../../agent/system/driftwatch';
import { isDriftLine } from '../../agent/system/ipmonitor';
import { Agent, RESYNC_BACKSTOP_MS } from '../../agent/agent';
import { openDb } from '../../lib/db/sqlite';
import { FakeSystem } from '../../agent/system/fake';
import type { Runner, SpawnOptions, SpawnedProcess } from '../../agent/system/runner';

/** A runner whose spawned processes stay alive and can be fed lines. */
function feedRunner() {
  const procs: { argv: string[]; opts: SpawnOptions; killed: boolean }[] = [];
  const runner = {
    ...new FakeSystem().runner,
    spawn: (argv: string[], opts: SpawnOptions = {}): SpawnedProcess => {
      const p = { argv, opts, killed: false };
      procs.push(p);
      return { argv, pid: 4242, kill: () => { p.killed = true; opts.onExit?.(null, 'SIGTERM'); } } as unknown as SpawnedProcess;
    },
  } as Runner;
  return { runner, procs };
}

test('ip monitor lines: rule events and routes in our tables are drift evidence, not wake-ups', () => {
  assert.equal(isDriftLine('1000:\tfrom 100.64.1.2 lookup 201 proto static'), true);
  assert.equal(isDriftLine('Deleted 1000:\tfrom 100.64.1.2 lookup 201'), true);
  assert.equal(isDriftLine('default via 100.64.1.1 dev wan1 table 201 '), true);
  assert.equal(isDriftLine('Deleted 10.0.0.0/8 dev wan2 table 250 scope link '), true);
  assert.equal(isDriftLine('default via 100.64.1.1 dev wan1 table 100 '), false, 'a table that is not ours');
  assert.equal(isDriftLine('3: wan1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state DOWN'), false, 'a link line (a space, no tab)');
  assert.equal(isDriftLine('default via 100.64.2.1 dev wan2 metric 102 '), false, 'main table');
});

test('DriftWatch: only our table\'s nft events (by another process than our own nft), stderr and monitor exits move the generation', async () => {
  const { runner, procs } = feedRunner();
  const d = new DriftWatch(runner, () => undefined);
  d.start();
  assert.deepEqual(procs[0].argv, ['nft', 'monitor']);
  assert.equal(d.watching, false, 'the ip monitor is not running yet');
  d.bump('ip monitor started');
  assert.equal(d.watching, true);
  const g = d.generation;
  procs[0].opts.onStdoutLine!('add rule ip dockerish fwdchain counter drop');
  procs[0].opts.onStdoutLine!('add rule inet linkwardx forward accept');
  assert.equal(d.generation, g, 'other tables do not count');
  procs[0].opts.onStdoutLine!('# new generation 7 by process 990 (nft)');
  assert.equal(d.generation, g, 'other tables do not count');
  procs[0].opts.onStdoutLine!('delete rule inet linkward forward handle 12');
  assert.equal(d.settled, false, 'an event of our table waits for its transaction line');
  procs[0].opts.onStdoutLine!('# new generation 8 by process 991 (nft)');
  assert.equal(d.generation, g + 1, 'by someone else: drift');
  assert.equal(d.settled, true);
  // our own nft -f (its pid told by the runner): its transaction is not drift
  d.ownCommit(4711);
  procs[0].opts.onStdoutLine!('delete rule inet linkward rules_3 handle 40');
  procs[0].opts.onStdoutLine!('add rule inet linkward rules_3 tcp dport 22 accept');
  procs[0].opts.onStdoutLine!('# new generation 9 by process 4711 (nft)');
  assert.equal(d.generation, g + 1, 'our own transaction');
  assert.equal(d.ownTransactions, 1);
  // the same pid again is not ours any more (one transaction per nft run)
  procs[0].opts.onStdoutLine!('add rule inet linkward rules_3 tcp dport 23 accept');
  procs[0].opts.onStdoutLine!('# new generation 10 by process 4711 (nft)');
  assert.equal(d.generation, g + 2);
  // our own big transaction printed over more than GEN_LINE_MS (10 000 rules): still ours
  d.ownCommit(4712);
  for (let i = 0; i < 5; i++) {
    procs[0].opts.onStdoutLine!(`add rule inet linkward rules_${i} tcp dport ${i} accept`);
    await new Promise((r) => setTimeout(r, 80));
  }
  procs[0].opts.onStdoutLine!('# new generation 11 by process 4712 (nft)');
  assert.equal(d.generation, g + 2, 'a long-printed own transaction is not drift');
  assert.equal(d.ownTransactions, 2);
  // events without a transaction line: drift after a moment
  procs[0].opts.onStdoutLine!('add rule inet linkward forward accept');
  assert.equal(d.generation, g + 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(d.generation, g + 3, 'no transaction line: drift');
  procs[0].opts.onStderrLine!('netlink: Error: Could not receive netlink messages: No buffer space available');
  assert.equal(d.generation, g + 4, 'lost events mean: verify');
  procs[0].opts.onExit!(1, null);
  assert.equal(d.watching, false, 'nft monitor gone');
  d.stop();
});

test('DriftWatch.quietDuring: our large transaction runs with no nft monitor subscribed; the monitor starts again after it, and the gap moves the generation', async () => {
  const { runner, procs } = feedRunner();
  const d = new DriftWatch(runner, () => undefined);
  d.start();
  d.bump('ip monitor started');
  const g = d.generation;
  const ng = d.nftGeneration;
  let during: { watching: boolean; killed: boolean; procs: number } | null = null;
  await d.quietDuring(async () => {
    during = { watching: d.watching, killed: procs[0].killed, procs: procs.length };
  });
  assert.deepEqual(during, { watching: false, killed: true, procs: 1 }, 'the commit ran with the monitor killed and none started');
  assert.equal(procs.length, 2, 'a new monitor after the commit');
  assert.deepEqual(procs[1].argv, ['nft', 'monitor']);
  assert.equal(d.watching, true);
  assert.equal(d.quietCommits, 1);
  assert.ok(d.generation > g, 'nothing was watched meanwhile: verify');
  assert.equal(d.generation - g, d.nftGeneration - ng, 'all of it nft monitor generation (a table read-back verifies it)');
  // the killed monitor's exit did not schedule a restart of its own (the restart delay is 500 ms)
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(procs.length, 2);
  // a failing commit: the monitor comes back all the same, the error goes to the caller
  await assert.rejects(d.quietDuring(async () => { throw new Error('nft refused'); }), /nft refused/);
  assert.equal(procs.length, 3);
  assert.equal(d.watching, true);
  d.stop();
  // stopped (or the monitor down): the commit just runs
  let ran = false;
  await d.quietDuring(async () => { ran = true; });
  assert.equal(ran, true);
  assert.equal(procs.length, 3);
});

/** Like feedRunner, but a killed process exits `exitMs` later (its `exited` and onExit then). */
function slowExitRunner(exitMs: number[]) {
  const procs: { argv: string[]; opts: SpawnOptions; killed: boolean; exitedAt: number | null }[] = [];
  const runner = {
    ...new FakeSystem().runner,
    spawn: (argv: string[], opts: SpawnOptions = {}): SpawnedProcess => {
      const p = { argv, opts, killed: false, exitedAt: null as number | null };
      const delay = exitMs[procs.length] ?? 10;
      procs.push(p);
      let done!: () => void;
      const exited = new Promise<void>((r) => (done = r));
      return {
        argv, pid: 5000 + procs.length, exited,
        kill: () => {
          if (p.killed) return;
          p.killed = true;
          setTimeout(() => { p.exitedAt = Date.now(); opts.onExit?.(null, 'SIGTERM'); done(); }, delay);
        },
      } as unknown as SpawnedProcess;
    },
  } as Runner;
  return { runner, procs };
}

test('DriftWatch.quietDuring with monitors that take a while to exit: the commit waits for the exit (at most 500 ms); a late exit of the old one neither stops the new one nor restarts a third; concurrent calls share one quiet period; no own pid is kept for a transaction nobody watched', async () => {
  // the first monitor exits 40 ms after its kill, the second 900 ms after (beyond the 500 ms wait)
  const { runner, procs } = slowExitRunner([40, 900, 10, 10]);
  const d = new DriftWatch(runner, () => undefined);
  d.start();
  d.bump('ip monitor started');
  let committedAt = 0;
  await d.quietDuring(async () => { committedAt = Date.now(); });
  assert.ok(procs[0].exitedAt !== null && committedAt >= procs[0].exitedAt, 'the commit ran after the old monitor had exited');
  assert.equal(procs.length, 2);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(procs.length, 2, 'its exit (during the quiet period) started no monitor of its own');
  // the second exits only after the wait gave up and the third was started
  const t0 = Date.now();
  await d.quietDuring(async () => { committedAt = Date.now(); });
  assert.ok(committedAt - t0 >= 450 && procs[1].exitedAt === null, 'the wait gave up after ~500 ms');
  assert.equal(procs.length, 3);
  await new Promise((r) => setTimeout(r, 1200)); // the old one exits now, and the restart delay passes
  assert.ok(procs[1].exitedAt !== null);
  assert.equal(procs.length, 3, 'the late exit did not restart anything');
  assert.equal(d.watching, true, 'the new monitor is still the current one');
  // two at once: one kill, one restart, after the last
  let inner = 0;
  const a = d.quietDuring(async () => { await new Promise((r) => setTimeout(r, 100)); inner++; });
  const b = d.quietDuring(async () => { await new Promise((r) => setTimeout(r, 200)); inner++; });
  await Promise.all([a, b]);
  assert.equal(inner, 2);
  assert.equal(procs.length, 4, 'one new monitor for both');
  assert.equal(procs[2].killed, true);
  // our nft's pid told during a quiet commit is not kept: the same pid later is someone else's
  await d.quietDuring(async () => d.ownCommit(777));
  const g = d.generation;
  procs[4].opts.onStdoutLine!('add rule inet linkward forward accept');
  procs[4].opts.onStdoutLine!('# new generation 30 by process 777 (nft)');
  assert.equal(d.generation, g + 1, 'not taken as ours');
  d.stop();
});

test('Agent.resyncDue: quiet monitors skip the resync; an event, a dead monitor or the backstop do not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-drift-'));
  const db = openDb(path.join(dir, 'a.db'));
  try {
    const agent = new Agent({ db, runner: new FakeSystem().runner, health: false, watchLinks: false, log: () => undefined });
    assert.equal(agent.resyncDue(), true, 'no drift watch: always');
    const { runner } = feedRunner();
    const d = new DriftWatch(runner, () => undefined);
    d.start();
    d.bump('ip monitor started');
    const a = agent as unknown as { drift: DriftWatch; verifiedGen: number; verifiedAt: number };
    a.drift = d;
    const now = Date.now();
    a.verifiedGen = d.generation;
    a.verifiedAt = now;
    assert.equal(agent.resyncDue(now + 30_000), false, 'nothing happened since the last verification');
    assert.equal(agent.resyncDue(now + RESYNC_BACKSTOP_MS), true, 'backstop');
    d.bump('nft monitor: our table');
    assert.equal(agent.resyncDue(now + 30_000), true, 'an event (ours or not): verify');
    a.verifiedGen = d.generation;
    assert.equal(agent.resyncDue(now + 30_000), false);
    d.bump('ip monitor exited');
    a.verifiedGen = d.generation;
    assert.equal(agent.resyncDue(now + 30_000), true, 'a monitor is down: resync as before');
    d.stop();
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a read-back that finds the table as our partial applies left it verifies their nft events (no resync, the next partial apply skips its marker read); a route/rule event in between does not count', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-drift-'));
  const db = openDb(path.join(dir, 'a.db'));
  try {
    const agent = new Agent({ db, runner: new FakeSystem().runner, health: false, watchLinks: false, log: () => undefined });
    const { runner } = feedRunner();
    const d = new DriftWatch(runner, () => undefined);
    d.start();
    d.bump('ip monitor started');
    const a = agent as unknown as { drift: DriftWatch; verifiedGen: number; verifiedNftGen: number; verifiedAt: number; applyCtx: import('../../agent/system/apply').ApplyCtx };
    a.drift = d;
    const now = Date.now();
    a.verifiedGen = d.generation;
    a.verifiedNftGen = d.nftGeneration;
    a.verifiedAt = now;
    assert.equal(a.applyCtx.kernelAsLeft!(), true);
    d.bump('nft monitor: our table'); // our own partial apply's events
    d.bump('nft monitor: our table');
    assert.equal(a.applyCtx.kernelAsLeft!(), false);
    assert.equal(agent.resyncDue(now + 30_000), true);
    const tok = a.applyCtx.verifyToken!();
    a.applyCtx.onVerified!(tok); // the read-back found the table as left
    assert.equal(a.applyCtx.kernelAsLeft!(), true, 'verified by the read-back');
    assert.equal(agent.resyncDue(now + 30_000), false, 'no resync for our own apply');
    // a route event and nft events, then a clean read-back: the route event still needs a reconcile
    d.bump('nft monitor: our table');
    d.bump('ip monitor: route table 201');
    a.applyCtx.onVerified!(a.applyCtx.verifyToken!());
    assert.equal(a.applyCtx.kernelAsLeft!(), false, 'a route/rule event: not verified by a table read-back');
    assert.equal(agent.resyncDue(now + 30_000), true);
    // an older token (taken before events that came after it) does not verify those
    const v = a.verifiedGen;
    a.applyCtx.onVerified!({ gen: v - 1, nft: 0 });
    assert.equal(a.verifiedGen, v);
    d.stop();
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
