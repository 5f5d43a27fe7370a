// Diagnostic: the idle agent of this checkout vs another one, alternating in one run (same lab
// set-up: 4 uplinks, 1 000 rules, probes every 250 ms).
//   node --import tsx bench/idle-ab.ts <other-entry.mjs> [seconds=30] [pairs=3] [--no-health]
// <other-entry.mjs> starts the other checkout's agent, e.g. a two-line file:
//   process.argv.splice(2, 0, 'agent'); await import('/tmp/ab-old/bin/linkward.js');
import { benchLab } from './env';
import { footprintBench } from './footprint';
import { median } from './stats';

const [other, secs, n] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!other) throw new Error('usage: bench/idle-ab.ts <other-entry.mjs> [seconds] [pairs] [--no-health]');
const seconds = Number(secs ?? 30);
const pairs = Number(n ?? 3);
const agentArgs = process.argv.includes('--no-health') ? ['--no-health'] : [];
const totals: Record<'this' | 'other', number[]> = { this: [], other: [] };
for (let i = 0; i < pairs; i++) {
  for (const who of (i % 2 ? ['other', 'this'] : ['this', 'other']) as ('this' | 'other')[]) {
    const L = await benchLab('ab', 4);
    try {
      const r = await footprintBench(L, { seconds, warmupS: 10, rules: 1000, log: () => undefined, agentArgs, bundle: who === 'other' ? other : undefined });
      const t = Math.round((r.agentCpuPct + r.childrenCpuPct) * 100) / 100;
      totals[who].push(t);
      console.log(`${who.padEnd(6)} agent ${r.agentCpuPct} %  children ${r.childrenCpuPct} %  together ${t} %  (${r.liveChildren} live)  RSS ${r.agentRssMbMedian} MB  load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
    } finally {
      await L.cleanup();
    }
  }
}
console.log(`median together: this ${median(totals.this)} %, other ${median(totals.other)} %`);
