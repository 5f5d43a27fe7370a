// `linkward import docs/example.json && linkward plan` prints a plan that `nft -c` accepts —
// checked inside a fresh network namespace (where the example's interfaces do not exist, so the
// facts are unresolved and the plan must say so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, tmpDb, ROOT, BIN } from '../helpers/cli';
import { withNetns, realRunner } from '../../agent/system/runner';

test('import the example, plan in a fresh namespace, nft -c accepts the transaction', async () => {
  const t = tmpDb();
  const ns = `lwt${process.pid}plan`;
  await realRunner.run(['ip', 'netns', 'add', ns]);
  try {
    const env = { LINKWARD_DB: t.db };
    assert.equal(cli(['import', path.join(ROOT, 'docs', 'example.json')], env).code, 0);
    const plan = spawnSync('ip', ['netns', 'exec', ns, process.execPath, BIN, 'plan', '--json', '--transaction'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
    assert.equal(plan.status, 0, plan.stderr);
    const p = JSON.parse(plan.stdout) as { nft: string; routes: unknown[]; rules: { priority: number }[]; sysctls: Record<string, string>; unresolved: string[] };
    assert.ok(p.unresolved.some((u) => /eth1/.test(u)), `unresolved facts listed: ${p.unresolved.join(' | ')}`);
    assert.match(p.nft, /table inet linkward/);
    assert.equal(p.sysctls['net.ipv4.ip_forward'], '1');
    assert.ok(p.rules.some((r) => r.priority === 10000), 'suppress_prefixlength rule planned');
    const check = await withNetns(realRunner, ns).run(['nft', '-c', '-f', '-'], { input: p.nft, allowFail: true });
    assert.equal(check.exitCode, 0, `nft -c rejected the plan: ${check.stderr}`);
    // The human-readable plan names the same things.
    const human = cli(['plan', '--no-kernel'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /# --- nftables ---/);
    assert.match(human.stdout, /counter name "lw_r_no_telnet"/);
    assert.match(human.stdout, /ip -4 rule add priority 10000 lookup main suppress_prefixlength 0/);
  } finally {
    await realRunner.run(['ip', 'netns', 'del', ns], { allowFail: true });
    t.cleanup();
  }
});
