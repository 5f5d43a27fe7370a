// Diagnostic (not part of `npm run bench`): agent-side CPU per command of the one runner (execa)
// next to bare node:child_process, measured side by side in one run. Commands: `true` and
// `nft -j list counters` on an empty ruleset (or `true` twice if nft is missing).
// Usage: node --import tsx bench/runner-cost.ts [count]
import { realRunner } from '../agent/system/runner';
import { spawn } from 'node:child_process'; // the comparison baseline only (see docs/development.md)

const count = Number(process.argv[2] ?? 300);

function bare(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    c.stdout.resume();
    c.stderr.resume();
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

async function cpuPer(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const u0 = process.cpuUsage();
  for (let i = 0; i < count; i++) await fn();
  const u = process.cpuUsage(u0);
  return (u.user + u.system) / 1000 / count;
}

const argvs = [['true'], ['nft', '-j', 'list', 'counters']];
for (const argv of argvs) {
  const rounds: { execa: number; bare: number }[] = [];
  for (let r = 0; r < 3; r++) {
    rounds.push({ execa: await cpuPer(() => realRunner.run(argv, { allowFail: true })), bare: await cpuPer(() => bare(argv)) });
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
  const e = med(rounds.map((x) => x.execa));
  const b = med(rounds.map((x) => x.bare));
  process.stdout.write(`${argv.join(' ').padEnd(28)} agent CPU per command: execa ${e.toFixed(2)} ms, node:child_process ${b.toFixed(2)} ms, ratio ${(e / b).toFixed(2)}\n`);
}
