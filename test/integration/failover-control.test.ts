// Issue 5 on the real kernel, second part: source stickiness, manual control (disable, drain),
// failback "reset" across priority tiers, and the TCP health method. The real agent process runs
// in the lab's router namespace; config changes go through the real CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentProc, ProbeProc, SERVER, ISP_ADDR, labDoc, importDoc, waitState, waitFor, transitions, startServer, startHold,
  cliRun, sleep, setupFailoverLab, holdMark, waitActed, type LabEnv, type ConfigDoc, type HoldEvent,
} from '../../bench/lib/failover-lab';
import { labBreak, labRestore, tcpWhoAmIMany } from '../../lab/lab';
import { withNetns, realRunner } from '../../agent/system/runner';

let L: LabEnv;
let agent: AgentProc | null = null;
const procs: ProbeProc<unknown>[] = [];
const ISP1 = ISP_ADDR(1);
const ISP2 = ISP_ADDR(2);
const STICKY_SECONDS = 10;

const note = (m: string) => process.stdout.write(`# failover-control: ${m}\n`);

function baseDoc(): ConfigDoc {
  const doc = labDoc(L);
  doc.firewall = { ...doc.firewall, sticky: 'source', stickySeconds: STICKY_SECONDS };
  return doc;
}

async function applied(doc: ConfigDoc): Promise<void> {
  const t = Date.now();
  importDoc(L, doc);
  await waitFor('the agent applied the new revision', () => L.db.prepare("SELECT 1 FROM Event WHERE type = 'apply' AND ts >= ?").get(t), 20000);
}

async function uplinksOf(n: number, source?: string): Promise<string[]> {
  const r = await tcpWhoAmIMany(L.prefix, 'lan', SERVER, 80, n, { timeoutMs: 1000, ...(source ? { sourceAddress: source } : {}) });
  return [...new Set(r.map((x) => x?.ip ?? 'failed'))].sort();
}

const ended = (p: ProbeProc<HoldEvent>) => p.lines.some((l) => l.ev === 'error' || l.ev === 'close');

/** A long-lived LAN flow on the given uplink mark (retries until the weighted pick lands there). */
async function holdOn(mark: number): Promise<ProbeProc<HoldEvent>> {
  for (let i = 0; i < 16; i++) {
    const p = await startHold(L, 'lan', SERVER);
    if ((await holdMark(L, p, SERVER)) === mark) {
      procs.push(p as ProbeProc<unknown>);
      return p;
    }
    await p.stop();
  }
  throw new Error(`no flow landed on mark ${mark} in 16 tries`);
}

before(async () => {
  L = await setupFailoverLab('fc', 2);
  importDoc(L, baseDoc());
  procs.push(await startServer(L, 'net', SERVER));
  agent = new AgentProc(L);
  await waitState(L, 'isp1', 'up', 40000);
  await waitState(L, 'isp2', 'up', 40000);
});

after(async () => {
  for (const p of procs) await p.stop().catch(() => undefined);
  await agent?.stop().catch(() => undefined);
  await L?.cleanup();
});

test('sticky source: one LAN host stays on one uplink; moves only when it goes down; stays moved after recovery until the pin expires', async () => {
  const first = await uplinksOf(50, '192.168.1.10');
  assert.equal(first.length, 1, `all 50 connections from 192.168.1.10 on one uplink (got ${first})`);
  const pinned = first[0];
  const other = pinned === ISP1 ? ISP2 : ISP1;
  const isp = pinned === ISP1 ? 'isp1' : 'isp2';
  const tBreak = Date.now();
  try {
    await labBreak(L.prefix, isp);
    await waitActed(L, isp, 'down', tBreak);
    assert.deepEqual(await uplinksOf(50, '192.168.1.10'), [other], 'pinned uplink down: all 50 moved to the other one');
  } finally {
    await labRestore(L.prefix, isp);
  }
  await waitState(L, isp, 'up', 30000);
  assert.deepEqual(await uplinksOf(50, '192.168.1.10'), [other], 'after recovery the host stays where it was moved');
  await sleep((STICKY_SECONDS + 2) * 1000);
  const pinSets: string[] = [];
  for (const id of [1, 2]) pinSets.push((await withNetns(realRunner, L.lab.namespaces.router).run(['nft', 'list', 'set', 'inet', 'linkward', `lw_pin_${id}`], { allowFail: true })).stdout);
  assert.ok(!pinSets.some((x) => /192\.168\.1\.10\b/.test(x)), `pin expired after stickySeconds of silence: ${pinSets.join('')}`);
  const again = await uplinksOf(50, '192.168.1.10');
  assert.equal(again.length, 1, 'a new pin: again one uplink for all 50');
  note(`sticky: pinned ${pinned}, moved to ${other}, stayed after recovery, re-pinned to ${again[0]} after expiry`);
});

test('manual control: disable deletes the uplink\'s flows and takes no traffic; drain keeps existing flows but takes no new ones', async () => {
  const doc = baseDoc();
  doc.firewall = { antiSpoof: doc.firewall?.antiSpoof }; // per-connection balancing for this test
  await applied(doc);
  // disable
  let flow = await holdOn(0x100);
  assert.equal(cliRun(L, ['uplink', 'disable', 'isp1']).code, 0);
  await waitFor('isp1 flow reset after disable', () => ended(flow), 20000);
  assert.deepEqual(await uplinksOf(40), [ISP2], 'disabled isp1 carries no new connection');
  assert.equal(cliRun(L, ['uplink', 'enable', 'isp1']).code, 0);
  await waitState(L, 'isp1', 'up', 30000);
  // the state row shows the verdict before the agent's apply: the kernel follows within a bounded wait
  await waitFor('enabled again: isp1 takes connections', async () => (await uplinksOf(40)).includes(ISP1), 10000, 200);
  // drain
  flow = await holdOn(0x100);
  assert.equal(cliRun(L, ['uplink', 'drain', 'isp1']).code, 0);
  await waitState(L, 'isp1', 'draining', 20000);
  assert.deepEqual(await uplinksOf(40), [ISP2], 'draining isp1 takes no new connection');
  const t = Date.now();
  await sleep(3000);
  assert.ok(!ended(flow), 'the existing isp1 flow is still open while draining');
  assert.ok(flow.lines.filter((l) => l.ev === 'ok' && l.t > t).length >= 10, 'and still exchanging data');
  assert.equal(flow.lines.filter((l) => l.ev === 'stall').length, 0);
  assert.equal(cliRun(L, ['uplink', 'enable', 'isp1']).code, 0);
  await waitState(L, 'isp1', 'up', 30000);
  await flow.stop();
});

test('failback "reset": when priority-1 isp1 recovers, flows on backup isp2 are deleted and come back; "keep" leaves them', async () => {
  for (const mode of ['reset', 'keep'] as const) {
    const doc = baseDoc();
    doc.firewall = { antiSpoof: doc.firewall?.antiSpoof };
    doc.policies = [];
    doc.uplinks[0].failback = mode;
    doc.uplinks[1].priority = 2;
    await applied(doc);
    try {
      const tBreak = Date.now();
      await labBreak(L.prefix, 'isp1');
      await waitActed(L, 'isp1', 'down', tBreak);
      const flow = await holdOn(0x200);
      const tUp = Date.now();
      await labRestore(L.prefix, 'isp1');
      await waitActed(L, 'isp1', 'up', tUp);
      assert.deepEqual(await uplinksOf(30), [ISP1], 'new connections back on isp1');
      if (mode === 'reset') await waitFor('backup flow reset', () => ended(flow), 20000);
      else {
        await sleep(3000);
        assert.ok(!ended(flow), 'failback keep: the backup flow lives on');
      }
      note(`failback ${mode}: backup flow ${ended(flow) ? 'reset' : 'kept'}`);
      await flow.stop();
    } finally {
      await labRestore(L.prefix, 'isp1');
    }
  }
  await applied(baseDoc());
});

test('TCP health method: probes connect to port 80 through the uplink; a broken ISP takes it down, restore brings it up', async () => {
  const doc = baseDoc();
  for (const u of doc.uplinks) u.health = { ...(u.health as object), method: 'tcp', port: 80 };
  await applied(doc);
  const t = Date.now();
  await sleep(3000);
  assert.deepEqual(transitions(L, t).map((e) => e.message), [], 'switching to TCP probes moved nothing');
  try {
    const tBreak = Date.now();
    await labBreak(L.prefix, 'isp2');
    const down = await waitState(L, 'isp2', 'down', 30000);
    note(`tcp method: isp2 down ${down.since - tBreak} ms after the break (${down.reason})`);
    assert.equal((await waitState(L, 'isp1', 'up', 1000)).state, 'up', 'isp1 unaffected');
  } finally {
    await labRestore(L.prefix, 'isp2');
  }
  await waitState(L, 'isp2', 'up', 30000);
  await applied(baseDoc());
});
