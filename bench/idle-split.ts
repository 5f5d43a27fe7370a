// Diagnostic: the idle agent's CPU with and without health probing, same lab set-up, one after the
// other (4 uplinks, 1 000 rules, probes every 250 ms). `node --import tsx bench/idle-split.ts [s]`.
import { benchLab } from './env';
import { footprintBench } from './footprint';

const seconds = Number(process.argv[2] ?? 40);
for (const [name, agentArgs] of [['with health probing', []], ['--no-health', ['--no-health']], ['with health probing (again)', []]] as const) {
  const L = await benchLab('bs', 4);
  try {
    const r = await footprintBench(L, { seconds, warmupS: 10, rules: 1000, log: () => undefined, agentArgs: [...agentArgs] });
    console.log(`${name.padEnd(28)} agent ${r.agentCpuPct} %  children ${r.childrenCpuPct} %  (${r.liveChildren} live children)  RSS ${r.agentRssMbMedian} MB`);
  } finally {
    await L.cleanup();
  }
}
