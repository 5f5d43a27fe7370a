// The lab's IPv6 (no agent): every link pings with neighbor discovery, the Internet reaches the
// router, the ISPs route their delegated /56 and filter forged sources (BCP 38), the echo server
// answers IPv6 clients, breaks cut IPv6, the 'plain' LAN gets out with forwarding enabled by hand,
// idempotent up and repair, a mode change recreates, 'slaac' (an RA sent by hand) numbers and
// deprecates the LAN host's address, down. Needs root; namespaces s<pid>-*, removed in finally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseConfig } from '../../lib/validations/config';
import {
  labUp, labDown, labStatus, labBreak, labRestore, labExec, labNamespaces, labTargetFilter, labTargetUnfilter,
  tcpWhoAmI, udpWhoAmI, tcpWhoAmIMany, labAddrs6, labWaitAddrs6,
} from '../../lab/lab';
import { SERVER_ADDR6, PROBE_TARGETS6 } from '../../lab/plan';
import { realRunner } from '../../agent/system/runner';
import { cli, tmpDb } from '../helpers/cli';

const isRoot = process.getuid?.() === 0;

function isRunning(pid: number): boolean {
  try {
    return !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Kernel state of the lab, both families: addresses, routes, links, rules, nft (no counter values), sysctls. */
async function snapshot(prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const ns of (await labNamespaces(prefix)).sort()) {
    for (const what of [['addr', 'show'], ['-4', 'route', 'show'], ['-6', 'route', 'show'], ['link', 'show'], ['-6', 'rule', 'show']]) {
      const r = await realRunner.run(['ip', '-n', ns, '-j', ...what]);
      parts.push(`${ns} ${what.join(' ')} ${r.stdout.trim()}`);
    }
    parts.push(`${ns} nft ${(await realRunner.run(['ip', 'netns', 'exec', ns, 'nft', '-s', 'list', 'ruleset'])).stdout}`);
    const sc = await realRunner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-a', '--pattern', '^net\\.ipv6\\.conf\\.[^.]+\\.(forwarding|accept_dad|accept_ra|autoconf)$']);
    parts.push(`${ns} sysctl ${sc.stdout}`);
  }
  return parts.join('\n');
}

const ping = (P: string, from: string, argv: string[]) =>
  labExec(P, from, ['ping', '-6', '-c', '1', '-W', '2', ...argv], { allowFail: true, timeoutMs: 5000 });

async function forgedCount(P: string, isp: string): Promise<number> {
  const r = await labExec(P, isp, ['nft', '-j', 'list', 'counter', 'inet', 'lwlab_bcp38', 'forged']);
  const doc = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
  const c = doc.nftables.find((x) => x.counter)?.counter;
  assert.ok(c, r.stdout);
  return c.packets;
}

async function linkLocal(P: string, role: string, dev: string): Promise<string> {
  const ll = (await labAddrs6(P, role, dev)).find((a) => a.scope === 'link');
  assert.ok(ll, `${role} ${dev} has a link-local address`);
  return ll.address;
}

/** A router advertisement with one prefix (L+A), sent once from the router's lan0 to all nodes —
 *  a stand-in for linkward's radvd, to exercise the LAN host's SLAAC (python3: raw ICMPv6 socket;
 *  the kernel fills in the checksum; hop limit 255 as RFC 4861 requires; not looped back, so the
 *  router itself does not autoconfigure from it). */
const RA_PY = `
import socket, struct, sys
dev, prefix, plen, valid, pref = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
idx = socket.if_nametoindex(dev)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 600, 0, 0)
pio = struct.pack('!BBBBIII', 3, 4, plen, 0xc0, valid, pref, 0) + socket.inet_pton(socket.AF_INET6, prefix)
s.sendto(ra + pio, ('ff02::1', 0, 0, idx))
`;
const sendRa = (P: string, prefix: string, valid: number, preferred: number) =>
  labExec(P, 'router', ['python3', '-c', RA_PY, 'lan0', prefix, '64', String(valid), String(preferred)], { timeoutMs: 10000 });

test('IPv6 lab: ND on every link, Internet, delegated prefixes and BCP 38, echo server, breaks, plain LAN, idempotent up, slaac, down', { skip: !isRoot && 'needs root', timeout: 240000 }, async (t) => {
  const P = `s${process.pid % 100000}`;
  try {
    const t0 = Date.now();
    const info = await labUp({ prefix: P, uplinks: 2, ipv6: 'plain' });
    t.diagnostic(`lab up (2 uplinks, ipv6 plain): ${Date.now() - t0} ms`);
    assert.equal(info.ipv6, 'plain');
    assert.equal(info.ipv6Config, 'none');

    await t.test('written config is the IPv4-only one and validates', () => {
      const doc: unknown = JSON.parse(fs.readFileSync(info.configPath, 'utf8'));
      const r = parseConfig(doc);
      assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
      assert.ok(!JSON.stringify(doc).includes('ipv6'));
    });

    await t.test('sysctls: no DAD anywhere, ISPs and Internet forward, the router does not (left to linkward)', async () => {
      for (const ns of ['router', 'lan', 'isp1', 'isp2', 'net']) {
        const all = (await labExec(P, ns, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding', 'net.ipv6.conf.all.accept_dad'])).stdout.split('\n');
        assert.deepEqual(all.slice(0, 2), [ns === 'router' || ns === 'lan' ? '0' : '1', '0'], ns);
        const addrs = (await labExec(P, ns, ['ip', '-j', '-6', 'addr', 'show'])).stdout;
        assert.ok(!/"tentative":true/.test(addrs), `${ns}: no tentative address`);
      }
      const routes = (await labExec(P, 'router', ['ip', '-6', 'route', 'show', 'default'])).stdout;
      assert.match(routes, /default via 2001:db8:1::1 dev wan1 metric 101/);
      assert.match(routes, /default via 2001:db8:2::1 dev wan2 metric 102/);
      assert.equal((await labExec(P, 'router', ['nft', 'list', 'ruleset'])).stdout.trim(), '', 'no nft in the router');
    });

    await t.test('every IPv6 link pings by global and link-local address; neighbor discovery resolves', async () => {
      const links: [string, string, string, string, string][] = [
        ['lan', 'eth0', 'router', 'lan0', '2001:db8:100::1'],
        ['router', 'lan0', 'lan', 'eth0', '2001:db8:100::10'],
        ['router', 'wan1', 'isp1', 'down0', '2001:db8:1::1'],
        ['router', 'wan2', 'isp2', 'down0', '2001:db8:2::1'],
        ['isp1', 'up0', 'net', 'isp1', '2001:db8:f1::1'],
        ['isp2', 'up0', 'net', 'isp2', '2001:db8:f2::1'],
        ['net', 'isp1', 'isp1', 'up0', '2001:db8:f1::2'],
        ['isp1', 'down0', 'router', 'wan1', '2001:db8:1::2'],
      ];
      for (const [a, devA, b, devB, globalB] of links) {
        const g = await ping(P, a, ['-I', devA, globalB]);
        assert.equal(g.exitCode, 0, `${a} → ${b} ${globalB}: ${g.stdout}`);
        const ll = await linkLocal(P, b, devB);
        const l = await ping(P, a, ['-I', devA, ll]);
        assert.equal(l.exitCode, 0, `${a} → ${b} ${ll}%${devA}: ${l.stdout}`);
        const neigh = (await labExec(P, a, ['ip', '-6', 'neigh', 'show', 'dev', devA])).stdout;
        assert.match(neigh, new RegExp(`^${globalB.replace(/[.:]/g, '\\$&')} lladdr [0-9a-f:]{17} (router )?(REACHABLE|STALE|DELAY|PROBE)`, 'm'), `${a} ${devA}: ${neigh}`);
      }
      // Fixed MACs on the LAN link: predictable link-local (and EUI-64 SLAAC) addresses.
      assert.equal(await linkLocal(P, 'router', 'lan0'), 'fe80::ff:fe00:101');
      assert.equal(await linkLocal(P, 'lan', 'eth0'), 'fe80::ff:fe00:110');
    });

    await t.test('the Internet reaches the router; delegated /56s are routed to it; BCP 38 drops forged sources', async () => {
      assert.equal((await ping(P, 'net', ['2001:db8:1::2'])).exitCode, 0);
      // wan2's address: the reply leaves by wan1 (main table, metric 101) and isp1 drops its foreign
      // source, as in the IPv4 lab; only source routing (the agent's job) makes it work.
      const f1 = await forgedCount(P, 'isp1');
      assert.notEqual((await ping(P, 'net', ['-W', '1', '2001:db8:2::2'])).exitCode, 0);
      assert.ok((await forgedCount(P, 'isp1')) > f1, 'isp1 counted the forged reply');
      // Prefix 1 (lan0's 2001:db8:100::1) out of uplink 1: routed there and back.
      assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { sourceAddress: '2001:db8:100::1' }))?.ip, '2001:db8:100::1');
      // Prefix 2 out of uplink 1: dropped by isp1, visibly.
      await labExec(P, 'router', ['ip', 'addr', 'add', '2001:db8:200::1/128', 'dev', 'lo']);
      const r = (argv: string[]) => labExec(P, 'router', argv);
      try {
        const before = [await forgedCount(P, 'isp1'), await forgedCount(P, 'isp2')];
        assert.equal(await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { sourceAddress: '2001:db8:200::1', timeoutMs: 700 }), null);
        assert.ok((await forgedCount(P, 'isp1')) > before[0], 'isp1 dropped prefix 2');
        assert.equal(await forgedCount(P, 'isp2'), before[1]);
        // Hand-made source routing (stands in for the agent): prefix 2 and wan2's address leave by wan2.
        await r(['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:2::1', 'dev', 'wan2', 'table', '102']);
        await r(['ip', '-6', 'rule', 'add', 'from', '2001:db8:200::/56', 'lookup', '102', 'pref', '1000']);
        await r(['ip', '-6', 'rule', 'add', 'from', '2001:db8:2::2', 'lookup', '102', 'pref', '1001']);
        assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { sourceAddress: '2001:db8:200::1' }))?.ip, '2001:db8:200::1');
        assert.equal((await ping(P, 'net', ['2001:db8:2::2'])).exitCode, 0);
        assert.equal((await ping(P, 'net', ['2001:db8:200::1'])).exitCode, 0, 'the Internet routes isp2\'s /56 to the router');
      } finally {
        for (const pref of ['1000', '1001']) await r(['ip', '-6', 'rule', 'del', 'pref', pref]).catch(() => undefined);
        await r(['ip', '-6', 'route', 'flush', 'table', '102']).catch(() => undefined);
        await r(['ip', 'addr', 'del', '2001:db8:200::1/128', 'dev', 'lo']).catch(() => undefined);
      }
    });

    await t.test('the echo server answers IPv6 clients (tcp 80, 8080; udp 80, 123) with the address it saw', async () => {
      for (const k of [1, 2]) {
        const device = `wan${k}`;
        assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device }))?.ip, `2001:db8:${k}::2`);
        assert.equal((await tcpWhoAmI(P, 'router', PROBE_TARGETS6[0], 8080, { device }))?.ip, `2001:db8:${k}::2`);
      }
      assert.equal((await udpWhoAmI(P, 'router', SERVER_ADDR6, 123))?.ip, '2001:db8:1::2');
      assert.equal((await udpWhoAmI(P, 'router', PROBE_TARGETS6[1], 80, { sourceAddress: '2001:db8:1::2' }))?.ip, '2001:db8:1::2');
      assert.equal((await tcpWhoAmI(P, 'router', PROBE_TARGETS6[2], 80))?.ip, '2001:db8:1::2');
      const http = await labExec(P, 'router', ['curl', '-s', '-g', '--max-time', '3', '--interface', 'wan2', `http://[${SERVER_ADDR6}]/`]);
      assert.match(http.stdout, /^\[2001:db8:2::2\]:\d+$/m);
      // IPv4 on the same server is unchanged.
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan2' }))?.ip, '100.64.2.2');
      await assert.rejects(tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { sourceAddress: '100.64.1.2' }), /different families/);
    });

    await t.test('CLI: whoami --to an IPv6 server, status shows the IPv6 mode', () => {
      const db = tmpDb();
      try {
        const w = cli(['lab', 'whoami', '--prefix', P, '--from', 'router', '--to', SERVER_ADDR6, '--count', '2'], { LINKWARD_DB: db.db });
        assert.equal(w.code, 0, w.stderr);
        assert.match(w.stdout, /to \[2001:db8:ffff::80\]:80; the server saw:\n\s+2\s+2001:db8:1::2/);
        const s = cli(['lab', 'status', '--prefix', P], { LINKWARD_DB: db.db });
        assert.equal(s.code, 0, s.stderr);
        assert.match(s.stdout, new RegExp(`^lab ${P}: up \\(IPv6: plain\\)`));
      } finally {
        db.cleanup();
      }
    });

    await t.test('breaks cut IPv6: drop (ND still answers), blackhole (gateway answers), loss; restore brings it back', async () => {
      try {
        await labBreak(P, 'isp1');
        assert.equal(await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan1', timeoutMs: 700 }), null);
        assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan2' }))?.ip, '2001:db8:2::2');
        await labExec(P, 'router', ['ip', '-6', 'neigh', 'flush', 'dev', 'wan1']);
        assert.notEqual((await ping(P, 'router', ['-W', '1', '-I', 'wan1', '2001:db8:1::1'])).exitCode, 0, 'the dead gateway does not answer pings');
        const n = (await labExec(P, 'router', ['ip', '-6', 'neigh', 'show', '2001:db8:1::1', 'dev', 'wan1'])).stdout;
        assert.match(n, /lladdr [0-9a-f:]{17}/, `ND still answers in a broken ISP (like ARP): ${n}`);
        await labRestore(P, 'isp1');
        assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan1' }))?.ip, '2001:db8:1::2');

        await labBreak(P, 'isp2', 'blackhole');
        assert.match((await labExec(P, 'isp2', ['ip', '-6', 'route', 'show', 'default'])).stdout, /^blackhole default/m);
        assert.equal((await ping(P, 'router', ['-I', 'wan2', '2001:db8:2::1'])).exitCode, 0, 'the gateway still answers');
        assert.equal(await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan2', timeoutMs: 700 }), null);
        assert.equal((await labStatus(P)).isps[1].condition, 'blackhole');
        await labRestore(P, 'isp2');
        assert.match((await labExec(P, 'isp2', ['ip', '-6', 'route', 'show', 'default'])).stdout, /^default via 2001:db8:f2::1 dev up0/m);
        assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan2' }))?.ip, '2001:db8:2::2');

        // ~4 packets cross the ISP per attempt (no retransmission within 300 ms): ~41 % succeed.
        await labBreak(P, 'isp1', 'loss:20');
        const lossy = await tcpWhoAmIMany(P, 'router', SERVER_ADDR6, 80, 20, { sourceAddress: '2001:db8:1::2', timeoutMs: 300 });
        const ok = lossy.filter(Boolean).length;
        assert.ok(ok > 0 && ok < 20, `with 20% loss, ${ok}/20 IPv6 connections succeeded`);
        await labRestore(P, 'isp1');
        const clean = await tcpWhoAmIMany(P, 'router', SERVER_ADDR6, 80, 30, { sourceAddress: '2001:db8:1::2', timeoutMs: 1000 });
        assert.equal(clean.filter(Boolean).length, 30);
      } finally {
        await labRestore(P, 'isp1');
        await labRestore(P, 'isp2');
      }
    });

    await t.test('targets filter takes IPv6 targets too', async () => {
      await labTargetFilter(P, '2001:db8:ffff::12');
      await labTargetFilter(P, '203.0.113.12');
      assert.equal(await tcpWhoAmI(P, 'router', '2001:db8:ffff::12', 80, { device: 'wan1', timeoutMs: 700 }), null);
      assert.ok(await tcpWhoAmI(P, 'router', '2001:db8:ffff::10', 80, { device: 'wan1' }));
      assert.deepEqual((await labStatus(P)).filteredTargets, ['203.0.113.12', '2001:db8:ffff::12']);
      await assert.rejects(labTargetFilter(P, '2001:db8:ffff::12 } ; flush ruleset'), /not an IPv4 or IPv6 address/);
      await assert.rejects(labTargetFilter(P, 'fe80::1%eth0'), /not an IPv4 or IPv6 address/);
      await labTargetUnfilter(P, '2001:db8:ffff::12');
      await labTargetUnfilter(P, '203.0.113.12');
      assert.ok(await tcpWhoAmI(P, 'router', '2001:db8:ffff::12', 80, { device: 'wan1' }));
      assert.deepEqual((await labStatus(P)).filteredTargets, []);
    });

    await t.test('plain LAN: no way out while the router does not forward; with forwarding enabled by hand, out via isp1', async () => {
      assert.equal(await tcpWhoAmI(P, 'lan', SERVER_ADDR6, 80, { timeoutMs: 500 }), null);
      const r = (argv: string[]) => labExec(P, 'router', argv);
      await r(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      try {
        assert.equal((await tcpWhoAmI(P, 'lan', SERVER_ADDR6, 80))?.ip, '2001:db8:100::10');
        assert.equal((await udpWhoAmI(P, 'lan', SERVER_ADDR6, 123))?.ip, '2001:db8:100::10');
        assert.equal((await tcpWhoAmI(P, 'lan', PROBE_TARGETS6[0], 8080))?.ip, '2001:db8:100::10');
        const route = (await r(['ip', '-6', 'route', 'get', SERVER_ADDR6, 'from', '2001:db8:100::10', 'iif', 'lan0'])).stdout;
        assert.match(route, /via 2001:db8:1::1 dev wan1/);
        // The Internet reaches the LAN server (no firewall without the agent).
        assert.equal((await tcpWhoAmI(P, 'net', '2001:db8:100::10', 80))?.ip, '2001:db8:f1::1');
      } finally {
        await r(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=0']);
      }
    });

    await t.test('up twice changes nothing (counters kept); up repairs a removed address, route and filter table', async () => {
      const before = await snapshot(P);
      const forged = await forgedCount(P, 'isp1');
      assert.ok(forged > 0);
      const t1 = Date.now();
      const again = await labUp({ prefix: P, uplinks: 2, ipv6: 'plain' });
      t.diagnostic(`lab up again (nothing to do): ${Date.now() - t1} ms`);
      assert.equal(again.recreated, false);
      assert.deepEqual(again.servers, info.servers, 'servers are not restarted');
      assert.equal(await snapshot(P), before);
      assert.equal(await forgedCount(P, 'isp1'), forged, 'the BCP 38 counter survives a re-apply');
      await labExec(P, 'router', ['ip', '-6', 'addr', 'del', '2001:db8:2::2/64', 'dev', 'wan2']);
      await labExec(P, 'router', ['ip', '-6', 'route', 'del', 'default', 'via', '2001:db8:1::1', 'dev', 'wan1'], { allowFail: true });
      await labExec(P, 'isp2', ['nft', 'delete', 'table', 'inet', 'lwlab_bcp38']);
      await labUp({ prefix: P, uplinks: 2, ipv6: 'plain' });
      assert.equal((await tcpWhoAmI(P, 'router', SERVER_ADDR6, 80, { device: 'wan2' }))?.ip, '2001:db8:2::2');
      assert.equal(await snapshot(P), before);
    });

    await t.test('a new IPv6 mode recreates the lab; slaac: the LAN host numbers itself from RAs only', async () => {
      const lab = await labUp({ prefix: P, uplinks: 2, ipv6: 'slaac', ipv6Config: 'none' });
      assert.equal(lab.recreated, true);
      assert.notDeepEqual(lab.servers, info.servers);
      assert.equal((await labStatus(P)).ipv6, 'slaac');
      assert.deepEqual((await labAddrs6(P, 'router', 'lan0')).filter((a) => a.global), [], 'no global address on lan0 (linkward numbers it)');
      assert.deepEqual((await labAddrs6(P, 'lan')).map((a) => a.address), ['fe80::ff:fe00:110']);
      assert.deepEqual((await labExec(P, 'lan', ['sysctl', '-n', 'net.ipv6.conf.eth0.accept_ra', 'net.ipv6.conf.eth0.autoconf', 'net.ipv6.conf.all.forwarding'])).stdout.split('\n').slice(0, 3), ['1', '1', '0']);
      assert.equal((await labExec(P, 'router', ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim(), '0');
      assert.equal((await ping(P, 'lan', ['-I', 'eth0', 'fe80::ff:fe00:101'])).exitCode, 0);
      assert.equal((await ping(P, 'router', ['2001:db8:1::1'])).exitCode, 0, 'uplinks carry IPv6 as in plain');

      await sendRa(P, '2001:db8:100::', 600, 300);
      const got = await labWaitAddrs6(P, (a) => a.some((x) => x.global));
      assert.ok(got, 'the LAN host autoconfigured');
      const slaac = got.find((a) => a.global);
      assert.ok(slaac);
      assert.deepEqual([slaac.address, slaac.prefixLen, slaac.dynamic, slaac.deprecated, slaac.tentative], ['2001:db8:100::ff:fe00:110', 64, true, false, false]);
      assert.ok(slaac.preferredLft > 0 && slaac.preferredLft <= 300 && slaac.validLft <= 600);
      assert.match((await labExec(P, 'lan', ['ip', '-6', 'route', 'show', 'default'])).stdout, /default via fe80::ff:fe00:101 dev eth0 proto ra/);
      // The LAN server listens on [::]: it answers on the autoconfigured address.
      assert.equal((await tcpWhoAmI(P, 'lan', '2001:db8:100::ff:fe00:110', 80))?.ip, '2001:db8:100::ff:fe00:110');
      // Preferred lifetime 0: the address is deprecated (kept, not used for new connections).
      await sendRa(P, '2001:db8:100::', 600, 0);
      const dep = await labWaitAddrs6(P, (a) => a.some((x) => x.address === '2001:db8:100::ff:fe00:110' && x.deprecated), { timeoutMs: 3000 });
      assert.ok(dep, 'deprecated');
      assert.deepEqual((await labAddrs6(P, 'router', 'lan0')).filter((a) => a.global), [], 'the router did not autoconfigure from its own RA');
    });

    await t.test('down removes every namespace and server; down again is safe', async () => {
      const pids = Object.values((await labStatus(P)).servers).filter((x): x is number => x !== null);
      assert.equal(pids.length, 3);
      const t2 = Date.now();
      const r = await labDown(P);
      t.diagnostic(`lab down (2 uplinks, IPv6): ${Date.now() - t2} ms`);
      assert.equal(r.removed.length, 5);
      assert.deepEqual(await labNamespaces(P), []);
      for (const pid of pids) assert.ok(!isRunning(pid), `server ${pid} still runs`);
      assert.deepEqual((await labDown(P)).removed, []);
    });
  } finally {
    await labDown(P);
  }
});
