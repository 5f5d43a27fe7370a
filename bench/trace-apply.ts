// Diagnostic (not part of `npm run bench`): one in-process agent in a lab, every command it runs timed.
// Usage: node --import tsx bench/trace-apply.ts [rules] [blocklistSize]
import { benchLab, nsRunner, timedRunner } from './env';
import { Agent } from '../agent/agent';
import { saveConfig } from '../lib/store/revisions';
import { benchConfig, blocklistEntries } from './stats';

const rules = Number(process.argv[2] ?? 100);
const setSize = Number(process.argv[3] ?? 0);
const L = await benchLab('bt', 2);
try {
  const base = nsRunner(L.lab.namespaces.router);
  let trace: string[] = [];
  const runner = timedRunner(base, (_t, ms, text) => trace.push(`${ms.toFixed(1).padStart(7)} ms  ${text}`));
  const agent = new Agent({ db: L.db, runner, health: false, watchLinks: false, log: () => undefined });
  const list = setSize ? blocklistEntries(setSize) : undefined;
  for (let i = 0; i < 4; i++) {
    const entries = list ? [...list] : undefined;
    if (entries && i > 0) entries[0] = `10.255.0.${i}/32`;
    const doc = benchConfig(L.baseConfig, { rules, flip: setSize ? 0 : i, blocklist: entries });
    await saveConfig(doc, { author: 'bench', source: 'cli' });
    trace = [];
    const t = performance.now();
    const r = await agent.reconcile(`trace ${i}`);
    console.log(`--- reconcile ${i}: ${(performance.now() - t).toFixed(1)} ms ok=${r.ok} ${r.error ?? ''}`);
    if (i > 0) console.log(trace.join('\n'));
  }
  await agent.stop();
} finally {
  await L.cleanup();
}
