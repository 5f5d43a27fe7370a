// Where the idle agent's CPU goes: the footprint lab (4 uplinks, 1 000 rules, probes every 250 ms),
// the agent's steady state profiled (bench/lib/prof-preload.mjs: from 35 s after its start, for
// `seconds` − 30 s, so start-up, the first apply and the resync after the monitors settled are
// not in it), then the top self-time functions.
// `node --import tsx bench/profile-idle.ts [seconds] [dir]` (root; not part of npm test).
import fs from 'node:fs';
import path from 'node:path';
import { benchLab } from './env';
import { footprintBench } from './footprint';

const seconds = Number(process.argv[2] ?? 40);
const dir = path.resolve(process.argv[3] ?? '/tmp/lw-prof');
fs.mkdirSync(dir, { recursive: true });
const L = await benchLab('bq', 4);
try {
  const r = await footprintBench(L, { seconds, warmupS: 10, rules: 1000, log: (s) => process.stderr.write(`${s}\n`), nodeArgs: ['--import', path.resolve('bench/lib/prof-preload.mjs')],
    env: { LW_PROF_DELAY_MS: '35000', LW_PROF_MS: String((seconds - 30) * 1000), LW_PROF_OUT: path.join(dir, `steady-${Date.now()}.cpuprofile`) } });
  console.log(`agent ${r.agentCpuPct} % + children ${r.childrenCpuPct} % (with the profiler's own overhead)`);
} finally {
  await L.cleanup();
}
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] };
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
  const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const agg = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
    agg.set(k, (agg.get(k) ?? 0) + us);
  }
  const total = [...agg.values()].reduce((a, b) => a + b, 0);
  console.log(`${f}: ${(total / 1000).toFixed(0)} ms busy in ${((p.endTime - p.startTime) / 1e6).toFixed(0)} s`);
  for (const [k, us] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
}
