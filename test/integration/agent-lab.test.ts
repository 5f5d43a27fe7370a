// Issue 4 end to end on the real kernel: `linkward import` + the agent in the lab's router
// namespace, with real traffic between the LAN host, the router and the lab "Internet".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setupLab, type LabEnv } from '../helpers/lab';
import { cli, BIN } from '../helpers/cli';
import { withNetns, realRunner } from '../../agent/system/runner';
import { tcpWhoAmI, tcpWhoAmIMany, udpWhoAmI, labExec } from '../../lab/lab';

let L: LabEnv;
const ISP1 = '100.64.1.2';
const ISP2 = '100.64.2.2';
const ISP3 = '100.64.3.2';
const SERVER = '203.0.113.80';

function importDoc(doc: unknown) {
  const r = cli(['import', '-'], L.env, JSON.stringify(doc));
  assert.equal(r.code, 0, r.stderr);
  return r;
}

function agentOnce() {
  // The real CLI, inside the router namespace, exactly as an admin would run it.
  const r = spawnSyncNs(L.lab.namespaces.router, [process.execPath, BIN, 'agent', '--once']);
  return r;
}

import { spawnSync } from 'node:child_process';
function spawnSyncNs(ns: string, argv: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { env: { ...process.env, ...L.env }, encoding: 'utf8', timeout: 120000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function status() {
  const r = cli(['status', '--json'], L.env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    desiredRevision: number; appliedRevision: number | null; applyError: string | null;
    uplinks: { name: string; state: string; address: string | null }[];
    rules: { name: string; kind: string; packets: number; bytes: number }[];
  };
}

async function kernelSnapshot() {
  const ns = L.lab.namespaces.router;
  const nftJ = (await withNetns(realRunner, ns).run(['nft', '-j', 'list', 'table', 'inet', 'linkward'])).stdout;
  // Counter values and the elements of kernel-owned dynamic sets (port-scan meter, bans, pins)
  // move with traffic and time; everything else — handles included — must be identical.
  const doc = JSON.parse(nftJ) as { nftables: Record<string, Record<string, unknown>>[] };
  for (const o of doc.nftables) {
    if (o.counter) Object.assign(o.counter, { packets: 0, bytes: 0 });
    const set = o.set as { flags?: string[]; elem?: unknown } | undefined;
    if (set?.flags?.includes('timeout')) delete set.elem;
  }
  const nft = JSON.stringify(doc);
  const rules = (await withNetns(realRunner, ns).run(['ip', '-j', 'rule', 'show'])).stdout;
  const routes = (await withNetns(realRunner, ns).run(['ip', '-j', 'route', 'show', 'table', 'all'])).stdout;
  return { nft, rules, routes };
}

function labConfig() {
  return JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8'));
}

before(async () => {
  L = await setupLab('ag', 3);
  // Servers on the router for the inbound service tests (2222 allowed on isp1, 2223 not allowed).
  await labExec(L.prefix, 'router', [process.execPath, '--import', 'tsx', path.join(process.cwd(), 'lab/echo-server.ts'), '--tcp', '2222,2223', '--udp', '123', '--daemon', '--pidfile', path.join(L.dir, 'rtr-echo.pid'), '--log', path.join(L.dir, 'rtr-echo.log')]);
  const doc = labConfig();
  doc.rules.push({ name: 'count-udp-9', chain: 'forward', action: 'accept', protocol: 'udp', port: 9 });
  importDoc(doc);
  const r = agentOnce();
  assert.equal(r.code, 0, `agent --once failed: ${r.stderr}`);
});

after(async () => {
  try {
    const pid = Number(fs.readFileSync(path.join(L.dir, 'rtr-echo.pid'), 'utf8'));
    if (pid > 0) process.kill(pid);
  } catch {
    /* already gone */
  }
  await L?.cleanup();
});

test('LAN reaches the Internet over TCP and UDP, masqueraded to an uplink address', async () => {
  const t = await tcpWhoAmI(L.prefix, 'lan', SERVER, 80);
  assert.ok(t, 'TCP connection from the LAN host succeeds');
  assert.ok([ISP1, ISP2].includes(t.ip), `server saw ${t.ip}, an uplink address`);
  const u = await udpWhoAmI(L.prefix, 'lan', SERVER, 80);
  assert.ok(u, 'UDP answer reaches the LAN host');
  assert.ok([ISP1, ISP2].includes(u.ip), `server saw ${u.ip}`);
});

test('weighted balancing 3:1 per connection; the priority-2 uplink carries nothing', async () => {
  const N = 300;
  const res = await tcpWhoAmIMany(L.prefix, 'lan', SERVER, 80, N, { timeoutMs: 1000 });
  const ok = res.filter((x): x is NonNullable<typeof x> => x !== null);
  assert.equal(ok.length, N, 'every connection succeeded');
  const by = (ip: string) => ok.filter((x) => x.ip === ip).length;
  const share1 = (100 * by(ISP1)) / N;
  assert.ok(Math.abs(share1 - 75) <= 10, `isp1 share ${share1.toFixed(1)} % (weight 3 of 4 → 75 ± 10)`);
  assert.equal(by(ISP3), 0, 'backup tier uplink isp3 carried no connection');
  assert.equal(by(ISP1) + by(ISP2), N);
});

test('a policy sends its source via its uplink', async () => {
  const res = await tcpWhoAmIMany(L.prefix, 'lan', SERVER, 80, 20, { sourceAddress: '192.168.1.50' });
  assert.deepEqual([...new Set(res.map((r) => r?.ip))], [ISP2], 'all 20 connections from 192.168.1.50 left via isp2');
});

test('inbound: a service answers only on its uplink and port; replies leave where requests came in', async () => {
  const ok = await tcpWhoAmI(L.prefix, 'net', ISP1, 2222, { sourceAddress: SERVER, timeoutMs: 1500 });
  assert.ok(ok, 'service ssh (tcp 2222) answers on isp1');
  assert.equal(ok.ip, SERVER, 'router saw the real client address');
  assert.equal(await tcpWhoAmI(L.prefix, 'net', ISP2, 2222, { sourceAddress: SERVER, timeoutMs: 800 }), null, 'not allowed on isp2');
  assert.equal(await tcpWhoAmI(L.prefix, 'net', ISP1, 2223, { sourceAddress: SERVER, timeoutMs: 800 }), null, 'unlisted port 2223 dropped (a server listens there)');
  // Port forward on isp2: the reply must leave by isp2 (the weighted default would pick isp1 75 %
  // of the time, and a reply masqueraded to the wrong address would never complete the handshake).
  for (let i = 0; i < 8; i++) {
    const pf = await tcpWhoAmI(L.prefix, 'net', ISP2, 8080, { sourceAddress: SERVER, timeoutMs: 1500 });
    assert.ok(pf, `port forward via isp2, attempt ${i}`);
    assert.equal(pf.ip, SERVER, 'LAN server saw the Internet client (DNAT, no SNAT)');
  }
  const pf1 = await tcpWhoAmI(L.prefix, 'net', ISP1, 8080, { sourceAddress: SERVER, timeoutMs: 1500 });
  assert.ok(pf1, 'port forward via isp1');
});

test('ICMP allow-list: echo answered, timestamp not; NTP only from listed sources', async () => {
  const ping = await withNetns(realRunner, L.lab.namespaces.net).run(['ping', '-n', '-c', '1', '-W', '1', ISP1], { allowFail: true });
  assert.equal(ping.exitCode, 0, 'echo-request to the router answered');
  // ICMP timestamp request (type 13) via a raw socket; the router must not answer (type 14).
  const py = [
    'import socket,struct,sys,time',
    's=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP); s.settimeout(0.3)',
    'def ck(b):',
    ' b+=b"\\0"*(len(b)%2); t=sum(struct.unpack("!%dH"%(len(b)//2),b)); t=(t>>16)+(t&0xffff); t+=t>>16; return ~t&0xffff',
    'def pkt(tp):',
    ' body=struct.pack("!HHIII",0x4c57,1,0,0,0); h=struct.pack("!BBH",tp,0,0)+body; return struct.pack("!BBH",tp,0,ck(h))+body',
    'got=set(); end=time.time()+1.5',
    'for tp in (8,13): s.sendto(pkt(tp),(sys.argv[1],0))',
    'while time.time()<end:',
    ' try: d,a=s.recvfrom(2048)',
    ' except socket.timeout: continue',
    ' if a[0]==sys.argv[1]: got.add(d[20])',
    'print(",".join(str(x) for x in sorted(got)))',
  ].join('\n');
  const r = await withNetns(realRunner, L.lab.namespaces.net).run(['python3', '-c', py, ISP1], { timeoutMs: 10000 });
  const types = r.stdout.trim().split(',').filter(Boolean).map(Number);
  assert.ok(types.includes(0), `echo-reply received (got types ${types})`);
  assert.ok(!types.includes(14), `no timestamp-reply (got types ${types})`);
  const ntpOk = await udpWhoAmI(L.prefix, 'net', ISP1, 123, { sourceAddress: SERVER, timeoutMs: 1000 });
  assert.ok(ntpOk, 'NTP from the listed source 203.0.113.80 answered');
  assert.equal(await udpWhoAmI(L.prefix, 'net', ISP1, 123, { sourceAddress: '203.0.113.10', timeoutMs: 800 }), null, 'NTP from an unlisted source dropped');
});

test('counters: matching traffic raises exactly that rule; counters survive a changed config', async () => {
  assert.equal(agentOnce().code, 0); // fresh counters in the database before the traffic
  const before = status();
  const get = (s: ReturnType<typeof status>, kind: string, name: string) => s.rules.find((r) => r.kind === kind && r.name === name);
  assert.ok(get(before, 'rule', 'no-telnet'), 'no-telnet counter reported');
  // 5 UDP datagrams to port 9 from the LAN: each is one packet through forward.
  await withNetns(realRunner, L.lab.namespaces.lan).run([process.execPath, '-e', `const s=require('dgram').createSocket('udp4');let n=0;const t=()=>s.send('x',9,'${SERVER}',()=>{if(++n<5)t();else s.close()});t();`]);
  // 3 TCP SYNs to port 23 (dropped, logged): short timeout so the SYN is not retransmitted.
  for (let i = 0; i < 3; i++) await tcpWhoAmI(L.prefix, 'lan', SERVER, 23, { timeoutMs: 400 });
  assert.equal(agentOnce().code, 0);
  const mid = status();
  assert.equal(get(mid, 'rule', 'count-udp-9')!.packets - get(before, 'rule', 'count-udp-9')!.packets, 5, 'count-udp-9 saw exactly the 5 datagrams');
  assert.equal(get(mid, 'rule', 'no-telnet')!.packets - get(before, 'rule', 'no-telnet')!.packets, 3, 'no-telnet saw exactly the 3 SYNs');
  assert.equal(get(mid, 'service', 'ssh')!.packets, get(before, 'service', 'ssh')!.packets, 'unrelated counters unchanged');
  // Change the config (add a rule before them): counters keep their values.
  const doc = JSON.parse(cli(['export'], L.env).stdout);
  doc.rules.unshift({ name: 'new-first', chain: 'forward', action: 'accept', protocol: 'tcp', port: 9999 });
  importDoc(doc);
  assert.equal(agentOnce().code, 0);
  const after = status();
  assert.equal(after.appliedRevision, after.desiredRevision);
  assert.equal(get(after, 'rule', 'no-telnet')!.packets, get(mid, 'rule', 'no-telnet')!.packets, 'no-telnet kept its count across the re-apply');
  assert.equal(get(after, 'rule', 'count-udp-9')!.packets, get(mid, 'rule', 'count-udp-9')!.packets);
  assert.equal(get(after, 'rule', 'new-first')!.packets, 0);
});

test('apply twice (and an agent restart) changes nothing in the kernel', async () => {
  const a = await kernelSnapshot();
  assert.equal(agentOnce().code, 0);
  const b = await kernelSnapshot();
  assert.equal(b.nft, a.nft, 'nft table identical (handles included)');
  assert.equal(b.rules, a.rules, 'ip rules identical');
  assert.equal(b.routes, a.routes, 'routes identical');
  // A fresh agent object (restart) converging the same revision: zero changes too.
  const agent = L.agent();
  const r = await agent.runOnce();
  assert.equal(r.ok, true, r.error);
  assert.equal(r.changed, false, 'restarted agent made no kernel change');
  const c = await kernelSnapshot();
  assert.deepEqual(c, a);
});

test('a foreign table survives 100 applies untouched', async () => {
  const ns = L.lab.namespaces.router;
  await withNetns(realRunner, ns).run(['nft', '-f', '-'], { input: 'table ip dockerish {\n set blocked {\n  type ipv4_addr\n  elements = { 10.9.9.9 }\n }\n chain fwdchain {\n  type filter hook forward priority 10; policy accept;\n  ip saddr @blocked counter drop comment "foreign"\n }\n}\n' });
  const foreign = async () => (await withNetns(realRunner, ns).run(['nft', '-j', 'list', 'table', 'ip', 'dockerish'])).stdout.replace(/"packets":\s*\d+,\s*"bytes":\s*\d+/g, '');
  const before = await foreign();
  const base = JSON.parse(cli(['export'], L.env).stdout);
  const agent = L.agent();
  // Alternate between two configs so every apply really rewrites our table.
  const variants = [base, { ...base, rules: [...base.rules, { name: 'flip', chain: 'input', action: 'drop', protocol: 'udp', port: 4444 }] }];
  const { saveConfig } = await import('../../lib/store/revisions');
  const { disconnect } = await import('../../lib/db/prisma');
  try {
    for (let i = 0; i < 100; i++) {
      const s = await saveConfig(variants[i % 2], { author: 'test', source: 'cli' });
      assert.ok(s.ok);
      const r = await agent.reconcile(`flip ${i}`);
      assert.equal(r.ok, true, r.error);
    }
  } finally {
    await disconnect();
  }
  assert.equal(await foreign(), before, 'foreign table unchanged after 100 applies');
  await withNetns(realRunner, ns).run(['nft', 'delete', 'table', 'ip', 'dockerish']);
});

test('an invalid row written behind the CLI is refused; the kernel keeps the previous state', async () => {
  const before = await kernelSnapshot();
  const good = status().appliedRevision;
  const bad = JSON.parse(cli(['export'], L.env).stdout);
  bad.uplinks[0].gateway = '100.64.1.1; flush ruleset';
  L.db.prepare('INSERT INTO Revision (createdAt, author, source, summary, config) VALUES (?, ?, ?, ?, ?)').run(Date.now(), 'attacker', 'cli', 'sneaky', JSON.stringify(bad));
  const r = agentOnce();
  assert.notEqual(r.code, 0, 'agent --once fails');
  assert.match(r.stderr, /uplinks\[0\]\.gateway: not an IPv4 address/);
  const s = status();
  assert.equal(s.appliedRevision, good, 'applied revision unchanged');
  assert.match(s.applyError ?? '', /is invalid and was not applied/);
  const after = await kernelSnapshot();
  assert.equal(after.nft, before.nft);
  assert.equal(after.routes, before.routes);
  // The LAN still works.
  assert.ok(await tcpWhoAmI(L.prefix, 'lan', SERVER, 80));
});
