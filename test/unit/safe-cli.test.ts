// Issue 8 through the real CLI (bin/linkward.js, temp database): history, show, diff, restore,
// confirm, anti-lockout refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, tmpDb } from '../helpers/cli';

const base = { version: 1, lan: [{ name: 'lan', interface: 'lan0', address: '192.168.1.1/24' }], uplinks: [{ name: 'isp1', interface: 'wan1' }] };
const withRule = { ...base, rules: [{ name: 'no-telnet', chain: 'forward', action: 'drop', protocol: 'tcp', port: 23 }] };

test('history, show, diff, restore, confirm and the lockout refusal', () => {
  const t = tmpDb('lw-safecli');
  const env = { LINKWARD_DB: t.db, SUDO_USER: 'alice' };
  try {
    assert.equal(cli(['import', '-'], env, JSON.stringify(base)).code, 0);
    assert.equal(cli(['import', '-', '--confirm-within', '30'], env, JSON.stringify(withRule)).code, 0);
    const lock = cli(['import', '-'], env, JSON.stringify({ ...base, rules: [{ name: 'x', chain: 'input', action: 'reject', protocol: 'tcp', port: '2000-4000' }] }));
    assert.equal(lock.code, 1);
    assert.match(lock.stderr, /rules\[0\]: would block the dashboard \(tcp 3000\) from the LAN; set firewall\.allowLockout to override/);
    const noLan = cli(['import', '-'], env, JSON.stringify({ ...base, lan: [] }));
    assert.equal(noLan.code, 1);
    assert.match(noLan.stderr, /lan: removes every LAN network/);

    const h = JSON.parse(cli(['history', '--json'], env).stdout) as { id: number; author: string; source: string; summary: string; confirmWithin: number | null }[];
    assert.deepEqual(h.map((r) => [r.id, r.author, r.source, r.summary, r.confirmWithin]), [
      [2, 'cli:alice', 'cli', 'adds rule no-telnet', 30],
      [1, 'cli:alice', 'cli', 'initial configuration', null],
    ]);
    assert.match(cli(['history'], env).stdout, /cli:alice\s+cli\s+adds rule no-telnet {2}\[confirm within 30s\]/);
    assert.equal(JSON.parse(cli(['history', 'show', '2'], env).stdout).rules[0].name, 'no-telnet');
    const d = cli(['history', 'diff', '1', '2'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /\+\s+"name": "no-telnet"/);
    const dp = cli(['history', 'diff', '1', '2', '--plan'], env);
    assert.match(dp.stdout, /\+\s+tcp dport 23 counter name "lw_r_no_telnet" drop/);

    assert.match(cli(['confirm', '--status'], env).stdout, /revision 2 awaits confirmation: not applied yet/);
    const c = cli(['confirm'], env);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /confirmed revision 2 \(before the agent applied it\)/);
    assert.equal(cli(['confirm'], env).code, 1);

    const r = cli(['restore', '1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stored revision 3: restores revision 1: removes rule no-telnet/);
    const h2 = JSON.parse(cli(['history', '--json'], env).stdout) as { id: number; source: string }[];
    assert.equal(h2[0].source, 'restore');
    assert.equal(cli(['restore', '99'], env).code, 1);
    assert.deepEqual(JSON.parse(cli(['export'], env).stdout).rules, []);
  } finally {
    t.cleanup();
  }
});
