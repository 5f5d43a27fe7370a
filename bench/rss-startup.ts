// Diagnostic (not part of npm test or npm run bench): where the agent's start-up RSS peak with N
// tracked flows goes. One lab (2 uplinks), N flows loaded with conntrack -R, the real agent started
// with a preload (bench/lib/memlog-preload.mjs) that writes process.memoryUsage(), V8's space sizes
// and /proc/self/status' RssAnon/RssFile/RssShmem every 50 ms, while this process reads the agent's
// VmRSS every 20 ms from outside (the preload cannot sample while the main thread is busy, which is
// when the peak comes); prints the peak (both views), the series and the Connection table's rows.
// `sudo node --import tsx bench/rss-startup.ts [flows] [seconds]`
import fs from 'node:fs';
import path from 'node:path';
import { saveConfig, latestRevision } from '../lib/store/revisions';
import { markOf } from '../lib/compile/constants';
import { footprintConfig } from './footprint';
import { benchLab, startAgent, stopAgent, sleep, installSignalCleanup } from './env';
import { flowFile } from './conntrack';

const n = Number(process.argv[2] ?? 50000);
const seconds = Number(process.argv[3] ?? 25);
const preload = path.join(import.meta.dirname, 'lib', 'memlog-preload.mjs');
installSignalCleanup((s) => console.error(s));
const L = await benchLab('rs', 2);
try {
  const doc = footprintConfig(L.baseConfig, 0);
  const s = await saveConfig(doc, { author: 'bench', source: 'cli' });
  if (!s.ok) throw new Error(s.errors.join('; '));
  const ups = (await latestRevision())?.config.uplinks ?? [];
  const m1 = markOf(ups.find((u) => u.name === 'isp1')?.id ?? 1);
  const m2 = markOf(ups.find((u) => u.name === 'isp2')?.id ?? 2);
  const file = path.join(L.dir, 'flows.txt');
  fs.writeFileSync(file, flowFile(n, m1, m2));
  if (n > 0) await L.rtr.run(['conntrack', '-R', file], { timeoutMs: 300000 });
  const log = path.join(L.dir, 'mem.jsonl');
  const t0 = Date.now();
  const a = startAgent(L, [], ['--import', preload], undefined, { LW_MEMLOG: log });
  const rowsAt: Array<[number, number]> = [];
  const ext: Array<[number, number, number]> = [];
  const st = () => {
    try {
      const t = fs.readFileSync(`/proc/${a.pid}/status`, 'utf8');
      const g = (k: string) => Number((t.match(new RegExp(k + ':\\s+(\\d+)')) ?? [])[1] ?? 0);
      ext.push([Date.now() - t0, g('VmRSS'), g('RssAnon')]);
    } catch { /* gone */ }
  };
  const sampler = setInterval(st, 20);
  for (let i = 0; i < seconds * 4; i++) {
    await sleep(250);
    rowsAt.push([Date.now() - t0, L.db.prepare('SELECT COUNT(*) FROM Connection').pluck().get() as number]);
  }
  clearInterval(sampler);
  await stopAgent(L);
  const xp = ext.reduce((p, x) => (x[1] > p[1] ? x : p));
  console.log(`external (every 20 ms): peak VmRSS ${xp[1]} kB (anon ${xp[2]}) at ${xp[0]} ms; after 10 s max ${Math.max(...ext.filter((x) => x[0] > 10000).map((x) => x[1]))} kB`);
  for (const x of ext.filter((x) => x[0] < 4000 && x[0] % 100 < 20)) console.log(`ext ${x.join(' ')}`);
  const series = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const peak = series.reduce((p, x) => (x.rss > p.rss ? x : p));
  const last = series[series.length - 1];
  const seeded = rowsAt.find(([, c]) => c >= n)?.[0] ?? null;
  console.log(`flows ${n}: seeded (DB rows ≥ N) at ${seeded} ms after spawn`);
  console.log('peak', JSON.stringify(peak));
  console.log('last', JSON.stringify(last));
  for (const x of series.filter((x, i) => x.t < 3000 || i % 20 === 0)) console.log(`${String(x.t).padStart(6)} rss ${x.rss} anon ${x.anon} file ${x.file} shm ${x.shmem} heapT ${x.heapTotal} used ${x.heapUsed} ext ${x.ext} ab ${x.ab} new ${x.sp.new} old ${x.sp.old} code ${x.sp.code} lo ${x.sp.large_object}`);
  console.log('rows', JSON.stringify(rowsAt.filter((_, i) => i % 4 === 0)));
} finally {
  await L.cleanup();
}
