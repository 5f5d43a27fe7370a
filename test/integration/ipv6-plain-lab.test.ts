// Issue 14, first: today's IPv4-only config document, unchanged, on a router whose interfaces
// carry IPv6 (a routed LAN prefix 2001:db8:100::/64, isp1 with an IPv6 default route). After the
// agent applies it, IPv6 keeps working: neighbor discovery on every interface, the LAN reaches
// the IPv6 Internet (routed, no NAT), the router reaches its ISP; the Internet cannot open
// connections to the LAN nor to closed router ports. Real kernel, the lab's 'plain' IPv6.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setupLab, type LabEnv } from '../helpers/lab';
import { tcpWhoAmI, labExec } from '../../lab/lab';
import { SERVER_ADDR6, LAN_HOST_ADDR6, LAN_ROUTER_ADDR6, LAB_INTERNET6 } from '../../lab/plan';
import { saveConfig } from '../../lib/store/revisions';
import { disconnect } from '../../lib/db/prisma';
import { realRunner, withNetns } from '../../agent/system/runner';

let L: LabEnv;
const ping6 = async (role: string, dst: string) => (await labExec(L.prefix, role, ['ping', '-6', '-n', '-c', '1', '-W', '2', dst], { allowFail: true })).exitCode === 0;

before(async () => {
  L = await setupLab('v6p', 2, { ipv6: 'plain' });
  const doc = JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8'));
  assert.ok(!JSON.stringify(doc).includes('ipv6'), 'an IPv4-only document');
  // the lab's IPv6 Internet is documentation space (a bogon): listed as an exception, so the
  // "Internet cannot open connections" checks below are about the firewall, not the bogon filter
  doc.firewall.antiSpoof.exceptions.push(...LAB_INTERNET6);
  const r = await saveConfig(doc, { author: 'test', source: 'cli' });
  assert.ok(r.ok, JSON.stringify(r));
  const a = L.agent();
  const res = await a.runOnce();
  assert.equal(res.ok, true, res.error);
});

after(async () => {
  await disconnect();
  await L?.cleanup();
});

test('after apply: neighbor discovery works on every interface, the router reaches its ISP over IPv6', async () => {
  const R = withNetns(realRunner, L.lab.namespaces.router);
  const policy = (await R.run(['nft', 'list', 'chain', 'inet', 'linkward', 'input'])).stdout;
  assert.match(policy, /policy drop/, 'the input policy is drop');
  assert.ok(await ping6('router', '2001:db8:1::1'), 'router → isp1 gateway (uplink ND)');
  assert.ok(await ping6('lan', LAN_ROUTER_ADDR6), 'LAN host → router (LAN ND, echo)');
  assert.ok(await ping6('isp1', '2001:db8:1::2'), 'isp1 → router wan1 (echo-request is in icmpv6In)');
  const neigh = (await R.run(['ip', '-6', 'neigh', 'show', 'dev', 'wan1'])).stdout;
  assert.match(neigh, /2001:db8:1::1 .*(REACHABLE|STALE|DELAY|PROBE)/, `ND entry for the gateway: ${neigh}`);
});

test('the LAN reaches the IPv6 Internet, routed with its own address (no NAT)', async () => {
  const seen = await tcpWhoAmI(L.prefix, 'lan', SERVER_ADDR6, 80, { timeoutMs: 3000 });
  assert.equal(seen?.ip, LAN_HOST_ADDR6);
});

test('the Internet cannot open connections to the LAN, nor to closed router ports', async () => {
  assert.equal(await tcpWhoAmI(L.prefix, 'net', LAN_HOST_ADDR6, 80, { timeoutMs: 1500 }), null, 'Internet → LAN host refused');
  assert.equal(await tcpWhoAmI(L.prefix, 'net', '2001:db8:1::2', 2300, { timeoutMs: 1500 }), null, 'Internet → closed router port');
  const drops = (await withNetns(realRunner, L.lab.namespaces.router).run(['nft', '-j', 'list', 'counter', 'inet', 'linkward', 'lw_b_drop_forward'])).stdout;
  assert.match(drops, /"packets": [1-9]/, 'dropped by the forward policy (counted)');
});
