// The boot rulesets on the real kernel, in namespaces (a router between a LAN host and an uplink):
//   - packaging/boot/default.nft (no configuration yet): from the LAN the router's SSH and
//     dashboard ports answer, from the uplink nothing does, and nothing is forwarded even with
//     ip_forward on;
//   - the agent's saved ruleset (agent/bootstate.ts bootRuleset) loads over the default table and
//     over itself, and the agent's first apply takes over a kernel that carries the default.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli';
import { withNetns, realRunner } from '../../agent/system/runner';
import { parseConfig } from '../../lib/validations/config';
import { compile } from '../../lib/compile/compile';
import { gatherFacts } from '../../agent/system/facts';
import { applyPlan } from '../../agent/system/apply';
import { bootRuleset } from '../../agent/bootstate';
import { planMarker } from '../../lib/compile/transaction';

const P = `lwd${(process.pid % 46656).toString(36)}`;
const NS = { lan: `${P}-lan`, rtr: `${P}-rtr`, up: `${P}-up` };
const DEFAULT = path.join(ROOT, 'packaging', 'boot', 'default.nft');
const procs: ReturnType<typeof spawn>[] = [];

function sh(argv: string[], input?: string) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, timeout: 30000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, ...argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);
/** Does a TCP connect from `ns` to addr:port succeed within 1 s? (bash /dev/tcp, no tool needed) */
function connects(ns: string, addr: string, port: number): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'timeout', '1', 'bash', '-c', `exec 3<>/dev/tcp/${addr}/${port}`]).status === 0;
}

after(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
});

test('default boot ruleset: LAN may reach SSH/dashboard, the uplink nothing, no forwarding', async () => {
  for (const ns of Object.values(NS)) { sh(['ip', 'netns', 'add', ns]); sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']); }
  sh(['ip', 'link', 'add', 'lan0', 'netns', NS.rtr, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.lan]);
  sh(['ip', 'link', 'add', 'wan1', 'netns', NS.rtr, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.up]);
  const addr = (ns: string, dev: string, a: string) => { sh(['ip', '-n', ns, 'addr', 'add', a, 'dev', dev]); sh(['ip', '-n', ns, 'link', 'set', dev, 'up']); };
  addr(NS.rtr, 'lan0', '192.168.9.1/24'); addr(NS.lan, 'eth0', '192.168.9.10/24');
  addr(NS.rtr, 'wan1', '198.51.100.2/24'); addr(NS.up, 'eth0', '198.51.100.1/24');
  sh(['ip', '-n', NS.lan, 'route', 'add', 'default', 'via', '192.168.9.1']);
  sh(['ip', '-n', NS.up, 'route', 'add', '192.168.9.0/24', 'via', '198.51.100.2']);
  inNs(NS.rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // listeners: the router's SSH/dashboard ports and one other, a LAN host service
  for (const [ns, port] of [[NS.rtr, 22], [NS.rtr, 443], [NS.rtr, 8080], [NS.lan, 9000]] as const) {
    procs.push(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer((s)=>s.end()).listen(${port})`], { stdio: 'ignore' }));
  }
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(connects(NS.up, '198.51.100.2', 22) && connects(NS.up, '192.168.9.10', 9000), 'without a ruleset everything is open (the test can fail)');

  inNs(NS.rtr, 'nft', '-f', DEFAULT);
  assert.ok(connects(NS.lan, '192.168.9.1', 22), 'LAN → router SSH');
  assert.ok(connects(NS.lan, '192.168.9.1', 443), 'LAN → router dashboard');
  assert.equal(connects(NS.lan, '192.168.9.1', 8080), false, 'LAN → another router port: dropped');
  assert.equal(connects(NS.up, '198.51.100.2', 22), false, 'uplink → router SSH: dropped');
  assert.equal(connects(NS.up, '198.51.100.2', 443), false, 'uplink → router dashboard: dropped');
  assert.equal(connects(NS.up, '192.168.9.10', 9000), false, 'uplink → LAN: not forwarded');
  assert.equal(spawnSync('ip', ['netns', 'exec', NS.lan, 'ping', '-c1', '-W1', '198.51.100.1']).status === 0, false, 'LAN → uplink: not forwarded');
  inNs(NS.rtr, 'nft', '-f', DEFAULT); // loads again over itself (restart of the restore unit)

  // the agent's first apply over the default table, then its boot ruleset over it and over itself
  const runner = withNetns(realRunner, NS.rtr);
  const cfg = parseConfig({ version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.9.1/24' }], uplinks: [{ name: 'up', interface: 'wan1', gateway: '198.51.100.1' }] });
  assert.ok(cfg.ok);
  const plan = compile(cfg.value, { interfaces: await gatherFacts(runner, ['lan0', 'wan1']), health: {} });
  await applyPlan({ runner }, plan);
  const listed = inNs(NS.rtr, 'nft', 'list', 'table', 'inet', 'linkward');
  assert.ok(listed.includes(planMarker(plan)), 'the agent took the table over');
  assert.doesNotMatch(listed, /lw:default/, 'nothing of the default ruleset is left');
  const file = path.join(fs.mkdtempSync('/tmp/lwd-'), 'ruleset.nft');
  fs.writeFileSync(file, bootRuleset(plan, 7));
  inNs(NS.rtr, 'nft', '-f', DEFAULT);
  inNs(NS.rtr, 'nft', '-f', file);
  inNs(NS.rtr, 'nft', '-f', file);
  assert.ok(inNs(NS.rtr, 'nft', 'list', 'table', 'inet', 'linkward').includes(planMarker(plan)));
  assert.ok(connects(NS.up, '192.168.9.10', 9000) === false && connects(NS.lan, '192.168.9.1', 443), 'the saved ruleset filters too');
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
