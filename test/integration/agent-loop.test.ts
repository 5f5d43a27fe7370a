// The long-running agent (a real process in the lab's router namespace): it follows new
// revisions, keeps counters fresh, restores routes after link changes (ifup, DHCP renew), and a
// kill -9 at any moment never leaves a half-applied nft table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setupLab, type LabEnv } from '../helpers/lab';
import { cli, BIN } from '../helpers/cli';
import { withNetns, realRunner } from '../../agent/system/runner';
import { tcpWhoAmIMany } from '../../lab/lab';
import { waitUntil } from '../helpers/wait';

let L: LabEnv;
let agent: ChildProcess | null = null;
const ns = () => L.lab.namespaces.router;

function startAgent(): ChildProcess {
  // a short drift-check period: the drift test below waits for it
  const p = spawn('ip', ['netns', 'exec', ns(), process.execPath, BIN, 'agent'], { env: { ...process.env, ...L.env, LINKWARD_RESYNC_MS: '1500' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  p.on('exit', (code, sig) => {
    if (code && code !== 0) process.stderr.write(`agent exited ${code} ${sig}: ${err}\n`);
  });
  return p;
}

async function stopAgent(sig: NodeJS.Signals = 'SIGTERM') {
  if (!agent) return;
  const p = agent;
  agent = null;
  const done = new Promise((r) => p.once('exit', r));
  p.kill(sig);
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
}

function state() {
  return L.db.prepare('SELECT * FROM AgentState WHERE id = 1').get() as { appliedRevision: number | null; applyError: string | null; heartbeatAt: number | null };
}

const waitFor = <T>(what: string, fn: () => T | Promise<T>, ms = 20000) => waitUntil(what, fn, ms, 100);

function importDoc(doc: unknown): number {
  const r = cli(['import', '-', '--json'], L.env, JSON.stringify(doc));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).revision;
}

const routesOf = async (table: number) => (await withNetns(realRunner, ns()).run(['ip', '-j', '-4', 'route', 'show', 'table', String(table)])).stdout;

before(async () => {
  L = await setupLab('lp', 2);
  importDoc(JSON.parse(fs.readFileSync(L.lab.configPath, 'utf8')));
  agent = startAgent();
  await waitFor('first apply', () => state()?.appliedRevision === 1);
});

after(async () => {
  await stopAgent();
  await L?.cleanup();
});

test('a new revision is applied by the running agent', async () => {
  const doc = JSON.parse(cli(['export'], L.env).stdout);
  doc.rules.push({ name: 'watch-me', chain: 'input', action: 'drop', protocol: 'udp', port: 5555 });
  const t0 = Date.now();
  const rev = importDoc(doc);
  await waitFor('revision applied', () => state().appliedRevision === rev);
  process.stderr.write(`  revision ${rev} applied ${Date.now() - t0} ms after import returned\n`);
  const list = (await withNetns(realRunner, ns()).run(['nft', 'list', 'chain', 'inet', 'linkward', 'input'])).stdout;
  assert.match(list, /comment "lw:rule:watch-me"/);
});

test('counters are refreshed every ~2 s while watched and sampled for history', async () => {
  // What an open dashboard does (lib/web/watch): without it the agent reads every 10 s.
  L.db.prepare("INSERT INTO Watch (name, until) VALUES ('counters', ?) ON CONFLICT(name) DO UPDATE SET until = excluded.until").run(Date.now() + 60000);
  const get = () => L.db.prepare("SELECT packets, updatedAt FROM Counter WHERE name = 'lw_b_lan_out'").get() as { packets: number; updatedAt: number } | undefined;
  const first = await waitFor('counter row', get);
  await tcpWhoAmIMany(L.prefix, 'lan', '203.0.113.80', 80, 10);
  const later = await waitFor('counter rises', () => {
    const c = get();
    return c && c.packets > first.packets ? c : null;
  }, 8000);
  assert.ok(later.updatedAt > first.updatedAt);
  // Heartbeat stays fresh; a history sample exists (one every 10 s).
  await waitFor('a sample', () => (L.db.prepare("SELECT COUNT(*) AS n FROM CounterSample WHERE name = 'lw_b_lan_out'").get() as { n: number }).n >= 1, 15000);
  assert.ok(Date.now() - (state().heartbeatAt ?? 0) < 5000, 'heartbeat within 5 s');
});

test('link down/up and a DHCP renew restore the uplink routes without a restart', async () => {
  const t201 = await routesOf(201);
  const t202 = await routesOf(202);
  assert.match(t201, /"dst":"default"/);
  assert.match(t202, /"dst":"default"/);
  // ifdown/ifup of wan1 (explicit gateway): the kernel drops its routes; the agent re-adds them.
  await withNetns(realRunner, ns()).run(['ip', 'link', 'set', 'wan1', 'down']);
  await waitFor('routes gone with the link', async () => !/"dst":"default"/.test(await routesOf(201)));
  await withNetns(realRunner, ns()).run(['ip', 'link', 'set', 'wan1', 'up']);
  await waitFor('table 201 restored', async () => (await routesOf(201)) === t201, 15000);
  // wan2 learns its gateway from DHCP (main-table default route): after a flap the gateway is
  // unknown until the "DHCP client" re-adds the default route; then everything comes back.
  await withNetns(realRunner, ns()).run(['ip', 'link', 'set', 'wan2', 'down']);
  await withNetns(realRunner, ns()).run(['ip', 'link', 'set', 'wan2', 'up']);
  await new Promise((r) => setTimeout(r, 1500));
  assert.doesNotMatch(await routesOf(202), /"dst":"default"/, 'no gateway known yet');
  await withNetns(realRunner, ns()).run(['ip', 'route', 'replace', 'default', 'via', '100.64.2.1', 'dev', 'wan2', 'metric', '102']);
  await waitFor('table 202 restored after the DHCP renew', async () => (await routesOf(202)) === t202, 15000);
  // Traffic uses both uplinks again (once both are back up: upAfter good rounds after the flap).
  await waitFor('both uplinks up', () => (L.db.prepare("SELECT COUNT(*) FROM UplinkStatus WHERE state = 'up'").pluck().get() as number) === 2, 15000);
  // the state rows show the verdict before the agent's apply acts on it: bounded retries
  let ips = new Set<string | undefined>();
  await waitFor('both uplinks carry traffic', async () => {
    ips = new Set((await tcpWhoAmIMany(L.prefix, 'lan', '203.0.113.80', 80, 60)).map((r) => r?.ip));
    return ips.has('100.64.1.2') && ips.has('100.64.2.2');
  }, 10000).catch(() => assert.fail(`both uplinks carry traffic (${[...ips]})`));
});

test('changes behind the agent\'s back (nft monitor, ip monitor events) are repaired by the next drift check', async () => {
  const r = withNetns(realRunner, ns());
  const maxEvent = () => L.db.prepare('SELECT COALESCE(MAX(id), 0) FROM Event').pluck().get() as number;
  await new Promise((res) => setTimeout(res, 4000)); // monitors settled, a quiet verification done
  const e0 = maxEvent();
  await r.run(['nft', 'add', 'rule', 'inet', 'linkward', 'forward', 'counter', 'comment', '"foreign"']);
  await waitFor('foreign rule removed', async () => !/foreign/.test((await r.run(['nft', 'list', 'chain', 'inet', 'linkward', 'forward'])).stdout), 15000);
  const msgs = () => L.db.prepare('SELECT message FROM Event WHERE id > ?').pluck().all(e0) as string[];
  await waitFor('the repair event', () => msgs().some((m) => /periodic resync \(after nft monitor: our table\).*nft table/.test(m)), 5000).catch(() => assert.fail(msgs().join('\n')));
  // a route of ours deleted by hand: the ip monitor event leads to the repair
  await new Promise((res) => setTimeout(res, 3000));
  const e1 = maxEvent();
  await r.run(['ip', 'route', 'del', 'default', 'table', '202']);
  await waitFor('route restored', async () => /"dst":"default"/.test(await routesOf(202)), 15000);
  const m2 = () => L.db.prepare('SELECT message FROM Event WHERE id > ?').pluck().all(e1) as string[];
  await waitFor('the repair event', () => m2().some((m) => /periodic resync \(after route\/rule\).*route ops/.test(m)), 5000).catch(() => assert.fail(m2().join('\n')));
});

test('kill -9 at random moments never leaves a half-applied nft table; the next start converges', async () => {
  await stopAgent();
  const base = JSON.parse(cli(['export'], L.env).stdout);
  const variant = (tag: string, n: number) => ({ ...base, rules: Array.from({ length: n }, (_, i) => ({ name: `${tag}${i}`, chain: 'forward', action: 'drop', protocol: 'tcp', port: 10000 + i })) });
  // the whole table: with more than 64 rules the forward chain jumps to group chains (rules_forward_*)
  const names = async () => {
    const r = await withNetns(realRunner, ns()).run(['nft', 'list', 'table', 'inet', 'linkward']);
    return [...r.stdout.matchAll(/comment "lw:rule:([a-z0-9-]+)"/g)].map((m) => m[1]).sort();
  };
  const expect = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`).sort();
  // what the kernel holds before (a kill before the first --once applied leaves it): whole too
  const sets = [expect('a', 300), expect('b', 50), await names()];
  for (let i = 0; i < 12; i++) {
    const tag = i % 2 === 0 ? 'a' : 'b';
    importDoc(variant(tag, tag === 'a' ? 300 : 50));
    const p = spawn('ip', ['netns', 'exec', ns(), process.execPath, BIN, 'agent', '--once', '--quiet'], { env: { ...process.env, ...L.env }, stdio: 'ignore' });
    const delay = 300 + Math.floor(Math.random() * 900); // CLI start-up is ~0.6-1 s: land around the apply
    await new Promise((r) => setTimeout(r, delay));
    const exited = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    const have = await names();
    const whole = sets.some((s) => JSON.stringify(s) === JSON.stringify(have));
    assert.ok(whole, `after kill at ${delay} ms the forward chain is one whole revision (got ${have.length} rules)`);
  }
  // Converge: the next run completes, and a further run changes nothing.
  const r1 = spawnSync('ip', ['netns', 'exec', ns(), process.execPath, BIN, 'agent', '--once'], { env: { ...process.env, ...L.env }, encoding: 'utf8', timeout: 60000 });
  assert.equal(r1.status, 0, r1.stderr);
  assert.deepEqual(await names(), sets[1], 'last revision (b) fully applied');
  const r2 = spawnSync('ip', ['netns', 'exec', ns(), process.execPath, BIN, 'agent', '--once'], { env: { ...process.env, ...L.env }, encoding: 'utf8', timeout: 60000 });
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /kernel already up to date/);
  assert.ok((await routesOf(201)).includes('"dst":"default"'), 'routes converged');
});
