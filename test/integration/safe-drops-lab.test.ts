// Issue 8 on the real kernel: dropped traffic reaches the agent's drop log (kernel drop-record
// sets → DropLog), the summary counts it; a port scan from the lab Internet bans its source
// (listed with remaining time), the ban expires after banSeconds, and an unban request removes
// it at once. The agent runs in-process against the router namespace (same code as the daemon).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setupLab, type LabEnv } from '../helpers/lab';
import { labExec, tcpWhoAmI } from '../../lab/lab';
import { saveConfig } from '../../lib/store/revisions';
import { dropSummary, listBans, requestUnban } from '../../lib/store/drops';
import { disconnect } from '../../lib/db/prisma';
import type { Agent } from '../../agent/agent';
import { waitUntil } from '../helpers/wait';

let L: LabEnv;
let agent: Agent;
const ISP1 = '100.64.1.2';
const SRC_DROP = '203.0.113.10';
const SRC_SCAN = '203.0.113.66'; // a host of the lab Internet (not a probe target: those are never banned)

const waitFor = <T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, stepMs = 250) => waitUntil(what, fn, timeoutMs, stepMs);

/** SYNs from `source` (in the lab Internet) to `count` ports of the router's isp1 address. */
async function scan(source: string, fromPort: number, count: number): Promise<void> {
  const script = `const net=require('node:net');let n=0;const total=${count};
for(let p=${fromPort};p<${fromPort + count};p++){const s=net.connect({host:'${ISP1}',port:p,localAddress:'${source}'});
s.setTimeout(300,()=>s.destroy());s.on('error',()=>{});s.on('close',()=>{if(++n===total)process.exit(0)});}
setTimeout(()=>process.exit(0),3000);`;
  await labExec(L.prefix, 'net', [process.execPath, '-e', script], { timeoutMs: 10000 });
}

const nftBanned = async () => (await L.runner.run(['nft', '-j', 'list', 'set', 'inet', 'linkward', 'lw_banned'])).stdout;

before(async () => {
  L = await setupLab('sd', 1);
  await labExec(L.prefix, 'net', ['ip', 'addr', 'add', `${SRC_SCAN}/32`, 'dev', L.lab.targetsDevice]);
  const doc = JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8'));
  doc.firewall = { ...doc.firewall, portScan: { enabled: true, ports: 5, seconds: 10, banSeconds: 5 } };
  const r = await saveConfig(doc, { author: 'test', source: 'cli' });
  assert.ok(r.ok, JSON.stringify(r));
  // The Drops page is open (lib/web/watch): counters, and with them the drop-set gates, every 2 s.
  L.db.prepare("INSERT INTO Watch (name, until) VALUES ('counters', ?) ON CONFLICT(name) DO UPDATE SET until = excluded.until").run(Date.now() + 3600_000);
  agent = L.agent({ dropMs: 500, packetLog: false }); // the fallback path: kernel drop-record sets (NFLOG: packetlog-lab.test.ts)
  await agent.start();
  assert.equal(L.db.prepare('SELECT appliedRevision FROM AgentState WHERE id = 1').pluck().get(), r.ok ? r.revision : -1);
});

after(async () => {
  await agent?.stop();
  await disconnect();
  await L?.cleanup();
});

test('dropped connections appear in the drop log with uplink and port; the summary counts them', async () => {
  for (const port of [2300, 2301, 2302]) {
    assert.equal(await tcpWhoAmI(L.prefix, 'net', ISP1, port, { sourceAddress: SRC_DROP, timeoutMs: 600 }), null, `port ${port} is closed (dropped)`);
  }
  const rows = await waitFor('3 drop records', () => {
    const r = L.db.prepare("SELECT * FROM DropLog WHERE src = ? AND chain = 'input' ORDER BY dport").all(SRC_DROP) as { dport: number; dst: string; proto: string; uplink: string; inIf: string; count: number; ts: number }[];
    return r.length >= 3 ? r : null;
  }, 10000);
  assert.deepEqual(rows.map((r) => [r.dport, r.dst, r.proto, r.uplink, r.inIf]), [
    [2300, ISP1, 'tcp', 'isp1', 'wan1'], [2301, ISP1, 'tcp', 'isp1', 'wan1'], [2302, ISP1, 'tcp', 'isp1', 'wan1'],
  ]);
  assert.ok(rows.every((r) => r.count >= 1 && Math.abs(Date.now() - r.ts) < 15000));
  const s = await dropSummary();
  const mine = s.topSources.find((x) => x.src === SRC_DROP);
  assert.ok(mine && mine.count >= 3, `summary counts ${SRC_DROP}: ${JSON.stringify(s.topSources)}`);
  assert.ok(s.topPorts.some((p) => p.proto === 'tcp' && p.dport === 2301));
  assert.ok((s.perUplink.find((u) => u.uplink === 'isp1')?.count ?? 0) >= 3);
  assert.ok(s.perHour.reduce((n, h) => n + h.count, 0) === s.total);
  // A later drop of the same tuple adds a record with the increase only.
  const before = (L.db.prepare('SELECT COALESCE(SUM(count),0) FROM DropLog WHERE src = ? AND dport = 2300').pluck().get(SRC_DROP) as number);
  await tcpWhoAmI(L.prefix, 'net', ISP1, 2300, { sourceAddress: SRC_DROP, timeoutMs: 600 });
  await waitFor('increase recorded', () => (L.db.prepare('SELECT COALESCE(SUM(count),0) FROM DropLog WHERE src = ? AND dport = 2300').pluck().get(SRC_DROP) as number) > before, 5000);
});

test('a port scan bans its source (listed with remaining time); the ban expires after banSeconds', async () => {
  const t0 = Date.now();
  await scan(SRC_SCAN, 4000, 40);
  const ban = await waitFor('ban listed', async () => (await listBans()).find((b) => b.address === SRC_SCAN), 8000);
  assert.ok(ban.remainingS <= 5, `remaining ${ban.remainingS}s ≤ banSeconds 5`);
  assert.match(await nftBanned(), new RegExp(SRC_SCAN.replace(/\./g, '\\.')));
  // While banned, even a connection to an open service is dropped (the scanner stays out).
  await waitFor('ban gone after the timeout', async () => !(await listBans()).some((b) => b.address === SRC_SCAN), 12000);
  const secs = (Date.now() - t0) / 1000;
  process.stdout.write(`# ban of ${SRC_SCAN} listed and expired after ${secs.toFixed(1)} s (banSeconds 5)\n`);
  assert.ok(secs >= 4, 'not expired before banSeconds');
  assert.doesNotMatch(await nftBanned(), new RegExp(SRC_SCAN.replace(/\./g, '\\.')));
});

test('unban request removes the ban at once (agent validates and runs nft delete element)', async () => {
  // A longer ban this time, so only the unban can end it within the test.
  const lab = JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8'));
  const r = await saveConfig({ ...lab, firewall: { ...lab.firewall, portScan: { enabled: true, ports: 5, seconds: 10, banSeconds: 600 } } }, { author: 'test', source: 'cli' });
  assert.ok(r.ok);
  await waitFor('revision applied', () => L.db.prepare('SELECT appliedRevision FROM AgentState WHERE id = 1').pluck().get() === (r.ok ? r.revision : -1), 10000);
  await scan(SRC_SCAN, 5000, 40);
  const ban = await waitFor('ban listed', async () => (await listBans()).find((b) => b.address === SRC_SCAN), 8000);
  assert.ok(ban.remainingS > 500);
  const bad = await requestUnban('1.2.3.4; flush ruleset', 'tester');
  assert.equal(bad.ok, false, 'invalid address refused before it is stored');
  // Even a forged request row is validated by the agent.
  L.db.prepare("INSERT INTO AgentRequest (createdAt, type, args) VALUES (?, 'unban', ?)").run(Date.now(), JSON.stringify({ address: '1.2.3.4 } ; flush ruleset' }));
  const u = await requestUnban(SRC_SCAN, 'tester');
  assert.ok(u.ok);
  const res = await waitFor('unban done', () => L.db.prepare('SELECT result FROM AgentRequest WHERE id = ? AND doneAt IS NOT NULL').pluck().get(u.ok ? u.request : -1) as string | undefined, 5000);
  assert.equal(res, `unbanned ${SRC_SCAN}`);
  assert.doesNotMatch(await nftBanned(), new RegExp(SRC_SCAN.replace(/\./g, '\\.')));
  await waitFor('ban row gone', async () => !(await listBans()).some((b) => b.address === SRC_SCAN), 3000);
  const forged = L.db.prepare("SELECT result FROM AgentRequest WHERE args LIKE '%flush%'").pluck().get() as string;
  assert.match(forged, /^error: address must be an IPv4 address/);
  assert.ok((await L.runner.run(['nft', 'list', 'table', 'inet', 'linkward'])).stdout.includes('chain input'), 'table still there');
  assert.equal(L.db.prepare("SELECT COUNT(*) FROM AuditLog WHERE action = 'ban.unban'").pluck().get(), 1);
});

test('IPv6: dropped packets reach the drop log; a port scan bans the /64 (listed as <net>/64) and an unban of the /64 ends it', async () => {
  // A global IPv6 link between isp1 and the router's wan1 (not a bogon; the IPv4 lab document has
  // no IPv6 block, so nothing of it is trusted or never-banned).
  const R6 = '2a00:77::2';
  const S6 = '2a00:77::1';
  await L.runner.run(['ip', '-6', 'addr', 'replace', `${R6}/64`, 'dev', 'wan1', 'nodad']);
  await labExec(L.prefix, 'isp1', ['ip', '-6', 'addr', 'replace', `${S6}/64`, 'dev', 'down0', 'nodad']);
  const syn6 = (from: number, count: number) => labExec(L.prefix, 'isp1', [process.execPath, '-e', `const net=require('node:net');let n=0;
for(let p=${from};p<${from + count};p++){const s=net.connect({host:'${R6}',port:p,localAddress:'${S6}'});s.setTimeout(300,()=>s.destroy());s.on('error',()=>{});s.on('close',()=>{if(++n===${count})process.exit(0)});}
setTimeout(()=>process.exit(0),3000);`], { timeoutMs: 10000 });
  await syn6(2300, 1);
  const drop = await waitFor('IPv6 drop record', () => L.db.prepare('SELECT chain, inIf, uplink, src, dst, proto, dport FROM DropLog WHERE src = ? AND dport = 2300').get(S6) as Record<string, unknown> | undefined, 8000);
  assert.deepEqual(drop, { chain: 'input', inIf: 'wan1', uplink: 'isp1', src: S6, dst: R6, proto: 'tcp', dport: 2300 });
  await syn6(6000, 40);
  const ban = await waitFor('IPv6 /64 banned', async () => (await listBans()).find((b) => b.address === '2a00:77::/64'), 8000);
  assert.ok(ban.remainingS > 500, `remaining ${ban.remainingS}`);
  assert.ok(ban.ports.length >= 5 && ban.uplink === 'isp1', JSON.stringify(ban));
  for (const [bad, msg] of [['2a00:77::/48', /per \/64/], ['2a00:77::/64; flush ruleset', /IPv4 address or an IPv6 \/64/]] as const) {
    const r = await requestUnban(bad, 'tester');
    assert.ok(!r.ok && msg.test(r.error), JSON.stringify(r));
  }
  const u = await requestUnban('2a00:77::abcd:1', 'tester'); // any address of the /64 names it
  assert.ok(u.ok && u.address === '2a00:77::/64', JSON.stringify(u));
  const res = await waitFor('unban done', () => L.db.prepare('SELECT result FROM AgentRequest WHERE id = ? AND doneAt IS NOT NULL').pluck().get(u.ok ? u.request : -1) as string | undefined, 5000);
  assert.equal(res, 'unbanned 2a00:77::/64');
  assert.doesNotMatch((await L.runner.run(['nft', '-j', 'list', 'set', 'inet', 'linkward', 'lw_banned6'])).stdout, /2a00:77::/);
  assert.ok(!(await listBans()).some((b) => b.address === '2a00:77::/64'), 'ban row gone with the request');
});
