// The Connections page's numbers on the real kernel, with the real `linkward agent` process in
// the lab's router namespace: real bytes and a rate per flow and per uplink while someone watches
// (an iperf3 transfer from the LAN host), and the uplink cards' connection count refreshed at once
// after a failover (flows of the dead uplink deleted from conntrack → its count 0 at once), IPv6 flows
// listed as well.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { AgentProc, SERVER, labDoc, importDoc, waitState, waitFor, sleep, setupFailoverLab, uplinkStates, type LabEnv } from '../../bench/lib/failover-lab';
import { labBreak, labRestore, nsName } from '../../lab/lab';
import { withNetns, realRunner } from '../../agent/system/runner';
import { markOf } from '../../lib/compile/constants';
import { connectionsView } from '../../lib/web/connections';
import { latestRevision } from '../../lib/store/revisions';

let L: LabEnv;
let agent: AgentProc | null = null;

const note = (m: string) => process.stdout.write(`# connections: ${m}\n`);
const count = (u: string) => (L.db.prepare('SELECT connections FROM UplinkStatus WHERE name = ?').get(u) as { connections: number } | undefined)?.connections ?? null;

before(async () => {
  L = await setupFailoverLab('cn', 2);
  importDoc(L, labDoc(L));
  agent = new AgentProc(L);
  for (const u of ['isp1', 'isp2']) await waitState(L, u, 'up', 40000);
});

after(async () => {
  await agent?.stop().catch(() => undefined);
  await L?.cleanup();
});

test('an iperf3 transfer shows its bytes and rate on the Connections page, per flow and per uplink', async () => {
  const lan = withNetns(realRunner, nsName(L.prefix, 'lan'));
  // ~5 MB/s for 10 s (bandwidth-limited, so the rate is known): the data connection to 5201
  const iperf = lan.run(['iperf3', '-c', SERVER, '-t', '10', '-b', '40M', '-P', '1', '--connect-timeout', '3000'], { timeoutMs: 30000, allowFail: true });
  try {
    let seen: { bytes: number; rate: number | null; uplink: string | null } | null = null;
    await waitFor('the iperf3 flow with bytes and a rate', async () => {
      const v = await connectionsView({ q: `${SERVER}:5201`, sort: 'bytes', pageSize: 5 }); // the page's query (a watcher)
      const r = v.rows[0];
      if (r && r.bytes > 8_000_000 && r.rate !== null && r.rate > 1_000_000) seen = { bytes: r.bytes, rate: r.rate, uplink: r.uplink };
      return seen;
    }, 15000, 500);
    const s = seen as unknown as { bytes: number; rate: number; uplink: string };
    note(`iperf3 flow: ${s.bytes} bytes, ${Math.round(s.rate)} B/s via ${s.uplink}`);
    assert.ok(s.rate < 20_000_000, `rate ${s.rate} B/s is that of a 40 Mbit/s transfer, not a total`);
    const v = await connectionsView({});
    const up = v.perUplink.find((p) => p.uplink === s.uplink);
    assert.ok(up && up.bytes >= s.bytes && (up.rate ?? 0) > 1_000_000, `per-uplink bytes/rate for ${s.uplink}: ${JSON.stringify(v.perUplink)}`);
    const host = v.topHosts.find((h) => h.host === '192.168.1.10');
    assert.ok(host && host.bytes >= s.bytes, `the LAN host's traffic: ${JSON.stringify(v.topHosts)}`);
  } finally {
    await iperf;
  }
});

test('IPv4 and IPv6 flows loaded with conntrack -R are listed; a failover deletes the dead uplink’s flows in the kernel and on its card at once', async () => {
  // 40 established IPv4 flows pinned to isp1 and 10 IPv6 ones pinned to isp2 (their marks)
  const rtr = withNetns(realRunner, L.lab.namespaces.router);
  const stored = (await latestRevision())?.config.uplinks ?? [];
  const id = (name: string) => stored.find((u) => u.name === name)?.id ?? 0;
  assert.ok(id('isp1') > 0 && id('isp2') > 0);
  const m1 = markOf(id('isp1'));
  const m2 = markOf(id('isp2'));
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(`-I -s 192.168.1.${20 + i} -d 203.0.113.80 -p tcp --sport ${40000 + i} --dport 443 --state ESTABLISHED -u ASSURED -t 600 -m ${m1}`);
  for (let i = 0; i < 10; i++) lines.push(`-I -s fd00:77::${20 + i} -d 2001:db8:80::80 -p tcp --sport ${41000 + i} --dport 443 --state ESTABLISHED -u ASSURED -t 600 -m ${m2}`);
  const file = path.join(L.dir, 'flows.txt');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  await rtr.run(['conntrack', '-R', file], { timeoutMs: 10000 });
  await waitFor('isp1 carrying the 40 flows and isp2 the 10 IPv6 ones on their cards', () => (count('isp1') ?? 0) >= 40 && (count('isp2') ?? 0) >= 10, 30000, 200);
  // the cards' counts are written before the rows they count (one flush): the rows follow
  let v6 = await connectionsView({ family: 6, q: 'fd00:77::' });
  await waitFor('the 10 IPv6 flows listed', async () => (v6 = await connectionsView({ family: 6, q: 'fd00:77::' })).total === 10, 5000, 100).catch(() => undefined);
  assert.equal(v6.total, 10, `the IPv6 flows listed: ${JSON.stringify(v6.rows.slice(0, 2))}`);
  assert.ok(v6.rows.every((r) => r.uplink === 'isp2' && r.family === 6));
  // the loaded flows (TCP to 443) only: the health probes of the dead uplink go on making new ICMP flows with its mark
  const kernelOn = async (mark: number) => (await rtr.run(['conntrack', '-L', '-m', `${mark}/0xff00`, '-p', 'tcp', '--dport', '443'], { timeoutMs: 10000, allowFail: true })).stdout.split('\n').filter((l) => l.includes('src=')).length;
  assert.ok((await kernelOn(m1)) >= 40);
  await sleep(3000); // a quiet table for a while: nothing waits for a backoff to expire
  const t = Date.now();
  await labBreak(L.prefix, 'isp1');
  try {
    let kernelZeroAt: number | null = null;
    let cardZeroAt: number | null = null;
    await waitFor('isp1 down, its flows gone in the kernel and on its card', async () => {
      if (cardZeroAt === null && count('isp1') === 0) cardZeroAt = Date.now();
      if (kernelZeroAt === null && (await kernelOn(m1)) === 0) kernelZeroAt = Date.now();
      return kernelZeroAt !== null && cardZeroAt !== null;
    }, 30000, 50).catch(async (e: Error) => {
      const ev = L.db.prepare('SELECT ts, message FROM Event ORDER BY id DESC LIMIT 8').all();
      throw new Error(`${e.message}: isp1 ${JSON.stringify(uplinkStates(L).isp1)}, card ${count('isp1')}, kernel ${await kernelOn(m1)}; events ${JSON.stringify(ev)}; agent: ${agent?.tail(10)}`);
    });
    const down = await waitState(L, 'isp1', 'down', 5000);
    const k = (kernelZeroAt as unknown as number) - down.since;
    const c = (cardZeroAt as unknown as number) - down.since;
    note(`break → down ${down.since - t} ms; down → isp1 flows gone in the kernel ${k} ms, on its card ${c} ms`);
    assert.ok(k <= 1000, `isp1's flows still in the kernel ${k} ms after detection`);
    assert.ok(c <= 1000, `isp1's card still showed connections ${c} ms after detection`);
    assert.ok((count('isp2') ?? 0) >= 10, 'isp2 keeps its flows');
    assert.equal((await connectionsView({ family: 6, q: 'fd00:77::' })).total, 10, 'the IPv6 flows of isp2 stay listed');
  } finally {
    await labRestore(L.prefix, 'isp1');
  }
});
