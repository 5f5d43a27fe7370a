// Issue 5 on the real kernel: the real `linkward agent` process in the lab's router namespace,
// ISPs broken the way modems fail (traffic dropped in the ISP namespace, link up), traffic from
// the LAN host and the router. Times are measured and printed, never asserted; waits are bounded
// generously.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentProc, ProbeProc, SERVER, ISP_ADDR, HOLD_PORT, labDoc, importDoc, waitState, waitFor, transitions, events,
  uplinkStates, startConnector, startServer, startHold, settledAfter, firstVia, sleep, setupFailoverLab,
  type LabEnv, type ConnSample,
} from '../../bench/lib/failover-lab';
import { labBreak, labRestore, labTargetFilter, labTargetUnfilter, tcpWhoAmI, tcpWhoAmIMany } from '../../agent/system/lab';
import { run } from '../../agent/system/runner';

let L: LabEnv;
let agent: AgentProc | null = null;
const procs: ProbeProc<unknown>[] = [];
const ISP1 = ISP_ADDR(1);
const ISP2 = ISP_ADDR(2);
const ISP3 = ISP_ADDR(3);

function note(msg: string): void {
  process.stdout.write(`# failover: ${msg}\n`);
}

async function allUp(): Promise<void> {
  for (const u of ['isp1', 'isp2', 'isp3']) await waitState(L, u, 'up', 40000);
}

before(async () => {
  L = await setupFailoverLab('fo', 3);
  const doc = labDoc(L);
  // A long-lived inbound flow on isp2 needs a port forward to a LAN server.
  doc.portForwards.push({ name: 'hold', uplinks: ['isp2'], protocol: 'tcp', port: HOLD_PORT, to: '192.168.1.10' });
  importDoc(L, doc);
  procs.push(await startServer(L, 'net', SERVER));
  procs.push(await startServer(L, 'lan', '192.168.1.10'));
  agent = new AgentProc(L);
  await allUp();
});

after(async () => {
  for (const p of procs) await p.stop().catch(() => undefined);
  await agent?.stop().catch(() => undefined);
  await L?.cleanup();
});

test('break isp1: every new LAN connection goes via isp2; restore: isp1 carries traffic again', async () => {
  const conn = startConnector(L, 'lan', { everyMs: 50, timeoutMs: 1000 });
  procs.push(conn as ProbeProc<unknown>);
  try {
    await sleep(1500);
    assert.ok(conn.lines.some((s) => s.ip === ISP1) && conn.lines.some((s) => s.ip === ISP2), 'both isp1 and isp2 in use before the break');
    const tBreak = Date.now();
    await labBreak(L.prefix, 'isp1');
    await waitState(L, 'isp1', 'down', 30000);
    await sleep(2000);
    const tEnd = Date.now();
    const failover = settledAfter(conn.lines, tBreak, tEnd - 1100, new Set([ISP2]));
    assert.ok(failover !== null, 'after the break every new connection succeeds via isp2');
    const after = conn.lines.filter((s) => s.t >= tBreak + failover && s.t <= tEnd - 1100);
    assert.ok(after.length > 10);
    assert.ok(after.every((s) => s.ip === ISP2), 'no new connection via isp1 or isp3 once settled');
    const tRestore = Date.now();
    await labRestore(L.prefix, 'isp1');
    await waitState(L, 'isp1', 'up', 30000);
    await waitFor('a new connection via isp1', () => firstVia(conn.lines, tRestore, new Set([ISP1])) !== null, 15000);
    const failback = firstVia(conn.lines, tRestore, new Set([ISP1]))!;
    const lost = conn.lines.filter((s) => s.t >= tBreak && s.t < tBreak + failover && !s.ip).length;
    note(`break -> all new flows on survivor ${failover} ms (${lost} attempts failed meanwhile); restore -> first new flow on isp1 ${failback} ms`);
    const tr = transitions(L, tBreak).map((e) => e.message);
    assert.ok(tr.some((m) => /isp1: up → down/.test(m)) && tr.some((m) => /isp1: down → up/.test(m)), `transitions: ${tr.join(' | ')}`);
    assert.ok(!tr.some((m) => /isp2|isp3/.test(m)), 'no other uplink moved');
  } finally {
    await conn.stop();
  }
});
