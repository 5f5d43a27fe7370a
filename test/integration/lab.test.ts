// The netns lab: topology, reachability through each ISP, break/restore, target filter,
// idempotent up (and repair), down. Kernel parts need root; they run in namespaces named
// t<pid>-*, created and removed here. Pure parts (config, grammars) run anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseConfig } from '../../lib/validations/config';
import {
  labConfig, labPlan, nsName, parseBreakMode, parseRole, validatePrefix, breakScript,
} from '../../lab/plan';
import {
  labUp, labDown, labStatus, labBreak, labRestore, labExec, labNamespaces, labTargetFilter, labTargetUnfilter,
  tcpWhoAmI, udpWhoAmI, tcpWhoAmIMany,
} from '../../lab/lab';
import { withNetns, realRunner } from '../../agent/system/runner';

const isRoot = process.getuid?.() === 0;

/** Alive and not a zombie (pid 1 of a container may never reap our killed servers). */
function isRunning(pid: number): boolean {
  try {
    return !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('lab config validates for 1..4 uplinks and matches the documented plan', () => {
  for (let n = 1; n <= 4; n++) {
    const r = parseConfig(labConfig(n));
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.equal(r.value.uplinks.length, n);
  }
  const r = parseConfig(labConfig(4));
  assert.ok(r.ok);
  const c = r.value;
  const [u1, u2, u3, u4] = c.uplinks;
  assert.deepEqual([u1.name, u1.interface, u1.gateway, u1.weight, u1.priority], ['isp1', 'wan1', '100.64.1.1', 3, 1]);
  assert.deepEqual([u2.gateway, u2.weight, u2.priority], ['auto', 1, 1]);
  assert.deepEqual([u3.priority, u4.priority], [2, 2]);
  assert.deepEqual(u1.health?.targets, ['203.0.113.10', '203.0.113.11', '203.0.113.12']);
  assert.deepEqual(c.lan, [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }]);
  assert.deepEqual(c.services.find((s) => s.name === 'ssh')?.uplinks, ['isp1']);
  assert.deepEqual(c.services.find((s) => s.name === 'ntp')?.sources, ['203.0.113.80/32']);
  const web = c.portForwards[0];
  assert.deepEqual([web.name, web.uplinks, web.port, web.to, web.toPort], ['web', ['isp1', 'isp2'], 8080, '192.168.1.10', 80]);
  assert.deepEqual([c.policies[0].name, c.policies[0].source, c.policies[0].uplink], ['voip', '192.168.1.50/32', 'isp2']);
  assert.deepEqual([c.rules[0].name, c.rules[0].action, c.rules[0].port, c.rules[0].log], ['no-telnet', 'drop', 23, true]);
});

test('lab grammars: prefix, role, break mode', () => {
  for (const bad of ['', 'A', '1ab', 'lw-x', 'abcdefghi', 'lw;rm', 'lw x']) assert.throws(() => validatePrefix(bad), /invalid lab prefix/);
  assert.equal(validatePrefix('lw'), 'lw');
  assert.equal(nsName('lw', 'router'), 'lw-rtr');
  assert.equal(nsName('lw', 'isp3'), 'lw-isp3');
  assert.throws(() => parseRole('isp5'));
  assert.throws(() => parseRole('host'));
  assert.deepEqual(parseBreakMode('loss:20'), { kind: 'loss', percent: 20 });
  assert.deepEqual(parseBreakMode(undefined), { kind: 'drop' });
  assert.throws(() => parseBreakMode('loss:0'));
  assert.throws(() => parseBreakMode('loss:20; drop'));
  assert.match(breakScript({ kind: 'loss', percent: 20 }), /numgen random mod 100 < 20 drop/);
  assert.equal(labPlan('lw', 3).isps[2].routerAddr, '100.64.3.2');
});

/** Everything that describes the lab's kernel state (addresses, routes, links) in all its namespaces. */
async function snapshot(prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const ns of (await labNamespaces(prefix)).sort()) {
    for (const what of [['addr', 'show'], ['route', 'show'], ['link', 'show']]) {
      const r = await realRunner.run(['ip', '-n', ns, '-j', ...what]);
      parts.push(`${ns} ${what[0]} ${r.stdout.trim()}`);
    }
  }
  return parts.join('\n');
}

test('lab in namespaces: up, reach each ISP, break/restore, filter, idempotent up, down', { skip: !isRoot && 'needs root', timeout: 180000 }, async (t) => {
  const P = `t${process.pid % 100000}`;
  try {
    const info = await labUp({ prefix: P, uplinks: 2 });
    assert.deepEqual(info.namespaces, { lan: `${P}-lan`, router: `${P}-rtr`, net: `${P}-net`, isps: [`${P}-isp1`, `${P}-isp2`] });

    await t.test('written config validates', () => {
      const r = parseConfig(JSON.parse(fs.readFileSync(info.configPath, 'utf8')));
      assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
      assert.equal(r.value.uplinks.length, 2);
    });

    await t.test('LAN host reaches the router; router has one DHCP-like default route per ISP', async () => {
      const p = await labExec(P, 'lan', ['ping', '-c', '1', '-W', '2', '192.168.1.1'], { timeoutMs: 5000, allowFail: true });
      assert.equal(p.exitCode, 0, p.stdout + p.stderr);
      const routes = (await labExec(P, 'router', ['ip', 'route', 'show', 'default'])).stdout;
      assert.match(routes, /default via 100\.64\.1\.1 dev wan1 metric 101/);
      assert.match(routes, /default via 100\.64\.2\.1 dev wan2 metric 102/);
      const nft = await labExec(P, 'router', ['nft', 'list', 'ruleset']);
      assert.equal(nft.stdout.trim(), '', 'the lab must not configure nft in the router');
    });

    await t.test('router reaches the Internet server through each ISP (tcp 80, 8080 bound to wanK; udp 80, 123)', async () => {
      for (const k of [1, 2]) {
        const device = `wan${k}`;
        assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device }))?.ip, `100.64.${k}.2`);
        assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.10', 8080, { device }))?.ip, `100.64.${k}.2`);
      }
      // Unbound traffic follows the main table: default via wan1 (metric 101).
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80))?.ip, '100.64.1.2');
      assert.equal((await udpWhoAmI(P, 'router', '203.0.113.80', 123))?.ip, '100.64.1.2');
      assert.equal((await udpWhoAmI(P, 'router', '203.0.113.11', 80, { sourceAddress: '100.64.1.2' }))?.ip, '100.64.1.2');
      // Binding only isp2's address still leaves by wan1 without policy routing: isp1 drops the
      // foreign source (BCP 38), so the lab does not hide a missing source rule.
      assert.equal(await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { sourceAddress: '100.64.2.2', timeoutMs: 700 }), null);
      // HTTP clients get an HTTP answer with the same body.
      const http = await labExec(P, 'router', ['curl', '-s', '--max-time', '3', '--interface', 'wan2', 'http://203.0.113.80/']);
      assert.match(http.stdout, /^100\.64\.2\.2:\d+$/m);
      // The Internet reaches the router's uplink addresses through the ISPs (connection refused = reached).
      const refused = await labExec(P, 'net', ['curl', '-s', '--max-time', '2', 'http://100.64.1.2:9/'], { allowFail: true });
      assert.equal(refused.exitCode, 7, 'curl exit 7 = connection refused by the router');
      // isp2's address: the RST leaves by wan1 (main table) and isp1 drops it; only the agent's
      // source rules make inbound traffic on isp2 work (curl exit 28 = timeout).
      const asym = await labExec(P, 'net', ['curl', '-s', '--max-time', '1', 'http://100.64.2.2:9/'], { allowFail: true });
      assert.equal(asym.exitCode, 28);
      // The LAN server answers with the address it saw.
      assert.equal((await tcpWhoAmI(P, 'router', '192.168.1.10', 80))?.ip, '192.168.1.1');
      assert.equal((await udpWhoAmI(P, 'router', '192.168.1.10', 80))?.ip, '192.168.1.1');
      // Without the agent (no NAT, no forwarding) the LAN host does not get out.
      assert.equal(await tcpWhoAmI(P, 'lan', '203.0.113.80', 80, { timeoutMs: 500 }), null);
    });

    await t.test('break isp1: isp1 fails, isp2 works; restore: isp1 works again', async () => {
      const b = await labBreak(P, 'isp1');
      assert.equal(b.mode, 'drop');
      assert.equal(await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan1', timeoutMs: 700 }), null);
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan2' }))?.ip, '100.64.2.2');
      const link = (await labExec(P, 'router', ['ip', '-j', 'link', 'show', 'dev', 'wan1'])).stdout;
      assert.match(link, /"operstate":"UP"/, 'the router link stays up while the ISP is broken');
      const s = await labStatus(P);
      assert.deepEqual(s.isps.map((i) => [i.name, i.condition]), [['isp1', 'drop'], ['isp2', 'ok']]);
      await labRestore(P, 'isp1');
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan1' }))?.ip, '100.64.1.2');
      assert.deepEqual((await labStatus(P)).isps.map((i) => i.condition), ['ok', 'ok']);
    });

    await t.test('blackhole: the gateway answers, nothing beyond it', async () => {
      await labBreak(P, 'isp2', 'blackhole');
      const gw = await labExec(P, 'router', ['ping', '-c', '1', '-W', '2', '-I', 'wan2', '100.64.2.1'], { allowFail: true, timeoutMs: 5000 });
      assert.equal(gw.exitCode, 0, gw.stdout);
      assert.equal(await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan2', timeoutMs: 700 }), null);
      assert.equal((await labStatus(P)).isps[1].condition, 'blackhole');
      await labRestore(P, 'isp2');
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan2' }))?.ip, '100.64.2.2');
    });

    await t.test('loss:40 loses some but not all; restore loses none', async () => {
      await labBreak(P, 'isp1', 'loss:40');
      assert.equal((await labStatus(P)).isps[0].condition, 'loss:40');
      const lossy = await tcpWhoAmIMany(P, 'router', '203.0.113.80', 80, 30, { sourceAddress: '100.64.1.2', timeoutMs: 300 });
      const ok = lossy.filter(Boolean).length;
      assert.ok(ok > 0 && ok < 30, `with 40% loss each way, ${ok}/30 connections succeeded`);
      await labRestore(P, 'isp1');
      const clean = await tcpWhoAmIMany(P, 'router', '203.0.113.80', 80, 30, { sourceAddress: '100.64.1.2', timeoutMs: 1000 });
      assert.equal(clean.filter(Boolean).length, 30);
    });

    await t.test('targets filter drops one target only; unfilter restores it', async () => {
      await labTargetFilter(P, '203.0.113.12');
      assert.equal(await tcpWhoAmI(P, 'router', '203.0.113.12', 80, { sourceAddress: '100.64.1.2', timeoutMs: 700 }), null);
      assert.ok(await tcpWhoAmI(P, 'router', '203.0.113.10', 80, { sourceAddress: '100.64.1.2' }));
      assert.deepEqual((await labStatus(P)).filteredTargets, ['203.0.113.12']);
      await assert.rejects(labTargetFilter(P, '203.0.113.12 } ; flush ruleset'), /not an IPv4 or IPv6 address/);
      await labTargetUnfilter(P, '203.0.113.12');
      assert.ok(await tcpWhoAmI(P, 'router', '203.0.113.12', 80, { sourceAddress: '100.64.1.2' }));
    });

    await t.test('a minimal hand-made router (NAT, marks, per-uplink tables) gets the LAN out and port-forwards on isp2', async () => {
      // Stands in for the agent, to show the lab carries the real multi-uplink mechanics; removed afterwards.
      const script = `table inet labtest {
  chain pre { type filter hook prerouting priority -150; policy accept;
    iifname "wan2" ct state new ct mark set 2
    ip saddr 192.168.1.50 ct state new ct mark set 2
    ct mark 2 meta mark set 2; }
  chain dnat_pre { type nat hook prerouting priority -100; policy accept; iifname "wan2" tcp dport 8080 dnat ip to 192.168.1.10:80; }
  chain snat_post { type nat hook postrouting priority 100; policy accept; oifname { "wan1", "wan2" } masquerade; }
}
`;
      const r = (argv: string[]) => labExec(P, 'router', argv);
      await r(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      await labExec(P, 'router', ['nft', '-f', '-'], { input: script });
      await r(['ip', 'route', 'replace', 'default', 'via', '100.64.2.1', 'dev', 'wan2', 'table', '102']);
      await r(['ip', 'rule', 'add', 'lookup', 'main', 'suppress_prefixlength', '0', 'pref', '999']);
      await r(['ip', 'rule', 'add', 'fwmark', '2', 'lookup', '102', 'pref', '1000']);
      await r(['ip', 'rule', 'add', 'from', '100.64.2.2', 'lookup', '102', 'pref', '1001']);
      try {
        assert.equal((await tcpWhoAmI(P, 'lan', '203.0.113.80', 80))?.ip, '100.64.1.2');
        assert.equal((await tcpWhoAmI(P, 'lan', '203.0.113.80', 80, { sourceAddress: '192.168.1.50' }))?.ip, '100.64.2.2');
        assert.equal((await udpWhoAmI(P, 'lan', '203.0.113.80', 123, { sourceAddress: '192.168.1.50' }))?.ip, '100.64.2.2');
        assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { sourceAddress: '100.64.2.2' }))?.ip, '100.64.2.2');
        // Port forward on isp2: the LAN server sees the Internet host; the reply leaves by wan2.
        assert.equal((await tcpWhoAmI(P, 'net', '100.64.2.2', 8080))?.ip, '100.127.2.1');
        const iperf = await labExec(P, 'lan', ['iperf3', '-c', '203.0.113.80', '-t', '1', '-J'], { timeoutMs: 15000 });
        const bps = (JSON.parse(iperf.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
        assert.ok(bps > 1e6, `iperf3 LAN → Internet ${bps} bit/s`);
        t.diagnostic(`iperf3 LAN → Internet through the router: ${(bps / 1e9).toFixed(2)} Gbit/s`);
      } finally {
        for (const pref of ['999', '1000', '1001']) await r(['ip', 'rule', 'del', 'pref', pref]).catch(() => undefined);
        await r(['ip', 'route', 'flush', 'table', '102']).catch(() => undefined);
        await r(['nft', 'delete', 'table', 'inet', 'labtest']).catch(() => undefined);
        await r(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
      }
    });

    await t.test('up twice changes nothing; up repairs a missing link', async () => {
      const before = await snapshot(P);
      const again = await labUp({ prefix: P, uplinks: 2 });
      assert.deepEqual(again.servers, info.servers, 'servers are not restarted');
      assert.equal(await snapshot(P), before);
      await labExec(P, 'router', ['ip', 'link', 'del', 'dev', 'wan2']);
      await labUp({ prefix: P, uplinks: 2 });
      assert.equal((await tcpWhoAmI(P, 'router', '203.0.113.80', 80, { device: 'wan2' }))?.ip, '100.64.2.2');
      assert.match((await labExec(P, 'router', ['ip', 'route', 'show', 'default'])).stdout, /via 100\.64\.2\.1 dev wan2 metric 102/);
    });

    await t.test('down removes every namespace and server; down again is safe', async () => {
      const pids = Object.values((await labStatus(P)).servers).filter((x): x is number => x !== null);
      assert.equal(pids.length, 3);
      const r = await labDown(P);
      assert.equal(r.removed.length, 5);
      assert.deepEqual(await labNamespaces(P), []);
      for (const pid of pids) assert.ok(!isRunning(pid), `server ${pid} still runs`);
      assert.deepEqual((await labDown(P)).removed, []);
      assert.equal((await labStatus(P)).up, false);
    });
  } finally {
    await labDown(P);
  }
});
