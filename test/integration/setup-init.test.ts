// `linkward init` on three namespace "machines" (the real `ip -j`, nft and resolv.conf of each):
//   A: 2 static uplinks (default routes with metrics) + a LAN
//   B: 3 uplinks, one with a DHCP lease (proto dhcp default route, dynamic address), a docker0
//      bridge and a foreign nft table that must be left alone
//   C: a /32 PPP-style uplink (address with a peer, `default dev wan1` like pppd) + a LAN
// and `linkward uninstall` in a namespace that starts with a plain DHCP-style default route:
// after init --apply + agent --once + uninstall, routes, rules, sysctls and nft are as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, tmpDb } from '../helpers/cli';

const P = `lwi${(process.pid % 46656).toString(36)}`;
const created: string[] = [];

function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout: 60000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const ipn = (ns: string, ...a: string[]) => sh(['ip', '-n', ns, ...a]);

function machine(tag: string): string {
  const ns = `${P}-${tag}`;
  const out = `${ns}x`;
  for (const n of [ns, out]) {
    sh(['ip', 'netns', 'add', n]);
    created.push(n);
  }
  ipn(ns, 'link', 'set', 'lo', 'up');
  return ns;
}
/** A veth `ifname` in `ns` whose peer lives in the machine's outside namespace. */
function iface(ns: string, ifname: string, ...addrArgs: string[][]): void {
  const peer = `p${ifname}`.slice(0, 15);
  sh(['ip', 'link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', `${ns}x`]);
  for (const a of addrArgs) ipn(ns, 'addr', 'add', ...a, 'dev', ifname);
  ipn(ns, 'link', 'set', ifname, 'up');
  ipn(`${ns}x`, 'link', 'set', peer, 'up');
}
function resolv(ns: string, text: string): void {
  fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  fs.writeFileSync(`/etc/netns/${ns}/resolv.conf`, text);
}
function lw(ns: string, env: Record<string, string>, ...args: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

after(() => {
  for (const n of created.reverse()) {
    spawnSync('ip', ['netns', 'del', n]);
    fs.rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
  }
});

test('machine A: two static uplinks and a LAN', () => {
  const ns = machine('a');
  iface(ns, 'lan0', ['192.168.1.1/24']);
  iface(ns, 'wan1', ['100.64.1.2/24']);
  iface(ns, 'wan2', ['198.51.100.2/24']);
  ipn(ns, 'route', 'add', 'default', 'via', '100.64.1.1', 'dev', 'wan1', 'metric', '100');
  ipn(ns, 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'wan2', 'metric', '200');
  resolv(ns, 'nameserver 100.64.1.1\n');
  const db = tmpDb('lwinit');
  try {
    const r = lw(ns, { LINKWARD_DB: db.db }, 'init', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.lan, [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }]);
    assert.deepEqual(doc.uplinks.map((u: { interface: string; gateway: string }) => [u.interface, u.gateway]), [['wan1', '100.64.1.1'], ['wan2', '198.51.100.1']]);
    assert.equal(fs.existsSync(db.db), false, '--json stores nothing (not even a database)');
    const human = lw(ns, { LINKWARD_DB: db.db }, 'init');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /Your local network \(LAN\) is lan0 \(192\.168\.1\.1\/24\)/);
    assert.match(human.stdout, /shared evenly between 2 uplinks/);
    assert.match(human.stdout, /default routes stay in place \(default via 100\.64\.1\.1 dev wan1 metric 100 and default via 198\.51\.100\.1 dev wan2 metric 200\)/);
    assert.match(human.stdout, /DNS servers are not changed \(100\.64\.1\.1\)/);
    assert.match(human.stdout, /Nothing stored/);
  } finally {
    db.cleanup();
  }
});

test('machine B: three uplinks, one from DHCP; docker0 and a foreign nft table left alone', () => {
  const ns = machine('b');
  iface(ns, 'lan0', ['10.0.0.1/24']);
  iface(ns, 'wan1', ['198.51.100.2/24']);
  iface(ns, 'wan2', ['100.64.2.2/24', 'valid_lft', '3600', 'preferred_lft', '3600']);
  iface(ns, 'wan3', ['203.0.113.2/24']);
  ipn(ns, 'link', 'add', 'docker0', 'type', 'bridge');
  ipn(ns, 'addr', 'add', '172.17.0.1/16', 'dev', 'docker0');
  ipn(ns, 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'wan1', 'metric', '10');
  ipn(ns, 'route', 'add', 'default', 'via', '100.64.2.1', 'dev', 'wan2', 'proto', 'dhcp', 'metric', '20');
  ipn(ns, 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'wan3', 'metric', '30');
  sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], 'table inet filter { chain input { type filter hook input priority 0; policy accept; }; }\n');
  const db = tmpDb('lwinit');
  try {
    const r = lw(ns, { LINKWARD_DB: db.db }, 'init', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.lan.map((l: { interface: string }) => l.interface), ['lan0']);
    assert.deepEqual(doc.uplinks.map((u: { interface: string; gateway: string }) => [u.interface, u.gateway]), [['wan1', '198.51.100.1'], ['wan2', 'auto'], ['wan3', '203.0.113.1']]);
    const human = lw(ns, { LINKWARD_DB: db.db }, 'init').stdout;
    assert.match(human, /ignored docker0 — container or VM network: not touched/);
    assert.match(human, /Other firewall tables stay as they are: nft table inet filter/);
    assert.match(human, /wan2 100\.64\.2\.2\/24 gateway auto — has a default route; gateway from the DHCP lease/);
  } finally {
    db.cleanup();
  }
});

test('machine C: a /32 PPP-style uplink gets its peer as gateway, and the agent routes through it', () => {
  const ns = machine('c');
  iface(ns, 'lan0', ['192.168.5.1/24']);
  iface(ns, 'wan1', ['100.64.9.2', 'peer', '100.64.9.1']);
  ipn(ns, 'route', 'add', 'default', 'dev', 'wan1');
  const db = tmpDb('lwinit');
  try {
    const r = lw(ns, { LINKWARD_DB: db.db }, 'init', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.uplinks, [{ name: 'wan1', interface: 'wan1', gateway: '100.64.9.1', health: { targets: ['1.1.1.1', '9.9.9.9', '8.8.8.8'] } }]);
    // --apply stores it commit-confirmed; the agent applies it: table 201 routes via the peer, onlink
    const a = lw(ns, { LINKWARD_DB: db.db }, 'init', '--apply');
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /confirm within 300 s with: linkward confirm/);
    const again = lw(ns, { LINKWARD_DB: db.db }, 'init', '--apply');
    assert.equal(again.code, 1, 'a second --apply without --force refuses');
    assert.match(again.stderr, /a configuration exists/);
    const once = lw(ns, { LINKWARD_DB: db.db }, 'agent', '--once');
    assert.equal(once.code, 0, once.stderr);
    assert.match(ipn(ns, 'route', 'show', 'table', '201'), /default via 100\.64\.9\.1 dev wan1 onlink/);
    const st = lw(ns, { LINKWARD_DB: db.db }, 'confirm', '--status');
    assert.match(st.stdout + st.stderr, /pending|confirm/i);
  } finally {
    db.cleanup();
  }
});

test('uninstall puts the machine back: DHCP-style default route, rules, sysctls, no table', () => {
  const ns = machine('u');
  iface(ns, 'lan0', ['192.168.7.1/24']);
  iface(ns, 'eth0', ['192.0.2.2/24']);
  ipn(ns, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'eth0', 'proto', 'dhcp', 'metric', '100');
  sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], 'table ip nat { chain postrouting { type nat hook postrouting priority 100; policy accept; }; }\n');
  const snap = () => ({
    routes: ipn(ns, '-4', '-j', 'route', 'show', 'table', 'all'), // IPv6 link-local routes appear on their own (DAD)
    rules: ipn(ns, '-4', '-j', 'rule', 'show'),
    forward: sh(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.ip_forward']),
    rp: sh(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.conf.all.rp_filter']),
    nft: sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'ruleset']),
  });
  const before = snap();
  const db = tmpDb('lwinit');
  const env = { LINKWARD_DB: db.db, LINKWARD_BOOT_DIR: path.join(db.dir, 'boot') };
  try {
    assert.equal(lw(ns, env, 'init', '--apply', '--confirm-within', '0').code, 0);
    const once = lw(ns, env, 'agent', '--once');
    assert.equal(once.code, 0, once.stderr);
    const during = snap();
    assert.notEqual(during.rules, before.rules, 'the agent added its ip rules');
    assert.match(during.nft, /table inet linkward/);
    assert.equal(during.forward.trim(), '1');
    assert.ok(fs.existsSync(path.join(db.dir, 'boot', 'ruleset.nft')), 'the agent saved the boot ruleset');
    assert.match(ipn(ns, 'route', 'show', 'default'), /default via 192\.0\.2\.1 dev eth0 proto dhcp metric 100/, 'the existing default route is left alone');
    const u = lw(ns, env, 'uninstall', '--yes');
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /removed table inet linkward/);
    assert.deepEqual(snap(), before, 'routes, rules, sysctls and the other tables are as before');
    assert.equal(fs.existsSync(path.join(db.dir, 'boot', 'ruleset.nft')), false, 'the boot ruleset is forgotten');
    assert.equal(lw(ns, env, 'uninstall').code, 2, 'without --yes: usage error');
  } finally {
    db.cleanup();
  }
});
