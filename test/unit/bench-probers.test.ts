// The probers bench section (bench/probers.ts): its argv, its table, and the package check it
// shares with the Shorewall peer (bench/peer/install.ts). The measurement itself needs root and a
// namespace: `npm run bench -- --only probers`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, proberTable } from '../../bench/probers';
import { ensurePackages, missingPackages } from '../../bench/peer/install';
import { parseBenchArgs } from '../../bench/run';
import type { Runner, RunResult } from '../../agent/system/runner';

function fakeRunner(installed: Set<string>, calls: string[][]): Runner {
  return {
    run: async (argv: string[]): Promise<RunResult> => {
      calls.push(argv);
      if (argv[0] === 'dpkg-query') {
        const p = argv[argv.length - 1];
        return installed.has(p) ? { stdout: 'install ok installed', stderr: '', exitCode: 0 } : { stdout: '', stderr: `dpkg-query: no packages found matching ${p}`, exitCode: 1 };
      }
      return { stdout: '', stderr: '', exitCode: 0 };
    },
    session: () => {
      throw new Error('no sessions here');
    },
    spawn: () => {
      throw new Error('no spawns here');
    },
  };
}

test('probers: every mode probes the 12 loopback targets, per-uplink modes 3 each with mark and interface', () => {
  const byName = new Map(MODES.map((m) => [m.name, m]));
  assert.deepEqual([...byName.keys()], ['12 ping', '4 oping x3', '4 fping -l x3', '1 oping x12', '1 scamper']);
  const targets = (m: (typeof MODES)[number]) => m.argvs.flatMap((a) => a.filter((x) => /^127\.0\.0\.\d+$/.test(x)));
  for (const name of ['12 ping', '4 oping x3', '4 fping -l x3', '1 oping x12']) {
    const t = targets(byName.get(name)!);
    assert.equal(t.length, 12, name);
    assert.equal(new Set(t).size, 12, name);
  }
  for (const argv of byName.get('12 ping')!.argvs) assert.deepEqual(argv.slice(-5), ['-m', '256', '-I', 'lo', argv[argv.length - 1]]);
  for (const argv of byName.get('4 oping x3')!.argvs) {
    assert.equal(argv.filter((x) => x.startsWith('127.')).length, 3);
    assert.ok(argv.includes('-m') && argv.includes('-D'));
  }
  assert.equal(byName.get('1 scamper')!.scamper, true);
  assert.ok(byName.get('12 ping')!.reply.test('[1764770000.123456] 64 bytes from 127.0.0.2: icmp_seq=1 ttl=64 time=0.05 ms'));
  assert.ok(byName.get('4 fping -l x3')!.reply.test('[1764770000.12345] 127.0.0.2 : [0], 64 bytes, 0.05 ms (0.05 avg, 0% loss)'));
});

test('probers: the table prints one row per prober with its ratio', () => {
  const t = proberTable([
    { prober: '12 ping', processes: 12, cpuPct: 0.4, cpuPctRuns: [0.4], ratioToPing: 1, repliesPerS: 46.9 },
    { prober: '4 oping x3', processes: 4, cpuPct: 0.27, cpuPctRuns: [0.27], ratioToPing: 0.68, repliesPerS: 47.9 },
  ]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[3], /^4 oping x3 +4 +0\.27 +0\.68 +47\.9$/);
});

test('probers: a section of its own, in the default run and alone', () => {
  assert.ok(parseBenchArgs([]).only.includes('probers' as never));
  assert.deepEqual(parseBenchArgs(['--only', 'probers']).only, ['probers']);
});

test('package check: only what dpkg does not report installed is missing; nothing missing, no apt', async () => {
  const calls: string[][] = [];
  const r = fakeRunner(new Set(['oping', 'fping']), calls);
  assert.deepEqual(await missingPackages(r, ['oping', 'fping', 'scamper']), ['scamper']);
  calls.length = 0;
  const all = fakeRunner(new Set(['oping', 'fping', 'scamper']), calls);
  assert.deepEqual(await ensurePackages(['oping', 'fping', 'scamper'], 'probers', () => undefined, all), []);
  assert.equal(calls.some((c) => c.includes('apt-get')), false);
  assert.equal(calls.length, 3);
});
