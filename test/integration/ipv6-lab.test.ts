// Issue 14: IPv6 end to end with the agent running (health probes of both families, link watch,
// radvd supervised by the agent), in one 'slaac' lab: the LAN host configures itself from the
// router advertisements linkward sends. First NPTv6 (one stable ULA prefix on the LAN,
// translated to each uplink's delegated prefix), then the same lab switched to native prefixes
// (each uplink's /64 advertised; a dead uplink's prefix deprecated on the LAN host). The ISPs
// filter sources (BCP 38): an un-translated or wrong-uplink source would fail visibly.
// Real kernel, real radvd, real SQLite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setupLab, type LabEnv } from '../helpers/lab';
import { labBreak, labDhcp6, labExec, labRestore, labTargetFilter, labTargetUnfilter, labWaitAddrs6, tcpWhoAmI, tcpWhoAmIMany } from '../../lab/lab';
import { labConfig, SERVER_ADDR, SERVER_ADDR6, type Addr6 } from '../../lab/plan';
import { saveConfig } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import type { Agent } from '../../agent/agent';
import { waitUntil } from '../helpers/wait';
import { parseCidr6, parseIPv6, cidr6Contains } from '../../lib/validations/net';
import { realRunner, withNetns } from '../../agent/system/runner';

let L: LabEnv;
let agent: Agent;
const in6 = (net: string, a: string | undefined) => a !== undefined && parseIPv6(a) !== null && cidr6Contains(parseCidr6(net)!, parseIPv6(a)!);
const ISP1_NET6 = '2001:db8:100::/64';
const ISP2_NET6 = '2001:db8:200::/64';
const ULA_NET6 = 'fd00:1::/64';

type Row = { name: string; state: string; ipv6: string | null };
const rows = () => L.db.prepare('SELECT name, state, ipv6 FROM UplinkStatus').all() as Row[];
/** uplink → [IPv4 state, IPv6 state] as the agent writes them for the dashboard. */
const states = () => Object.fromEntries(rows().map((r) => [r.name, [r.state, r.ipv6 ? (JSON.parse(r.ipv6) as { state: string }).state : null]]));
const bothUp = () => {
  const s = states();
  return s.isp1?.[0] === 'up' && s.isp1?.[1] === 'up' && s.isp2?.[0] === 'up' && s.isp2?.[1] === 'up';
};
/** The agent acted on the transitions of these labels ("isp1", "isp1 (IPv6)") to `to` since a time:
 *  their events are written after the kernel change (the state row shows the verdict before it). */
const acted = (labels: string[], to: string, since: number) => {
  const msgs = L.db.prepare("SELECT message FROM Event WHERE type = 'uplink' AND ts >= ?").pluck().all(since) as string[];
  return labels.every((l) => msgs.some((m) => m.startsWith(`uplink ${l}: `) && m.includes(` → ${to} `)));
};
const globalIn = (addrs: Addr6[], net: string, preferred = true) => addrs.find((a) => a.global && in6(net, a.address) && !a.tentative && (!preferred || !a.deprecated));
const ping6 = async (role: string, dst: string) => (await labExec(L.prefix, role, ['ping', '-6', '-n', '-c', '1', '-W', '1', dst], { allowFail: true })).exitCode === 0;

async function save(doc: unknown): Promise<void> {
  const r = await saveConfig(doc, { author: 'test', source: 'cli' });
  assert.ok(r.ok, JSON.stringify(r));
}

/** The lab's document in a variant, with changes; saved, and applied by the running agent. */
async function apply(variant: 'nptv6' | 'native', change: (d: ReturnType<typeof labConfig>) => void = () => undefined): Promise<void> {
  const doc = labConfig(2, { ipv6: variant });
  change(doc);
  const before = (L.db.prepare("SELECT MAX(id) FROM Revision").pluck().get() as number | null) ?? 0;
  await save(doc);
  await waitUntil('the agent applied the new revision', () => {
    const st = L.db.prepare("SELECT appliedRevision FROM AgentState WHERE id = 1").pluck().get() as number | null;
    return (st ?? 0) > before;
  }, 15000, 100);
}

before(async () => {
  L = await setupLab('v6', 2, { ipv6: 'slaac', ipv6Config: 'nptv6' });
  await save(JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8')));
  agent = L.agent({ health: true, watchLinks: true, log: (m: string) => { logs.push(m); if (logs.length > 400) logs.shift(); } });
  await agent.start();
  await waitUntil('both uplinks up in both families', bothUp, 30000, 200, () => `${JSON.stringify(states())}\n${logs.slice(-30).join('\n')}`);
});

after(async () => {
  await agent?.stop();
  await disconnect();
  await L?.cleanup();
});

let host6 = '';
const logs: string[] = [];

test('NPTv6: the LAN host autoconfigures in fd00:1::/64 from the RAs of the agent-supervised radvd', async () => {
  const addrs = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ULA_NET6) !== undefined, { timeoutMs: 15000, intervalMs: 200 });
  assert.ok(addrs, 'a SLAAC address in fd00:1::/64');
  const a = globalIn(addrs, ULA_NET6)!;
  assert.equal(a.dynamic, true, 'autoconfigured (SLAAC), not static');
  host6 = a.address;
  const route = (await labExec(L.prefix, 'lan', ['ip', '-6', 'route', 'show', 'default'])).stdout;
  assert.match(route, /default via fe80::[0-9a-f:]+ dev eth0 proto ra/, `default route from the RA: ${route}`);
});

test('NPTv6: the LAN reaches the IPv6 Internet translated to an uplink prefix; 300 connections split 3:1', async () => {
  const seen = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 300, { timeoutMs: 2000 });
  const ok = seen.filter((s) => s !== null);
  assert.equal(ok.length, 300, 'every connection answered');
  const via1 = ok.filter((s) => in6(ISP1_NET6, s!.ip)).length;
  const via2 = ok.filter((s) => in6(ISP2_NET6, s!.ip)).length;
  assert.equal(via1 + via2, 300, `every source translated to an uplink prefix: ${[...new Set(ok.map((s) => s!.ip))].slice(0, 4)}`);
  // the host bits survive the translation (prefix translation, not masquerade)
  const tail = (a: string) => parseIPv6(a)! & ((1n << 64n) - 1n);
  assert.ok(ok.every((s) => tail(s!.ip) === tail(host6)), 'the interface identifier is kept');
  const share = via1 / 300;
  console.log(`# NPTv6 balance: isp1 ${via1}, isp2 ${via2} (isp1 share ${share.toFixed(3)}, weight share 0.75)`);
  assert.ok(share > 0.63 && share < 0.87, `isp1 share ${share} (weights 3:1; ±4.5 sd)`);
});

test('NPTv6: a policy by IPv6 source pins the host to isp2; a pinhole opens one port to it; ICMPv6 allow-list', async () => {
  // closed before the pinhole (the Internet reaches the host's translated address only through one)
  const outside1 = `2001:db8:100::${host6.split('::')[1] ?? ''}`;
  const translated = (await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR6, 80, { timeoutMs: 2000 }))!;
  assert.ok(translated, 'LAN → Internet works');
  assert.equal(await tcpWhoAmI(L.prefix, 'net', outside1, 80, { timeoutMs: 1500 }), null, 'no pinhole: refused');

  await apply('nptv6', (d) => {
    d.policies = [...(d.policies ?? []), { name: 'host6-isp2', source: `${host6}/128`, uplink: 'isp2' }];
    d.portForwards = [...(d.portForwards ?? []), { name: 'web6', protocol: 'tcp', port: 80, to: host6 }];
    d.firewall = { ...d.firewall, icmpv6In: [] };
  });
  const seen = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 20, { timeoutMs: 2000 });
  assert.ok(seen.every((s) => s !== null && in6(ISP2_NET6, s.ip)), `all 20 via isp2: ${seen.map((s) => s?.ip).slice(0, 3)}`);
  // IPv4 of the same host is not affected by an IPv6 policy
  const v4 = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR, 80, 40, { timeoutMs: 2000 });
  assert.ok(v4.some((s) => s?.ip === '100.64.1.2'), 'IPv4 still balanced (some via isp1)');

  const via1 = await tcpWhoAmI(L.prefix, 'net', outside1, 80, { timeoutMs: 2000 });
  assert.ok(via1, `pinhole: the Internet reaches the host at its isp1-translated address ${outside1}`);
  assert.equal(await tcpWhoAmI(L.prefix, 'net', outside1, 8080, { timeoutMs: 1500 }), null, 'other ports stay closed');

  // icmpv6In []: the router no longer answers echo from the Internet; ND and the LAN's traffic still work
  assert.equal(await ping6('isp1', '2001:db8:1::2'), false, 'echo-request refused when not in icmpv6In');
  assert.equal(await ping6('lan', SERVER_ADDR6), true, 'LAN host → Internet echo (forwarded) still works');
  assert.ok(await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR6, 80, { timeoutMs: 2000 }), 'neighbor discovery still works');
});

test('NPTv6: isp1 breaks → IPv6 fails over to isp2 like IPv4; restored → both back', async () => {
  await apply('nptv6');
  const t0 = Date.now();
  await labBreak(L.prefix, 'isp1');
  let t4 = 0;
  let t6 = 0;
  try {
    await waitUntil('isp1 down in both families', () => {
      const s = states();
      if (!t4 && s.isp1?.[0] === 'down') t4 = Date.now() - t0;
      if (!t6 && s.isp1?.[1] === 'down') t6 = Date.now() - t0;
      return t4 > 0 && t6 > 0;
    }, 20000, 50);
    console.log(`# isp1 broken: IPv4 down after ${t4} ms, IPv6 down after ${t6} ms (agent's decision, as written for the dashboard)`);
    await waitUntil('the agent acted on both down transitions', () => acted(['isp1', 'isp1 (IPv6)'], 'down', t0), 10000, 50);
    const seen6 = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 30, { timeoutMs: 2000 });
    assert.ok(seen6.every((s) => s !== null && in6(ISP2_NET6, s.ip)), `all new IPv6 connections via isp2: ${seen6.map((s) => s?.ip ?? 'none').slice(0, 4)}`);
    const seen4 = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR, 80, 30, { timeoutMs: 2000 });
    assert.ok(seen4.every((s) => s?.ip === '100.64.2.2'), 'all new IPv4 connections via isp2');
  } finally {
    await labRestore(L.prefix, 'isp1');
  }
  await waitUntil('isp1 up again in both families', bothUp, 30000, 200);
  await waitUntil('the agent acted on both up transitions', () => acted(['isp1', 'isp1 (IPv6)'], 'up', t0), 10000, 50);
  const back = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 40, { timeoutMs: 2000 });
  assert.ok(back.some((s) => s !== null && in6(ISP1_NET6, s.ip)), 'isp1 takes IPv6 connections again');
});

test('one IPv6 and one IPv4 target of three filtered: no transition in either family (quorum is per family: 2 of 3)', async () => {
  // Found by bench/failover.ts: with 3 IPv4 + 3 IPv6 targets the default quorum was ⌈6/2⌉ = 3,
  // applied to each family's 3 targets — one dead target took the family down.
  await waitUntil('both uplinks up in both families', bothUp, 30000, 200);
  const t0 = Date.now();
  await labTargetFilter(L.prefix, '2001:db8:ffff::11');
  await labTargetFilter(L.prefix, '203.0.113.11');
  try {
    // > downAfter rounds at the default timing (500 ms × 3), several times over
    await new Promise((r) => setTimeout(r, 6000));
  } finally {
    await labTargetUnfilter(L.prefix, '2001:db8:ffff::11');
    await labTargetUnfilter(L.prefix, '203.0.113.11');
  }
  const moved = L.db.prepare("SELECT message FROM Event WHERE type = 'uplink' AND ts >= ? AND message LIKE '% → %'").pluck().all(t0) as string[];
  assert.deepEqual(moved, [], 'no uplink transition');
  assert.ok(bothUp(), JSON.stringify(states()));
});

test('IPv6 scan ban: a scanner is banned by its /64, a never-ban host inside it is not, uplinks stay up', async () => {
  const SCANNER6 = '2001:db8:ffff::66'; // the /64 of the probe targets and of a trusted host
  const NEIGHBOUR6 = '2001:db8:ffff::67';
  const TRUSTED6 = SERVER_ADDR6;
  const ROUTER6 = '2001:db8:1::2';
  await apply('nptv6', (d) => { d.firewall = { ...d.firewall, portScan: { neverBan: [TRUSTED6] } }; });
  const R = withNetns(realRunner, L.lab.namespaces.router);
  const net = withNetns(realRunner, L.lab.namespaces.net);
  for (const a of [SCANNER6, NEIGHBOUR6]) await net.run(['ip', 'addr', 'add', `${a}/128`, 'dev', L.lab.targetsDevice, 'nodad']);
  // a listener on the router for the ssh service (tcp 2222 on isp1)
  const listener = R.spawn([process.execPath, '-e', "require('net').createServer((s)=>s.end('['+s.remoteAddress+']:'+s.remotePort+'\\n')).listen(2222,'::')"]);
  try {
    await waitUntil('the router listener answers', async () => (await tcpWhoAmI(L.prefix, 'net', ROUTER6, 2222, { sourceAddress: NEIGHBOUR6, timeoutMs: 1000 })) !== null, 10000, 200);
    // 40 distinct closed ports in ~1 s from the scanner (the threshold is 20 in 10 s)
    const script = `const net=require('node:net');let n=0;for(let i=0;i<40;i++){const s=net.connect({host:'${ROUTER6}',port:30000+i,localAddress:'${SCANNER6}'});s.setTimeout(300,()=>s.destroy());s.on('error',()=>{});s.on('close',()=>{if(++n===40)process.exit(0)});}setTimeout(()=>process.exit(0),4000);`;
    await net.run([process.execPath, '-e', script], { timeoutMs: 10000 });
    const set = (await R.run(['nft', '-j', 'list', 'set', 'inet', 'linkward', 'lw_banned6'])).stdout;
    assert.match(set, /2001:db8:ffff::/, `the scanner's /64 is banned: ${set.slice(0, 400)}`);
    assert.equal(await tcpWhoAmI(L.prefix, 'net', ROUTER6, 2222, { sourceAddress: NEIGHBOUR6, timeoutMs: 1500 }), null, 'another host of the banned /64 is refused');
    assert.ok(await tcpWhoAmI(L.prefix, 'net', ROUTER6, 2222, { sourceAddress: TRUSTED6, timeoutMs: 2000 }), 'the never-ban host inside the /64 still connects');
    // the probe targets share the banned /64: their replies are established traffic, so health holds
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(bothUp(), `every uplink stays up in both families: ${JSON.stringify(states())}`);
  } finally {
    listener.kill();
    for (const a of [SCANNER6, NEIGHBOUR6]) await net.run(['ip', 'addr', 'del', `${a}/128`, 'dev', L.lab.targetsDevice], { allowFail: true });
    await R.run(['nft', 'flush', 'set', 'inet', 'linkward', 'lw_banned6'], { allowFail: true });
  }
});

test('native: both uplink prefixes are advertised; each source leaves by its own uplink (past BCP 38)', async () => {
  await apply('native');
  const addrs = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6) !== undefined && globalIn(a, ISP2_NET6) !== undefined, { timeoutMs: 15000, intervalMs: 200 });
  assert.ok(addrs, 'a SLAAC address from each uplink prefix');
  for (const net of [ISP1_NET6, ISP2_NET6]) {
    const src = globalIn(addrs, net)!.address;
    const seen = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 10, { sourceAddress: src, timeoutMs: 2000 });
    assert.ok(seen.every((s) => s?.ip === src), `from ${src}: seen as itself 10/10 (${seen.map((s) => s?.ip ?? 'none').slice(0, 3)})`);
  }
});

test('native: isp1 breaks → its prefix is deprecated on the LAN host within seconds; new connections use isp2', async () => {
  const t0 = Date.now();
  await labBreak(L.prefix, 'isp1');
  try {
    const addrs = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6, false)?.deprecated === true, { timeoutMs: 15000, intervalMs: 50 });
    const ms = Date.now() - t0;
    assert.ok(addrs, 'the isp1 address is deprecated (preferred lifetime 0)');
    console.log(`# native: isp1 broken → its prefix deprecated on the LAN host after ${ms} ms`);
    assert.ok(globalIn(addrs, ISP2_NET6), 'the isp2 address stays preferred');
    const seen = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 20, { timeoutMs: 2000 });
    assert.ok(seen.every((s) => s !== null && in6(ISP2_NET6, s.ip)), `new connections choose the live prefix: ${seen.map((s) => s?.ip ?? 'none').slice(0, 3)}`);
  } finally {
    await labRestore(L.prefix, 'isp1');
  }
  await waitUntil('isp1 up again in both families', bothUp, 30000, 200);
  const addrs = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6) !== undefined, { timeoutMs: 10000, intervalMs: 100 });
  assert.ok(addrs, 'the isp1 prefix is preferred again after the restore');
});

test('native with prefix "auto": the prefixes come by DHCPv6-PD (dhcpcd ↔ the ISPs\' kea); a lost delegation is deprecated, a new one used', async () => {
  assert.equal(L.lab.servers.dhcp6.length, 2, 'each ISP runs a DHCPv6 server');
  await apply('native', (d) => { for (const u of d.uplinks) u.ipv6 = { prefix: 'auto' }; });
  const t0 = Date.now();
  // the LAN host forgets the addresses of the static phase: what it gets now comes from RAs of delegated prefixes
  await labExec(L.prefix, 'lan', ['ip', '-6', 'addr', 'flush', 'dev', 'eth0', 'scope', 'global']);
  await waitUntil('the agent learned both delegations from dhcpcd', () => ['wan1', 'wan2'].every((i) => logs.some((m) => m.startsWith(`prefix delegation on ${i}: 2001:db8:${i === 'wan1' ? 1 : 2}00::/56`))), 20000, 100, () => logs.slice(-20).join('\n'));
  // dhcpcd holds each lease in the router's namespace: its unreachable route for the delegated prefix
  const rejects = (await withNetns(realRunner, L.lab.namespaces.router).run(['ip', '-6', 'route', 'show', 'type', 'unreachable'])).stdout;
  for (const p of ['2001:db8:100::/56', '2001:db8:200::/56']) assert.match(rejects, new RegExp(`^unreachable ${p.replace(/[.:/]/g, '\\$&')} dev lo`, 'm'), rejects);
  const addrs = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6) !== undefined && globalIn(a, ISP2_NET6) !== undefined, { timeoutMs: 20000, intervalMs: 200 });
  assert.ok(addrs, 'addresses from both delegated prefixes');
  const status = rows().map((r) => [r.name, r.ipv6 ? (JSON.parse(r.ipv6) as { prefix: string | null }).prefix : null]);
  assert.deepEqual(Object.fromEntries(status), { isp1: '2001:db8:100::/56', isp2: '2001:db8:200::/56' }, 'the delegated prefixes, as the dashboard shows them');
  console.log(`# DHCPv6-PD: both prefixes delegated and advertised ${Date.now() - t0} ms after the config change`);
  for (const net of [ISP1_NET6, ISP2_NET6]) {
    const src: string = globalIn(addrs, net)!.address;
    assert.equal((await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR6, 80, { sourceAddress: src, timeoutMs: 2000 }))?.ip, src, `from ${src}`);
  }

  // isp1's DHCPv6 server goes away: the delegation is not renewed and expires (12 s lab leases)
  const t1 = Date.now();
  await labDhcp6(L.prefix, 'isp1', false);
  try {
    const dep = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6, false)?.deprecated === true, { timeoutMs: 30000, intervalMs: 200 });
    assert.ok(dep, 'the address from the lost delegation is deprecated on the LAN host');
    console.log(`# DHCPv6-PD: isp1's server stopped → its prefix deprecated on the LAN host after ${Date.now() - t1} ms (lease valid ${12} s)`);
    assert.ok(globalIn(dep, ISP2_NET6), 'isp2 stays preferred');
    const seen = await tcpWhoAmIMany(L.prefix, 'lan', SERVER_ADDR6, 80, 10, { timeoutMs: 2000 });
    assert.ok(seen.every((s) => s !== null && in6(ISP2_NET6, s.ip)), 'new connections use the live prefix');
  } finally {
    await labDhcp6(L.prefix, 'isp1', true);
  }
  const back = await labWaitAddrs6(L.prefix, (a) => globalIn(a, ISP1_NET6) !== undefined, { timeoutMs: 30000, intervalMs: 200 });
  assert.ok(back, 'delegated again → preferred again');
});
