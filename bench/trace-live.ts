// Diagnostic: an in-process agent started like the real one (link and drift watchers, no health), one-rule
// changes committed one after another, every command it runs timed (relative to the commit).
// `node --import tsx bench/trace-live.ts [rules]` (env CHANGES=n; ALT=1: loads from 10 rules and back;
// PROBE_CMDS=1: time a few nft reads).
import { benchLab, nsRunner, sleep, timedRunner } from './env';
import { Agent } from '../agent/agent';
import { saveConfig } from '../lib/store/revisions';
import { benchConfig } from './stats';

const rules = Number(process.argv[2] ?? 100);
const L = await benchLab('bu', 2);
try {
  const base = nsRunner(L.lab.namespaces.router);
  let trace: string[] = [];
  let t0 = 0;
  const runner = timedRunner(base, (t, ms, text) => trace.push(`@${(t - t0).toFixed(1).padStart(6)} ${ms.toFixed(1).padStart(7)} ms  ${text}`));
  await saveConfig(benchConfig(L.baseConfig, { rules, flip: 0 }), { author: 'bench', source: 'cli' });
  const agent = new Agent({ db: L.db, runner, health: false, log: (m) => trace.push(`   log ${m}`) });
  await agent.start();
  await sleep(3000);
  for (let i = 1; i <= Number(process.env.CHANGES ?? 6); i++) {
    trace = [];
    t0 = performance.now();
    // ALT=1: loads of `rules` from 10 and back (odd changes load), instead of one-rule changes
    const s = await saveConfig(benchConfig(L.baseConfig, { rules: process.env.ALT && i % 2 === 0 ? 10 : rules, flip: i }), { author: 'bench', source: 'cli' });
    const tSaved = performance.now() - t0;
    const rev = s.ok ? s.revision : null;
    for (let k = 0; k < 2000 && (agent as unknown as { lastAppliedRevision: number | null }).lastAppliedRevision !== rev; k++) await sleep(2);
    console.log(`--- change ${i} (rev ${rev}): saved ${tSaved.toFixed(1)} ms, applied at ${(performance.now() - t0).toFixed(1)} ms`);
    await sleep(1500);
    console.log(trace.join('\n'));
  }
  await agent.stop();
  if (process.env.PROBE_CMDS) {
    for (const argv of [['nft', '-j', 'list', 'chain', 'inet', 'linkward', 'lw_meta'], ['nft', '-j', 'list', 'set', 'inet', 'linkward', 'lw_banned'], ['nft', '-j', 'list', 'counters', 'table', 'inet', 'linkward'], ['nft', '-j', 'list', 'sets', 'table', 'inet', 'linkward'], ['nft', '-j', 'list', 'tables']]) {
      const ts: number[] = [];
      for (let k = 0; k < 5; k++) { const t = performance.now(); const r = await base.run(argv); ts.push(performance.now() - t); if (k === 0) console.log(argv.join(' '), r.stdout.length, 'bytes'); }
      console.log(ts.map((x) => x.toFixed(1)).join(' '), 'ms');
    }
  }
} finally {
  await L.cleanup();
}
