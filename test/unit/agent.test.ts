// The agent loop against the stateful fake system: failures keep the last good state, are
// recorded, and are retried with backoff; the same revision twice makes no kernel change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { FakeSystem } from '../../agent/system/fake';
import { openDb } from '../../lib/db/sqlite';
import { Agent } from '../../agent/agent';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';

const CONFIG = {
  version: 1,
  lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }],
  uplinks: [{ name: 'isp1', interface: 'wan1', gateway: '100.64.1.1' }],
  rules: [{ name: 'a', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23 }],
};

function setup(opts: Partial<ConstructorParameters<typeof Agent>[0]> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-agent-'));
  const db = openDb(path.join(dir, 'a.db'));
  // Writers (CLI, web) use their own connection: PRAGMA data_version only moves for other connections.
  const writer = openDb(path.join(dir, 'a.db'));
  const fake = new FakeSystem();
  fake.addLink('lan0', { addresses: [{ address: '192.168.1.1', prefix: 24 }] });
  fake.addLink('wan1', { addresses: [{ address: '100.64.1.2', prefix: 24 }] });
  // The fake knows only the sysctls a kernel would have: give it every key our plans use.
  const parsed = parseConfig(CONFIG);
  assert.ok(parsed.ok);
  for (const k of Object.keys(compile(parsed.value, { interfaces: {}, health: {} }).sysctls)) fake.sysctls[k] = '0';
  const logs: string[] = [];
  const save = (doc: unknown, confirmWithin: number | null = null) => {
    const p = parseConfig(doc);
    assert.ok(p.ok);
    return Number(writer.prepare('INSERT INTO Revision (createdAt, author, source, summary, config, confirmWithin) VALUES (?, ?, ?, ?, ?, ?)').run(Date.now(), 't', 'cli', 's', JSON.stringify(p.value), confirmWithin).lastInsertRowid);
  };
  const agentState = () => db.prepare('SELECT * FROM AgentState WHERE id = 1').get() as { appliedRevision: number | null; applyError: string | null; errorRevision: number | null };
  const cleanup = () => {
    writer.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const agent = new Agent({ db, runner: fake.runner, health: false, watchLinks: false, log: (m) => logs.push(m), pollMs: 50, resyncMs: 600000, ...opts });
  return { db, writer, fake, agent, logs, save, agentState, cleanup };
}

const waitFor = async (what: string, fn: () => boolean, ms = 15000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('apply once, then the same revision again makes zero kernel mutations', async () => {
  const s = setup();
  try {
    s.save(CONFIG);
    const r1 = await s.agent.runOnce();
    assert.equal(r1.ok, true, r1.error);
    assert.equal(r1.changed, true);
    assert.equal(s.agentState().appliedRevision, 1);
    s.fake.clearCalls();
    const r2 = await s.agent.reconcile('again');
    assert.equal(r2.ok, true);
    assert.equal(r2.changed, false);
    assert.deepEqual(s.fake.mutations(), [], 'no mutating command was run');
    const counters = s.db.prepare('SELECT name, kind, ref FROM Counter ORDER BY name').all() as { name: string; kind: string; ref: string }[];
    assert.ok(counters.some((c) => c.name === 'lw_r_a' && c.kind === 'rule' && c.ref === 'a'), 'rule counter stored');
  } finally {
    s.cleanup();
  }
});

test('a failing apply is recorded, keeps the last good kernel state, and is retried with backoff', async () => {
  const s = setup();
  try {
    s.save(CONFIG);
    await s.agent.start();
    await waitFor('first apply', () => s.agentState().appliedRevision === 1);
    const good = s.fake.state();
    // Kernel-side failure: nft -c passes, nft -f fails.
    s.fake.nftApplyFails = 'Could not process rule: Device or resource busy';
    const rev2 = s.save({ ...CONFIG, rules: [...CONFIG.rules, { name: 'b', chain: 'input', action: 'drop', protocol: 'udp', port: 9 }] });
    await waitFor('error recorded', () => s.agentState().errorRevision === rev2);
    assert.match(s.agentState().applyError ?? '', /applying revision 2 failed [^]*Device or resource busy/);
    assert.equal(s.agentState().appliedRevision, 1, 'applied revision still 1');
    assert.deepEqual(s.fake.state().nft, good.nft, 'kernel nft state unchanged');
    await waitFor('a retry', () => s.logs.filter((l) => /attempt 2/.test(l)).length > 0, 5000);
    s.fake.nftApplyFails = null;
    await waitFor('recovery', () => s.agentState().appliedRevision === rev2, 10000);
    assert.equal(s.agentState().applyError, null);
    const events = s.db.prepare("SELECT type, message FROM Event ORDER BY id").all() as { type: string; message: string }[];
    assert.ok(events.some((e) => e.type === 'apply-error'));
    assert.ok(events.some((e) => e.type === 'apply' && /revision 2/.test(e.message)));
  } finally {
    await s.agent.stop();
    s.cleanup();
  }
});

test('a revision that fails validation is refused and recorded without touching the kernel', async () => {
  const s = setup();
  try {
    s.save(CONFIG);
    assert.equal((await s.agent.runOnce()).ok, true);
    s.fake.clearCalls();
    s.db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)').run(Date.now(), 'x', 'cli', 'bad', JSON.stringify({ ...CONFIG, uplinks: [{ name: 'isp1', interface: 'wan1;', gateway: 'auto' }] }));
    const r = await s.agent.reconcile('bad');
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /uplinks\[0\]\.interface: not a valid Linux interface name/);
    assert.deepEqual(s.fake.mutations(), []);
    assert.equal(s.agentState().appliedRevision, 1);
  } finally {
    s.cleanup();
  }
});

test('a health- or revision-triggered reconcile reuses the facts while the link watcher reported nothing; other triggers read', async () => {
  const s = setup();
  try {
    s.save(CONFIG);
    // long-lived watchers (nft monitor, ip monitor) stay alive in this runner
    const alive: { argv: string[]; opts: import('../../agent/system/runner').SpawnOptions }[] = [];
    const runner = { ...s.fake.runner, spawn: (argv: string[], opts: import('../../agent/system/runner').SpawnOptions = {}) => {
      alive.push({ argv, opts });
      if (argv[0] === 'ip' && argv.includes('monitor')) opts.onStdoutLine?.('1000:\tfrom all lookup 201'); // a line: running
      return { argv, pid: 1, kill: () => undefined } as unknown as import('../../agent/system/runner').SpawnedProcess;
    } };
    const agent = new Agent({ db: s.db, runner, health: false, log: () => undefined, pollMs: 50, resyncMs: 600000, packetLog: false });
    await agent.start();
    try {
      const ipMon = alive.find((p) => p.argv[0] === 'ip' && p.argv.includes('monitor'));
      assert.ok(ipMon, 'the link watcher runs');
      const reads0 = agent.factsReads.read;
      assert.equal((await agent.reconcile('health: isp1 down')).ok, true);
      assert.equal(agent.factsReads.read, reads0, 'no ip -j reads for the health transition');
      assert.equal(agent.factsReads.reused, 1);
      assert.equal((await agent.reconcile('periodic resync')).ok, true);
      assert.equal(agent.factsReads.read, reads0 + 1, 'any other trigger reads');
      // a new revision (the admin's change) reuses them too
      s.save({ ...CONFIG, uplinks: CONFIG.uplinks.map((u, i) => (i === 0 ? { ...u, weight: 7 } : u)) });
      const latest = (s.db.prepare('SELECT MAX(id) AS id FROM Revision').get() as { id: number }).id;
      const used = agent.factsReads.reused;
      assert.equal((await agent.reconcile(`revision ${latest}`)).ok, true);
      assert.equal(agent.factsReads.read, reads0 + 1, 'no ip -j reads for a new revision');
      assert.ok(agent.factsReads.reused >= used + 1, 'reused (the revision poll may have run one too)');
      assert.equal(s.agentState().appliedRevision, latest, 'and it was applied');
      // a link event (debounced 100 ms) makes its own reconcile, which reads; a health reconcile
      // before that read would not reuse the older facts
      const reads1 = agent.factsReads.read;
      const gen = (agent as unknown as { linkGen: number }).linkGen;
      ipMon!.opts.onStdoutLine!('3: wan1: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state DOWN');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((agent as unknown as { linkGen: number }).linkGen, gen + 1);
      assert.equal(agent.factsReads.read, reads1 + 1, 'the link change reconcile read the facts');
      (agent as unknown as { linkGen: number }).linkGen++; // an event not yet read
      assert.equal((await agent.reconcile('health: isp1 up')).ok, true);
      assert.equal(agent.factsReads.read, reads1 + 2, 'stale facts are not reused');
    } finally {
      await agent.stop();
    }
  } finally {
    s.cleanup();
  }
});

test('idle, the agent polls nothing: the web\'s commits wake it (requests beyond one read, a revision), a commit-confirmed revision rolls back at its deadline', async () => {
  // no poll to speak of: every reaction below comes from the inotify wake-up or the deadline timer
  const s = setup({ pollMs: 600_000, counterMs: 600_000, connMs: 600_000 });
  const store = s.agent['store'];
  let probes = 0;
  const reads: Record<string, number> = {};
  for (const k of ['dataVersion', 'pendingRequests', 'watchUntil'] as const) {
    const f = (store[k] as (...a: unknown[]) => unknown).bind(store);
    (store as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => {
      reads[k] = (reads[k] ?? 0) + 1;
      if (k === 'dataVersion') probes++;
      return f(...a);
    };
  }
  const confirm = s.agent['confirm'];
  const tick = confirm.tick.bind(confirm);
  confirm.tick = (now?: number) => {
    reads.confirm = (reads.confirm ?? 0) + 1;
    return tick(now);
  };
  try {
    s.save(CONFIG);
    await s.agent.start();
    assert.ok(s.agentState().appliedRevision);
    // 25 requests, more than one read takes (REQUESTS_PER_READ = 20): every one is answered
    const ins = s.writer.prepare("INSERT INTO AgentRequest (createdAt, type, args) VALUES (?, 'no.such', '{}')");
    s.writer.transaction(() => {
      for (let i = 0; i < 25; i++) ins.run(Date.now());
    })();
    const done = () => s.db.prepare('SELECT COUNT(*) FROM AgentRequest WHERE doneAt IS NOT NULL').pluck().get() as number;
    await waitFor('25 requests answered', () => done() === 25, 5000);
    assert.match(s.db.prepare('SELECT result FROM AgentRequest ORDER BY id DESC LIMIT 1').pluck().get() as string, /unsupported request type no\.such/);
    // commit-confirmed within 1 s and never confirmed: applied, then rolled back to the first
    const first = s.agentState().appliedRevision!;
    const doc2 = { ...CONFIG, rules: [...CONFIG.rules, { name: 'b', chain: 'forward', action: 'drop', protocol: 'tcp', port: 25 }] };
    const r2 = s.save(doc2, 1);
    await waitFor('revision 2 applied', () => s.agentState().appliedRevision === r2, 5000);
    await waitFor('rolled back', () => s.db.prepare('SELECT rolledBackAt FROM Revision WHERE id = ?').pluck().get(r2) !== null, 5000);
    await waitFor('the restore applied', () => (s.agentState().appliedRevision ?? 0) > r2, 5000);
    const restored = s.db.prepare('SELECT config FROM Revision WHERE id = ?').pluck().get(s.agentState().appliedRevision) as string;
    assert.equal(restored, s.db.prepare('SELECT config FROM Revision WHERE id = ?').pluck().get(first));
    // idle now: over 1.5 s nothing commits, so at most the backstop looks (none: its poll is 600 s);
    // the agent's own writes wake the watch too, but there are none with these timers
    await new Promise((r) => setTimeout(r, 300));
    probes = 0;
    for (const k of Object.keys(reads)) reads[k] = 0;
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(probes <= 2, `idle agent probed the database ${probes} times in 1.5 s`);
    assert.equal(reads.pendingRequests, 0, 'no request poll');
    assert.equal(reads.confirm, 0, 'no confirmation poll with nothing pending');
    assert.equal(reads.watchUntil, 0, 'the connection tracker sleeps until its next count check');
  } finally {
    await s.agent.stop();
    s.cleanup();
  }
});

test('a commit-confirmed revision: its deadline is pending by the time it is marked applied (a reader never sees applied with nothing pending)', async () => {
  const s = setup();
  const store = s.agent['store'];
  const seen: { revision: number; pending: number | null; deadline: number | null }[] = [];
  const recordApplied = store.recordApplied.bind(store);
  store.recordApplied = (revision: number, ms: number, facts: unknown) => {
    recordApplied(revision, ms, facts);
    // what another connection (the dashboard, the CLI, a test) reads right after the applied mark
    const st = s.writer.prepare('SELECT appliedRevision, pendingConfirm, confirmDeadline FROM AgentState WHERE id = 1').get() as { appliedRevision: number; pendingConfirm: number | null; confirmDeadline: number | null };
    seen.push({ revision: st.appliedRevision, pending: st.pendingConfirm, deadline: st.confirmDeadline });
  };
  try {
    s.save(CONFIG);
    assert.equal((await s.agent.runOnce()).ok, true);
    const r2 = s.save({ ...CONFIG, rules: [...CONFIG.rules, { name: 'b', chain: 'forward', action: 'drop', protocol: 'tcp', port: 25 }] }, 30);
    const t0 = Date.now();
    const r = await s.agent.reconcile('revision');
    assert.equal(r.ok, true, r.error);
    const at2 = seen.find((x) => x.revision === r2);
    assert.ok(at2, `revision ${r2} was marked applied (${JSON.stringify(seen)})`);
    assert.equal(at2.pending, r2, 'pending confirmation recorded no later than the applied mark');
    assert.ok(at2.deadline! >= t0 + 30_000 && at2.deadline! <= Date.now() + 30_000, 'deadline = apply + 30 s');
    assert.equal(seen.find((x) => x.revision === 1)?.pending, null, 'a plain revision starts no window');
  } finally {
    await s.agent.stop();
    s.cleanup();
  }
});
