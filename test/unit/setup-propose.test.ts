// The first-run proposal (lib/setup/propose.ts) and the certificate's names (lib/setup/tls.ts),
// pure: machine facts in, document + summary out. The same machines on the real kernel:
// test/integration/setup-init.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proposeConfig, ipv4Class } from '../../lib/setup/propose';
import { machineFromTexts, type MachineFacts, type MachineIface } from '../../lib/setup/machine';
import { certNames, subjectAltName } from '../../lib/setup/tls';
import { parseConfig } from '../../lib/validations/config';

const ifc = (name: string, addrs: [string, number, Partial<{ peer: string; dynamic: boolean }>?][], extra: Partial<MachineIface> = {}): MachineIface => ({
  name, linkType: 'ether', kind: '', up: true, carrier: true,
  addresses: addrs.map(([address, prefix, o]) => ({ family: address.includes(':') ? 6 : 4, address, prefix, dynamic: o?.dynamic ?? false, scope: 'global', ...(o?.peer ? { peer: o.peer } : {}) })),
  ...extra,
});
const machine = (interfaces: MachineIface[], routes: MachineFacts['routes'], more: Partial<MachineFacts> = {}): MachineFacts =>
  ({ hostname: 'router', interfaces, routes, dns: [], nftTables: [], iptablesTables: [], ...more });

test('two uplinks with default routes and a private LAN', () => {
  const p = proposeConfig(machine(
    [ifc('lo', [['127.0.0.1', 8]], { linkType: 'loopback' }), ifc('eth0', [['192.168.1.1', 24]]), ifc('eth1', [['100.64.1.2', 24]]), ifc('eth2', [['198.51.100.2', 24]])],
    [{ family: 4, dst: 'default', gateway: '100.64.1.1', dev: 'eth1', metric: 100 }, { family: 4, dst: 'default', gateway: '198.51.100.1', dev: 'eth2', metric: 200 }],
  ));
  assert.deepEqual(p.config.lan, [{ name: 'lan', interface: 'eth0', address: '192.168.1.1/24' }]);
  const health = { targets: ['1.1.1.1', '9.9.9.9', '8.8.8.8'] };
  assert.deepEqual(p.config.uplinks, [{ name: 'eth1', interface: 'eth1', gateway: '100.64.1.1', health }, { name: 'eth2', interface: 'eth2', gateway: '198.51.100.1', health }]);
  assert.match(p.summary.join('\n'), /checked by pinging 1\.1\.1\.1, 9\.9\.9\.9 and 8\.8\.8\.8/);
  assert.ok(parseConfig(p.config).ok);
  assert.deepEqual(p.warnings, []);
});

test('DHCP lease → gateway auto; a public address without default route is still an uplink (gateway unknown: warned)', () => {
  const p = proposeConfig(machine(
    [ifc('lan0', [['10.1.0.1', 16]]), ifc('wan1', [['100.64.2.2', 24, { dynamic: true }]]), ifc('wan2', [['203.0.113.9', 29]])],
    [{ family: 4, dst: 'default', gateway: '100.64.2.1', dev: 'wan1', protocol: 'dhcp' }],
  ));
  assert.deepEqual(p.uplinks.map((u) => [u.interface, u.gateway]), [['wan1', 'auto'], ['wan2', 'auto']]);
  assert.equal(p.warnings.length, 1);
  assert.match(p.warnings[0], /wan2: no gateway found/);
});

test('a /32 with a peer (PPP) gets the peer as gateway; a private DHCP uplink (modem NAT) is an uplink, not a LAN', () => {
  const p = proposeConfig(machine(
    [ifc('ppp0', [['100.64.9.2', 32, { peer: '100.64.9.1' }]], { linkType: 'ppp' }), ifc('eth1', [['192.168.0.23', 24, { dynamic: true }]]), ifc('br0', [['192.168.8.1', 24]], { kind: 'bridge' }), ifc('eth2', [], { master: 'br0' })],
    [{ family: 4, dst: 'default', dev: 'ppp0', protocol: 'boot' }, { family: 4, dst: 'default', gateway: '192.168.0.1', dev: 'eth1', protocol: 'dhcp', metric: 1024 }],
  ));
  assert.deepEqual(p.uplinks.map((u) => [u.interface, u.gateway]), [['eth1', 'auto'], ['ppp0', '100.64.9.1']]);
  assert.deepEqual(p.lan.map((l) => l.interface), ['br0'], 'the bridge is the LAN; its port is not listed');
  assert.ok(parseConfig(p.config).ok);
});

test('container, VPN and unaddressed interfaces are left alone and listed; foreign tables, routes and DNS are kept', () => {
  const p = proposeConfig(machine(
    [ifc('eth0', [['192.168.1.1', 24]]), ifc('eth1', [['198.51.100.2', 24]]), ifc('docker0', [['172.17.0.1', 16]], { kind: 'bridge' }), ifc('wg0', [['10.9.0.1', 24]], { kind: 'wireguard', linkType: 'none' }), ifc('eth3', [], { up: false })],
    [{ family: 4, dst: 'default', gateway: '198.51.100.1', dev: 'eth1', protocol: 'dhcp' }, { family: 6, dst: 'default', gateway: 'fe80::1', dev: 'eth1', protocol: 'ra' }],
    { dns: ['198.51.100.53'], nftTables: ['inet filter', 'ip nat'], iptablesTables: ['filter'] },
  ));
  assert.deepEqual(p.ignored.map((x) => x.interface).sort(), ['docker0', 'eth3', 'wg0']);
  assert.deepEqual(p.kept.nftTables, ['inet filter', 'ip nat']);
  assert.equal(p.kept.defaultRoutes.length, 2);
  const text = p.summary.join('\n');
  assert.match(text, /Other firewall tables stay as they are: nft table inet filter, nft table ip nat and iptables table filter/);
  assert.match(text, /DNS servers are not changed \(198\.51\.100\.53\)/);
  assert.match(text, /All traffic leaves through eth1 \(gateway from DHCP\)/);
});

test('no uplink / no LAN are warned; names are valid config names; health targets and the dashboard port are carried', () => {
  assert.match(proposeConfig(machine([ifc('eth0', [['192.168.1.1', 24]])], [])).warnings.join(), /no uplink found/);
  const p = proposeConfig(machine([ifc('enp0s31f6', [['192.168.1.1', 24]]), ifc('0wan', [['198.51.100.2', 24]])], [{ family: 4, dst: 'default', gateway: '198.51.100.1', dev: '0wan' }]), { healthTargets: ['192.0.2.53'], dashboardPort: 443 });
  assert.deepEqual(p.config.uplinks, [{ name: 'uplink-0wan', interface: '0wan', gateway: '198.51.100.1', health: { targets: ['192.0.2.53'] } }]);
  assert.deepEqual(p.config.firewall, { dashboardPort: 443 });
  assert.ok(parseConfig(p.config).ok);
  assert.equal(ipv4Class('100.100.1.1'), 'cgnat');
  assert.equal(ipv4Class('172.31.0.1'), 'private');
  assert.equal(ipv4Class('172.32.0.1'), 'public');
});

test('machineFromTexts reads ip -j output: peer, dynamic lifetime, linkinfo kind, master, multipath hops', () => {
  const m = machineFromTexts({
    hostname: 'r1',
    links: JSON.stringify([{ ifname: 'lo', flags: ['LOOPBACK', 'UP'], link_type: 'loopback' }, { ifname: 'ppp0', flags: ['UP', 'LOWER_UP'], link_type: 'ppp' }, { ifname: 'eth2', flags: ['UP'], link_type: 'ether', master: 'br0', linkinfo: { info_slave_kind: 'bridge' } }, { ifname: 'br0', flags: ['UP'], link_type: 'ether', linkinfo: { info_kind: 'bridge' } }]),
    addrs: JSON.stringify([{ ifname: 'ppp0', addr_info: [{ family: 'inet', local: '100.64.9.2', address: '100.64.9.1', prefixlen: 32, scope: 'global', valid_life_time: 4294967295 }] }, { ifname: 'br0', addr_info: [{ family: 'inet', local: '192.168.8.1', prefixlen: 24, scope: 'global', dynamic: true, valid_life_time: 3000 }] }]),
    routes4: JSON.stringify([{ dst: 'default', nexthops: [{ gateway: '1.1.1.1', dev: 'a' }, { gateway: '2.2.2.2', dev: 'b' }] }, { dst: 'blackhole 10.0.0.0/8', type: 'blackhole' }]),
    routes6: '[]',
    nftTables: JSON.stringify({ nftables: [{ metainfo: {} }, { table: { family: 'inet', name: 'linkward' } }, { table: { family: 'ip', name: 'nat' } }] }),
    iptablesNames: 'filter\nnat\n',
    resolvConf: '# x\nnameserver 192.0.2.53\nnameserver bad;rm\nsearch lan\n',
  });
  assert.deepEqual(m.interfaces.find((i) => i.name === 'ppp0')!.addresses[0], { family: 4, address: '100.64.9.2', prefix: 32, dynamic: false, scope: 'global', peer: '100.64.9.1' });
  assert.equal(m.interfaces.find((i) => i.name === 'br0')!.addresses[0].dynamic, true);
  assert.equal(m.interfaces.find((i) => i.name === 'eth2')!.master, 'br0');
  assert.deepEqual(m.routes.map((r) => r.dev), ['a', 'b']);
  assert.deepEqual(m.nftTables, ['ip nat'], 'our own table is not listed as foreign');
  assert.deepEqual(m.iptablesTables, ['filter', 'nat']);
  assert.deepEqual(m.dns, ['192.0.2.53']);
});

test('certificate names: the LAN addresses, host names, loopback; nothing else', () => {
  const m = machine([ifc('lan0', [['192.168.1.1', 24], ['fd00:1::1', 64]]), ifc('wan1', [['198.51.100.2', 24]])], [{ family: 4, dst: 'default', gateway: '198.51.100.1', dev: 'wan1' }], { hostname: 'gw.example' });
  const n = certNames(m, null);
  assert.deepEqual(n.ips.sort(), ['127.0.0.1', '192.168.1.1', '::1', 'fd00:1::1'].sort());
  assert.deepEqual(n.dns, ['localhost', 'gw.example', 'gw', 'gw.local', 'gw.lan']);
  assert.equal(subjectAltName({ dns: ['ok', 'bad,DNS:x'], ips: ['1.2.3.4', '1.2.3.4,IP:5.6.7.8'] }), 'DNS:ok,IP:1.2.3.4');
  assert.deepEqual(certNames(m, ['wan1']).ips.sort(), ['127.0.0.1', '198.51.100.2', '::1'].sort(), 'a configured LAN decides');
});
