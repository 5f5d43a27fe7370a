// Issue 12 on the real kernel: the attacks that worked against the first wave, and variations,
// from the lab's Internet. The agent runs in-process against the router namespace with health
// probing on (3 ICMP targets per uplink). Nothing here is tuned to one attack: the same default
// config (portScan 20 distinct ports / 10 s) meets every scenario.
//  1. scans sourced from the probe targets (TCP and UDP): nobody banned, uplinks stay up;
//  2. forged LAN sources and a forged router address arriving on an uplink: dropped by
//     anti-spoofing before anything else, the LAN host keeps the Internet and the dashboard;
//  3. the genuine gateway scanning: never banned;
//  4. a genuine scanner (distinct ports) is banned, with the ports and the uplink recorded as an
//     event; a host retrying one closed port 50 times is not banned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setupLab, type LabEnv } from '../helpers/lab';
import { labExec, tcpWhoAmI } from '../../lab/lab';
import { PROBE_TARGETS, SERVER_ADDR, LAN_HOST_ADDR, LAN_ROUTER_ADDR } from '../../lab/plan';
import { saveConfig } from '../../lib/store/revisions';
import { listBans, listBanEvents } from '../../lib/store/drops';
import { disconnect } from '../../lib/db/prisma';
import type { Agent } from '../../agent/agent';
import { waitUntil } from '../helpers/wait';
import { realRunner, withNetns } from '../../agent/system/runner';
import { ROOT } from '../helpers/cli';
import fs from 'node:fs';

let L: LabEnv;
let agent: Agent;
const ISP1 = '100.64.1.2';
const ISP2 = '100.64.2.2';
const GW1 = '100.64.1.1';
const SCANNER = '203.0.113.66';
const RETRIER = '203.0.113.67';
const DASHBOARD_PORT = 3000;

/** Connection attempts from `source` in namespace `role` to `count` closed ports (or one port
 *  `count` times) of `dst`; proto tcp or udp. Bounded: the script exits after 4 s at most. */
async function probe(ns: string, source: string, dst: string, opts: { proto?: 'tcp' | 'udp'; from: number; count: number; samePort?: boolean }): Promise<void> {
  const proto = opts.proto ?? 'tcp';
  const script = proto === 'tcp'
    ? `const net=require('node:net');let n=0;const total=${opts.count};
for(let i=0;i<total;i++){const p=${opts.samePort ? opts.from : `${opts.from}+i`};setTimeout(()=>{const s=net.connect({host:'${dst}',port:p,localAddress:'${source}'});
s.setTimeout(300,()=>s.destroy());s.on('error',()=>{});s.on('close',()=>{if(++n===total)process.exit(0)});},${opts.samePort ? 'i*40' : '0'});}
setTimeout(()=>process.exit(0),4000);`
    : `const d=require('node:dgram');const s=d.createSocket('udp4');s.bind({address:'${source}'},()=>{let i=0;
const t=setInterval(()=>{s.send('x',${opts.samePort ? opts.from : `${opts.from}+i`},'${dst}');if(++i>=${opts.count}){clearInterval(t);setTimeout(()=>process.exit(0),200);}},5);});
setTimeout(()=>process.exit(0),4000);`;
  await withNetns(realRunner, ns).run([process.execPath, '-e', script], { timeoutMs: 10000 });
}
const NET = () => L.lab.namespaces.net;
const ATK = () => `${L.prefix}-atk`;

const counter = (name: string) => {
  const row = L.db.prepare('SELECT packets FROM Counter WHERE name = ?').get(name) as { packets: number | bigint } | undefined;
  return Number(row?.packets ?? 0);
};
const uplinkStates = () => Object.fromEntries((L.db.prepare('SELECT name, state FROM UplinkStatus').all() as { name: string; state: string }[]).map((r) => [r.name, r.state]));
const downEvents = (since: number) => L.db.prepare("SELECT message FROM Event WHERE type = 'uplink' AND ts >= ? AND message LIKE '%→ down%'").pluck().all(since) as string[];
const banned = async () => (await listBans()).map((b) => b.address);

before(async () => {
  L = await setupLab('ho', 2);
  // hostile hosts of the lab Internet
  for (const a of [SCANNER, RETRIER]) await labExec(L.prefix, 'net', ['ip', 'addr', 'add', `${a}/32`, 'dev', L.lab.targetsDevice]);
  // a spoofer behind isp1 (an ISP without source-address validation): its own namespace, linked
  // to isp1, holding the forged addresses (the LAN host's, the router's) so its kernel sends from them
  const atk = withNetns(realRunner, ATK());
  const isp1 = withNetns(realRunner, L.lab.namespaces.isps[0]);
  await realRunner.run(['ip', 'netns', 'add', ATK()]);
  await realRunner.run(['ip', '-n', ATK(), 'link', 'add', 'atk0', 'type', 'veth', 'peer', 'name', 'atk0p', 'netns', L.lab.namespaces.isps[0]]);
  for (const c of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', '10.99.0.2/30', 'dev', 'atk0'], ['ip', 'link', 'set', 'atk0', 'up'], ['ip', 'route', 'add', 'default', 'via', '10.99.0.1']]) await atk.run(c);
  for (const a of [LAN_HOST_ADDR, ISP2]) await atk.run(['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  for (const c of [['ip', 'addr', 'add', '10.99.0.1/30', 'dev', 'atk0p'], ['ip', 'link', 'set', 'atk0p', 'up'], ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=0'], ['sysctl', '-q', '-w', 'net.ipv4.conf.atk0p.rp_filter=0']]) await isp1.run(c);
  // a "dashboard" on the router's LAN side (to prove the LAN host keeps reaching the router), and
  // the lab's ssh service port (2222, open on isp1) on the uplink address
  await labExec(L.prefix, 'router', [process.execPath, '--import', 'tsx', path.join(ROOT, 'lab/echo-server.ts'), '--tcp', `${DASHBOARD_PORT},2222`, '--udp', '3001', '--bind', `${LAN_ROUTER_ADDR},${ISP1}`, '--daemon', '--pidfile', path.join(L.dir, 'dash.pid'), '--log', path.join(L.dir, 'dash.log')]);
  const doc = JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8'));
  const r = await saveConfig(doc, { author: 'test', source: 'cli' });
  assert.ok(r.ok, JSON.stringify(r));
  agent = L.agent({ health: true, watchLinks: true, dropMs: 500 });
  await agent.start();
  await waitUntil('both uplinks up', () => { const s = uplinkStates(); return s.isp1 === 'up' && s.isp2 === 'up'; }, 20000, 200);
});

after(async () => {
  await agent?.stop();
  const pid = Number(fs.readFileSync(path.join(L.dir, 'dash.pid'), 'utf8').trim());
  if (pid > 1) try { process.kill(pid); } catch { /* gone */ }
  await disconnect();
  if (L) await realRunner.run(['ip', 'netns', 'del', ATK()], { allowFail: true });
  await L?.cleanup();
});

test('scans sourced from the probe targets (TCP and UDP) ban nobody; every uplink stays up', async () => {
  const t0 = Date.now();
  for (const [i, target] of PROBE_TARGETS.entries()) {
    await probe(NET(), target, ISP1, { from: 4000 + i * 100, count: 40 });
    await probe(NET(), target, ISP1, { proto: 'udp', from: 5000 + i * 100, count: 40 });
  }
  // the old attack took every uplink down within the failover time (~2.5 s); give it twice that
  await new Promise((r) => setTimeout(r, 5000));
  assert.deepEqual(await banned(), [], 'a probe target was banned');
  assert.deepEqual(uplinkStates(), { isp1: 'up', isp2: 'up' });
  assert.deepEqual(downEvents(t0), []);
  assert.ok(await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR, 80, { timeoutMs: 2000 }), 'the LAN still reaches the Internet');
});

test('forged LAN and router sources on an uplink are dropped before anything else; the LAN host keeps the Internet and the dashboard', async () => {
  const spoofed0 = counter('lw_b_spoofed');
  await probe(ATK(), LAN_HOST_ADDR, ISP1, { from: 6000, count: 60 });
  await probe(ATK(), LAN_HOST_ADDR, ISP1, { proto: 'udp', from: 6100, count: 60 });
  await probe(ATK(), ISP2, ISP1, { from: 6200, count: 30 }); // the router's own (isp2) address, forged, arriving on isp1
  await waitUntil('spoofed packets counted', () => counter('lw_b_spoofed') >= spoofed0 + 150, 15000, 250); // counters: every 10 s when no dashboard watches
  assert.deepEqual(await banned(), []);
  const seen = await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR, 80, { timeoutMs: 2000 });
  assert.ok(seen, 'the LAN host reaches the Internet');
  assert.ok(await tcpWhoAmI(L.prefix, 'lan', LAN_ROUTER_ADDR, DASHBOARD_PORT, { timeoutMs: 2000 }), 'the LAN host reaches the router (dashboard port)');
  process.stdout.write(`# anti-spoofing dropped ${counter('lw_b_spoofed') - spoofed0} forged packets\n`);
});

test('the genuine gateway scanning is never banned', async () => {
  await probe(L.lab.namespaces.isps[0], GW1, ISP1, { from: 7000, count: 40 });
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(await banned(), []);
});

test('a scanner probing distinct ports is banned (event with ports and uplink); a host retrying one port is not', async () => {
  await probe(NET(), RETRIER, ISP1, { from: 8080, count: 50, samePort: true });
  await probe(NET(), SCANNER, ISP1, { from: 9000, count: 40 });
  const ban = await waitUntil('scanner banned', async () => (await listBans()).find((b) => b.address === SCANNER), 8000, 250);
  assert.equal(ban.uplink, 'isp1');
  assert.ok(ban.ports.length >= 21 && ban.ports.every((p) => p >= 9000 && p < 9040), `ports ${JSON.stringify(ban.ports)}`);
  const ev = (await listBanEvents()).find((e) => e.message.includes(SCANNER));
  assert.ok(ev, 'ban event');
  assert.match(ev.message, /probed \d+ closed ports \(9000, 9001/);
  assert.match(ev.message, /on isp1; banned for \d+ s/);
  assert.ok(!(await banned()).includes(RETRIER), 'one port retried 50 times is not a scan');
  // the ban stops new connections from the scanner...
  assert.equal(await tcpWhoAmI(L.prefix, 'net', ISP1, 2222, { sourceAddress: SCANNER, timeoutMs: 800 }), null, 'banned source gets no new connection');
  // ...while the retrier still reaches the open service
  const r = await tcpWhoAmI(L.prefix, 'net', ISP1, 2222, { sourceAddress: RETRIER, timeoutMs: 2000 });
  assert.equal(r?.ip, RETRIER);
  assert.deepEqual(uplinkStates(), { isp1: 'up', isp2: 'up' });
});
