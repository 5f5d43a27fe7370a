// DHCPv6 prefix delegation (agent/pd.ts): dhcpcd's log lines → delegated prefixes, lost ones kept
// as deprecated, restart after exit, a dhcpcd left by an earlier agent replaced, another left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { parseDhcpcdLine, PrefixDelegation, renderDhcpcdConf, LOST_KEEP_MS } from '../../agent/pd';
import type { Runner, SpawnOptions, SpawnedProcess } from '../../agent/system/runner';

test('dhcpcd log lines (captured from dhcpcd 9.4.1 against kea) are read as lease events', () => {
  assert.deepEqual(parseDhcpcdLine('up0: delegated prefix 2001:db8:100::/56', 'up0'), { kind: 'add', prefix: '2001:db8:100::/56' });
  assert.deepEqual(parseDhcpcdLine('lo: adding reject route to 2001:db8:100::/56', 'up0'), { kind: 'add', prefix: '2001:db8:100::/56' });
  assert.deepEqual(parseDhcpcdLine('lo: deleting reject route to 2001:db8:100::/56', 'up0'), { kind: 'remove', prefix: '2001:db8:100::/56' });
  assert.deepEqual(parseDhcpcdLine('up0: DHCPv6 lease expired', 'up0'), { kind: 'expired' });
  assert.deepEqual(parseDhcpcdLine('dhcpcd already running on pid 4242 (/run/dhcpcd/up0-6.pid)', 'up0'), { kind: 'running', pid: 4242 });
  for (const l of ['up0: failed to renew DHCPv6, rebinding', 'received SIGTERM, stopping', 'up0: removing interface', 'up1: delegated prefix 2001:db8:200::/56', 'up1: DHCPv6 lease expired']) {
    assert.equal(parseDhcpcdLine(l, 'up0'), null, l);
  }
  // only prefixes a router can split into LAN /64s: /32../64, normalized
  assert.equal(parseDhcpcdLine('up0: delegated prefix 2001:db8::/96', 'up0'), null);
  assert.equal(parseDhcpcdLine('up0: delegated prefix 2001:db8:0:0::1/56', 'up0')?.kind, 'add');
  assert.deepEqual(parseDhcpcdLine('up0: delegated prefix 2001:DB8:0100:0::/56', 'up0'), { kind: 'add', prefix: '2001:db8:100::/56' });
  assert.equal(parseDhcpcdLine('up0: delegated prefix ;rm -rf /', 'up0'), null);
  assert.match(renderDhcpcdConf(), /^ipv6only$/m);
  assert.match(renderDhcpcdConf(), /^ia_pd 1$/m);
  assert.match(renderDhcpcdConf(), /^noipv6rs$/m);
});

class FakeProc implements SpawnedProcess {
  done = false;
  killed: string[] = [];
  private resolve!: () => void;
  readonly exited = new Promise<void>((r) => (this.resolve = r));
  constructor(readonly argv: string[], readonly pid: number, readonly opts: SpawnOptions) {}
  line(l: string): void {
    this.opts.onStderrLine?.(l);
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.done) return;
    this.done = true;
    this.opts.onExit?.(code, signal);
    this.resolve();
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.killed.push(signal);
    this.exit(null, signal);
  }
}

function harness() {
  const procs: FakeProc[] = [];
  const runner = {
    run: async () => {
      throw new Error('pd must not run commands');
    },
    session: () => {
      throw new Error('no session');
    },
    spawn: (argv: string[], opts: SpawnOptions = {}) => {
      const p = new FakeProc(argv, 1000 + procs.length, opts);
      procs.push(p);
      return p;
    },
  } as unknown as Runner;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-pd-'));
  const logs: string[] = [];
  const changes: [string, string[]][] = [];
  const pd = new PrefixDelegation(runner, dir, (m) => logs.push(m), (i, p) => changes.push([i, p]));
  return { procs, pd, dir, logs, changes };
}

test('a prefix delegated, renewed with a new one, expired: facts and onChange follow; the old one is kept as lost', async () => {
  const { procs, pd, dir, changes } = harness();
  try {
    pd.configure(['up0', 'bad name;']);
    assert.equal(procs.length, 1, 'one dhcpcd, invalid interface names ignored');
    assert.deepEqual(procs[0].argv, ['dhcpcd', '--nobackground', '--config', path.join(dir, 'dhcpcd.conf'), '--script', '/bin/true', '--ipv6only', 'up0']);
    assert.equal(fs.readFileSync(path.join(dir, 'dhcpcd.conf'), 'utf8'), renderDhcpcdConf());
    assert.deepEqual(pd.facts('up0'), []);
    assert.equal(pd.facts('up1'), undefined);
    procs[0].line('up0: delegated prefix 2001:db8:100::/56');
    procs[0].line('lo: adding reject route to 2001:db8:100::/56');
    assert.deepEqual(changes, [['up0', ['2001:db8:100::/56']]], 'one change for the two lines');
    assert.deepEqual(pd.facts('up0'), [{ prefix: '2001:db8:100::/56' }]);
    // the ISP renumbers
    procs[0].line('up0: delegated prefix 2001:db8:300::/56');
    procs[0].line('lo: adding reject route to 2001:db8:300::/56');
    procs[0].line('lo: deleting reject route to 2001:db8:100::/56');
    assert.deepEqual(pd.facts('up0'), [{ prefix: '2001:db8:300::/56' }, { prefix: '2001:db8:100::/56', lost: true }]);
    procs[0].line('up0: DHCPv6 lease expired');
    assert.deepEqual(pd.facts('up0'), [{ prefix: '2001:db8:100::/56', lost: true }, { prefix: '2001:db8:300::/56', lost: true }]);
    assert.equal(pd.facts('up0', Date.now() + LOST_KEEP_MS + 1000)!.length, 0, 'lost prefixes are forgotten after LOST_KEEP_MS');
    assert.deepEqual(changes.at(-1), ['up0', []]);
    // a prefix delegated again is no longer lost
    procs[0].line('up0: delegated prefix 2001:db8:300::/56');
    assert.deepEqual(pd.facts('up0'), [{ prefix: '2001:db8:300::/56' }]);
  } finally {
    await pd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(procs[0].killed, ['SIGTERM'], 'stop() ends dhcpcd');
});

test('dhcpcd exits: prefixes dropped (kept as lost), restarted with backoff; unconfigured: killed; another dhcpcd not ours left alone', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { procs, pd, logs } = harness();
  try {
    pd.configure(['up0']);
    procs[0].line('up0: delegated prefix 2001:db8:100::/56');
    procs[0].exit(1);
    assert.deepEqual(pd.facts('up0'), [{ prefix: '2001:db8:100::/56', lost: true }]);
    assert.equal(procs.length, 1);
    t.mock.timers.tick(1000);
    assert.equal(procs.length, 2, 'restarted after 1 s');
    procs[1].exit(1);
    t.mock.timers.tick(1999);
    assert.equal(procs.length, 2);
    t.mock.timers.tick(1);
    assert.equal(procs.length, 3, 'then after 2 s');
    // another dhcpcd already holds it: pid 1 is not a dhcpcd with our config → left alone, 30 s
    procs[2].line('dhcpcd already running on pid 1 (/run/dhcpcd/up0-6.pid)');
    procs[2].exit(1);
    assert.ok(logs.some((l) => /another dhcpcd \(pid 1\).*left alone/.test(l)), logs.join('\n'));
    t.mock.timers.tick(29999);
    assert.equal(procs.length, 3);
    t.mock.timers.tick(1);
    assert.equal(procs.length, 4);
    pd.configure([]);
    assert.deepEqual(procs[3].killed, ['SIGTERM'], 'an uplink no longer "auto": its dhcpcd is stopped');
    assert.equal(pd.facts('up0'), undefined);
    t.mock.timers.tick(60000);
    assert.equal(procs.length, 4, 'and not restarted');
  } finally {
    await pd.stop();
  }
});
