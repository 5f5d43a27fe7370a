// The lab's IPv6 plan (pure): addresses, the config variants, the whoami line format, the scripts
// for the ISPs' IPv6 ingress filter and the break table, `ip -j -6 addr` parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../lib/validations/config';
import { cli, tmpDb } from '../helpers/cli';
import {
  labPlan, labConfig, parseWhoAmI, formatWhoAmI, isLabIPv6, parseLabIpv6, parseLabConfigIpv6, bcp38Script, breakScript,
  targetsTableScript, parseAddrs6, PROBE_TARGETS, PROBE_TARGETS6, type LabConfigDoc,
} from '../../lab/plan';

test('IPv6 address plan per ISP, LAN and Internet', () => {
  const p = labPlan('lw', 4, 'plain');
  assert.equal(p.ipv6, 'plain');
  assert.deepEqual(
    p.isps.map((i) => [i.routerAddr6, i.gateway6, i.ispUpAddr6, i.netAddr6, i.accessNet6, i.delegated6]),
    [1, 2, 3, 4].map((k) => [`2001:db8:${k}::2`, `2001:db8:${k}::1`, `2001:db8:f${k}::2`, `2001:db8:f${k}::1`, `2001:db8:${k}::/64`, `2001:db8:${k}00::/56`]),
  );
  assert.deepEqual([p.lan.routerAddr6, p.lan.hostAddr6, p.lan.network6], ['2001:db8:100::1', '2001:db8:100::10', '2001:db8:100::/64']);
  assert.deepEqual(p.net.targets6, ['2001:db8:ffff::10', '2001:db8:ffff::11', '2001:db8:ffff::12']);
  assert.equal(p.net.server6, '2001:db8:ffff::80');
  assert.equal(labPlan('lw', 2).ipv6, 'none');
  assert.throws(() => labPlan('lw', 2, 'dhcp' as never), /invalid IPv6 mode/);
  assert.equal(parseLabIpv6('slaac'), 'slaac');
  for (const bad of ['', 'SLAAC', 'native', 'plain ']) assert.throws(() => parseLabIpv6(bad), /invalid IPv6 mode/);
  assert.equal(parseLabConfigIpv6('native'), 'native');
  assert.throws(() => parseLabConfigIpv6('slaac'), /invalid IPv6 config variant/);
});

/** The document without its IPv6 parts: what must equal today's IPv4-only config. */
function stripIpv6(doc: LabConfigDoc): LabConfigDoc {
  const c = structuredClone(doc);
  for (const l of c.lan) delete l.ipv6;
  for (const u of c.uplinks) {
    delete u.ipv6;
    if (u.health?.targets) u.health.targets = u.health.targets.filter((t) => !t.includes(':'));
  }
  const ex = c.firewall?.antiSpoof?.exceptions;
  if (ex && c.firewall?.antiSpoof) c.firewall.antiSpoof.exceptions = ex.filter((e) => !e.includes(':'));
  return c;
}

test('labConfig: none and plain are today\'s IPv4-only document (and validate); nptv6/native add exactly the IPv6 fields', () => {
  for (let n = 1; n <= 4; n++) {
    const base = labConfig(n);
    assert.deepEqual(labConfig(n, { ipv6: 'none' }), base);
    assert.deepEqual(labConfig(n, { ipv6: 'plain' }), base);
    const r = parseConfig(base);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.ok(!JSON.stringify(base).includes('ipv6'), 'no IPv6 field in the IPv4-only config');
    for (const v of ['nptv6', 'native'] as const) {
      const doc = labConfig(n, { ipv6: v });
      assert.deepEqual(stripIpv6(doc), base, `${v}: everything but the IPv6 parts is unchanged`);
      assert.deepEqual(doc.lan[0].ipv6, v === 'nptv6' ? { mode: 'nptv6', address: 'fd00:1::1/64' } : { mode: 'native' });
      assert.deepEqual(doc.uplinks.map((u) => u.ipv6), Array.from({ length: n }, (_, i) => ({ prefix: `2001:db8:${i + 1}00::/56` })));
      for (const u of doc.uplinks) assert.deepEqual(u.health?.targets, [...PROBE_TARGETS, ...PROBE_TARGETS6]);
      assert.ok(doc.firewall?.antiSpoof?.exceptions?.includes('2001:db8::/32'));
    }
  }
});

test('labConfig nptv6/native validate with the IPv6 configuration schema', () => {
  for (const v of ['nptv6', 'native'] as const) {
    const r = parseConfig(labConfig(2, { ipv6: v }));
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  }
});

test('whoami line: IPv4 "ip:port", IPv6 "[ip]:port"; anything else is refused', () => {
  assert.equal(formatWhoAmI('100.64.1.2', 40000), '100.64.1.2:40000');
  assert.equal(formatWhoAmI('2001:db8:1::2', 40000), '[2001:db8:1::2]:40000');
  assert.deepEqual(parseWhoAmI('OK 100.64.1.2:40000'), { ip: '100.64.1.2', port: 40000 });
  assert.deepEqual(parseWhoAmI('OK [2001:db8:1::2]:40000\n'), { ip: '2001:db8:1::2', port: 40000 });
  assert.deepEqual(parseWhoAmI('[2001:db8:100::10]:5', true), { ip: '2001:db8:100::10', port: 5 });
  assert.deepEqual(parseWhoAmI('OK [::ffff:192.0.2.1]:80'), { ip: '::ffff:192.0.2.1', port: 80 });
  for (const ip of ['203.0.113.80', '2001:db8:ffff::80', 'fe80::ff:fe00:101', '::']) {
    assert.deepEqual(parseWhoAmI(`OK ${formatWhoAmI(ip, 65535)}`), { ip, port: 65535 }, ip);
  }
  for (const bad of [
    'ERR timeout', 'OK ', 'OK 2001:db8::1:80', 'OK [2001:db8::1]', 'OK [2001:db8::1]:65536', 'OK 1.2.3.256:80',
    'OK [fe80::1%eth0]:80', 'OK [2001:db8::1]:80 x', 'OK [1.2.3.4]:80', 'OK [2001:db8:::1]:80', 'OK 1.2.3.4:80; rm',
    '100.64.1.2:80', // a client line needs "OK " unless bare
  ]) assert.equal(parseWhoAmI(bad), null, bad);
});

test('isLabIPv6 is strict: no zone ids, brackets, prefixes or spaces', () => {
  for (const ok of ['2001:db8::1', '::', '::1', 'fe80::ff:fe00:110', '2001:db8:ffff::80', '::ffff:192.0.2.1']) assert.ok(isLabIPv6(ok), ok);
  for (const bad of ['', '1.2.3.4', 'fe80::1%eth0', '[::1]', '2001:db8::/32', ' ::1', '2001:db8::1;', 'g::1', '2001:db8:::1', '1:2:3:4:5:6:7:8:9']) {
    assert.equal(isLabIPv6(bad), false, bad);
  }
});

test('BCP 38 script: only the access /64, the delegated /56 and link-local pass on down0', () => {
  const s = bcp38Script(labPlan('lw', 3).isps[2]);
  assert.match(s, /^table inet lwlab_bcp38 \{\}\nflush table inet lwlab_bcp38\n/);
  assert.match(s, /elements = \{ 2001:db8:3::\/64, 2001:db8:300::\/56, fe80::\/10 \}/);
  assert.match(s, /iifname "down0" ip6 saddr != @customer counter name "forged" drop/);
});

test('break and target scripts are family-neutral (inet); ND still answers in a broken ISP', () => {
  for (const mode of [{ kind: 'drop' }, { kind: 'loss', percent: 30 }] as const) {
    const s = breakScript(mode);
    assert.match(s, /^table inet lwlab_break \{/);
    assert.equal(s.match(/icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert \} ip6 hoplimit 255 accept/g)?.length, 2);
  }
  const t = targetsTableScript();
  assert.match(t, /set filtered6 \{ type ipv6_addr; \}/);
  assert.match(t, /ip6 daddr @filtered6 drop/);
  assert.match(t, /ip6 saddr @filtered6 drop/);
});

test('parseAddrs6 reads ip -j -6 addr: flags and lifetimes', () => {
  // Captured from `ip -j -6 addr show dev lo` (iproute2 on this kernel) with an address added
  // `valid_lft 100 preferred_lft 0`.
  const json = '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"addr_info":[' +
    '{"family":"inet6","local":"2001:db8:5::1","prefixlen":64,"scope":"global","deprecated":true,"dynamic":true,"valid_life_time":100,"preferred_life_time":0},' +
    '{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},' +
    '{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]}]';
  assert.deepEqual(parseAddrs6(json), [
    { address: '2001:db8:5::1', prefixLen: 64, scope: 'global', global: true, deprecated: true, tentative: false, dynamic: true, preferredLft: 0, validLft: 100 },
    { address: 'fe80::1', prefixLen: 64, scope: 'link', global: false, deprecated: false, tentative: true, dynamic: false, preferredLft: Infinity, validLft: Infinity },
  ]);
  assert.deepEqual(parseAddrs6(''), []);
  assert.deepEqual(parseAddrs6('[]'), []);
});

test('lab CLI: IPv6 usage errors exit 2 and name the flag; nothing is created', () => {
  const t = tmpDb();
  try {
    const cases: [string[], RegExp][] = [
      [['lab', 'up', '--prefix', 'zu6', '--ipv6', 'dhcp'], /--ipv6 must be one of none, plain, slaac, got "dhcp"/],
      [['lab', 'up', '--prefix', 'zu6', '--ipv6'], /--ipv6 needs a value/],
      [['lab', 'up', '--prefix', 'zu6', '--ipv6', 'plain', '--ipv6-config', 'native'], /--ipv6-config native needs --ipv6 slaac/],
      [['lab', 'up', '--prefix', 'zu6', '--ipv6-config', 'nat66'], /--ipv6-config must be one of none, plain, nptv6, native/],
      [['lab', 'whoami', '--prefix', 'zu6', '--to', '2001:db8::1;reboot'], /--to must be an IPv4 or IPv6 address/],
      [['lab', 'whoami', '--prefix', 'zu6', '--to', 'fe80::1%eth0'], /--to must be an IPv4 or IPv6 address/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args, { LINKWARD_DB: t.db }, '');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  } finally {
    t.cleanup();
  }
});
